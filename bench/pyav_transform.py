#!/usr/bin/python3
"""PyAV's decode -> to_ndarray('bgr24') -> from_ndarray -> encode loop, the
peer bench/encode.mjs runs beside transform(): the input's first video stream
re-encoded with libx264 -preset veryfast (yuv420p), its first audio stream's
packets copied. Usage: pyav_transform.py IN OUT. Needs Debian's python3-av."""
import sys

import av


def main(src, dst):
    inp = av.open(src)
    out = av.open(dst, 'w')
    vin = inp.streams.video[0]
    vin.thread_type = 'AUTO'  # frame + slice threads, as the CLI decodes
    ain = inp.streams.audio[0] if inp.streams.audio else None
    vout = out.add_stream('libx264', rate=vin.average_rate)
    vout.width = vin.codec_context.width
    vout.height = vin.codec_context.height
    vout.pix_fmt = 'yuv420p'
    # the CLI's libx264 settings: PyAV's stream defaults (a 1 Mb/s bit rate,
    # slice threads) would make x264 do other work than the CLI and avcv
    vout.bit_rate = 0
    vout.thread_type = 'FRAME'
    vout.thread_count = 0
    vout.options = {'preset': 'veryfast'}
    aout = out.add_stream(template=ain) if ain else None
    streams = [vin] + ([ain] if ain else [])
    for packet in inp.demux(*streams):
        if packet.stream.type == 'audio':
            if packet.dts is None:  # the demuxer's end-of-stream packet
                continue
            packet.stream = aout
            out.mux(packet)
            continue
        for frame in packet.decode():
            image = frame.to_ndarray(format='bgr24')  # the edit would go here
            edited = av.VideoFrame.from_ndarray(image, format='bgr24')
            edited.pts = frame.pts
            edited.time_base = frame.time_base
            out.mux(vout.encode(edited))
    out.mux(vout.encode(None))
    out.close()
    inp.close()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
