# A real RTSP server (GStreamer's gst-rtsp-server) serving an MP4 file's
# H.264 as-is at rtsp://127.0.0.1:PORT/stream, on loopback. Started by the
# tests; prints "ready" once it listens. With "udp:N" instead of a file it
# serves, live and shared by every client, the H.264 of an MPEG-TS stream
# sent to 127.0.0.1:N (bench/live.mjs pushes one there).
import sys
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer, GLib

Gst.init(None)
port, path = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
if path.startswith('udp:'):
    factory.set_launch(f'( udpsrc address=127.0.0.1 port={path[4:]} caps=video/mpegts ! tsdemux latency=0 ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )')
    factory.set_shared(True)  # one live source for every client
else:
    factory.set_launch(f'( filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )')
    factory.set_shared(False)  # every client gets the file from its start
server.get_mount_points().add_factory('/stream', factory)
if server.attach(None) == 0:
    sys.exit('cannot listen on ' + port)
print('ready', flush=True)
GLib.MainLoop().run()
