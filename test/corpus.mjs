// A corpus of real-world shapes made at test time: odd widths, AVI with
// B-frames and no pts (the CLI and python3-opencv's VideoWriter), raw
// elementary streams, SWF, rawvideo, files cut short or mid-GOP, a stream
// that changes size, a Matroska file with broken lacing, an H.264 stream with
// injected errors, an AVI whose header promises more frames than it holds.
// Every file is made by the ffmpeg CLI, python3-opencv or plain byte edits of
// their output; nothing is committed.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpeg } from './helpers.mjs';

const lavfi = (size, frames, rate = 25, src = 'testsrc2') => ['-f', 'lavfi', '-i', `${src}=size=${size}:rate=${rate}`, '-frames:v', String(frames)];

/** python3-opencv's VideoWriter (the AVIs OpenCV users write): frames are testsrc2 from the CLI. */
function cv2Avi(path, fourcc, { w = 96, h = 64, frames = 30 } = {}) {
  const raw = ffmpeg([...lavfi(`${w}x${h}`, frames), '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
  const py = `
import sys, numpy as np, cv2
w, h, n = ${w}, ${h}, ${frames}
raw = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(n, h, w, 3)
vw = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'${fourcc}'), 25, (w, h))
if not vw.isOpened(): sys.exit('VideoWriter did not open')
for f in raw: vw.write(f)
vw.release()
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, path], { input: raw, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`cv2 VideoWriter ${fourcc} failed: ${r.stderr}`);
}

/** Index of the n-th occurrence of a byte pattern. */
function findAll(buf, pat) {
  const out = [];
  for (let i = buf.indexOf(pat); i >= 0; i = buf.indexOf(pat, i + 1)) out.push(i);
  return out;
}

/**
 * The corpus: [{ name, file, damaged? }]. `damaged` files may be refused or
 * flagged, but whatever frames they give must still equal the CLI's.
 */
export function makeCorpus(dir) {
  const files = [];
  const add = (name, file, make, extra = {}) => {
    const p = join(dir, file);
    make(p);
    files.push({ name, file: p, ...extra });
  };
  // -- widths not divisible by 8 (H.264, as users get them) --
  add('h264 854x480 (16:9 480p)', 'w854.mp4', (p) => ffmpeg([...lavfi('854x480', 12), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '6', p]));
  add('h264 1282x720', 'w1282.mp4', (p) => ffmpeg([...lavfi('1282x720', 6), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p]));
  add('h264 426x240', 'w426.mkv', (p) => ffmpeg([...lavfi('426x240', 12), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p]));
  add('h264 50x38', 'w50.mp4', (p) => ffmpeg([...lavfi('50x38', 12), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p]));
  add('hevc 3026x128 (10-bit)', 'w3026.mkv', (p) => ffmpeg([...lavfi('3026x128', 4), '-c:v', 'libx265', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error', p]));
  add('ffv1 yuv422p 37x21 (odd sizes)', 'w37.mkv', (p) => ffmpeg([...lavfi('37x21', 6), '-c:v', 'ffv1', '-pix_fmt', 'yuv422p', p]));
  add('vp9 yuv444p 102x58', 'w102.webm', (p) => ffmpeg([...lavfi('102x58', 10), '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv444p', '-deadline', 'realtime', '-cpu-used', '8', p]));

  // -- AVI with B-frames: packets carry no pts --
  add('mpeg4 -bf 2 (avi)', 'mpeg4-bf.avi', (p) => ffmpeg([...lavfi('96x64', 60), '-c:v', 'mpeg4', '-bf', '2', '-g', '12', p]));
  add('h264 -bf 2 (avi)', 'h264-bf.avi', (p) => ffmpeg([...lavfi('96x64', 60), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '2', '-g', '12', p]));
  add('h264 B-pyramid (avi)', 'h264-pyr.avi', (p) => ffmpeg([...lavfi('96x64', 50), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '3', '-x264-params', 'b-pyramid=normal:keyint=15:min-keyint=15:scenecut=0', p]));
  add('cv2 VideoWriter XVID (avi)', 'cv2-xvid.avi', (p) => cv2Avi(p, 'XVID'));
  add('cv2 VideoWriter MJPG (avi)', 'cv2-mjpg.avi', (p) => cv2Avi(p, 'MJPG'));
  add('cv2 VideoWriter mp4v (mp4)', 'cv2-mp4v.mp4', (p) => cv2Avi(p, 'mp4v'));

  // -- raw elementary streams, SWF, rawvideo --
  add('raw mpeg4 part 2 (.m4v)', 'raw.m4v', (p) => ffmpeg([...lavfi('96x64', 200), '-c:v', 'mpeg4', '-bf', '2', '-g', '30', '-f', 'm4v', p]));
  add('raw h264 (.h264)', 'raw.h264', (p) => ffmpeg([...lavfi('96x64', 60), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '2', '-g', '12', '-f', 'h264', p]));
  add('raw hevc (.hevc)', 'raw.hevc', (p) => ffmpeg([...lavfi('96x64', 40), '-c:v', 'libx265', '-x265-params', 'keyint=10:bframes=2:log-level=error', '-f', 'hevc', p]));
  add('mpeg2 program stream (.mpg)', 'ps.mpg', (p) => ffmpeg([...lavfi('96x64', 50), '-c:v', 'mpeg2video', '-bf', '2', '-g', '12', '-f', 'vob', p]));
  add('swf (flv1)', 'clip.swf', (p) => ffmpeg([...lavfi('96x64', 30), '-c:v', 'flv1', p]));
  add('flv (h264 B-frames)', 'clip.flv', (p) => ffmpeg([...lavfi('96x64', 40), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '2', '-g', '12', p]));
  add('rawvideo (avi)', 'rawvideo.avi', (p) => ffmpeg([...lavfi('96x64', 20), '-c:v', 'rawvideo', '-pix_fmt', 'bgr24', p]));
  add('rawvideo yuv420p (nut)', 'rawvideo.nut', (p) => ffmpeg([...lavfi('96x64', 20), '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', p]));
  add('ivf vp8', 'vp8.ivf', (p) => ffmpeg([...lavfi('96x64', 30), '-c:v', 'libvpx', '-g', '10', '-auto-alt-ref', '1', '-lag-in-frames', '8', '-deadline', 'good', p]));
  add('mpeg-ts h264', 'clip.ts', (p) => ffmpeg([...lavfi('96x64', 60), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '3', '-g', '12', p]));

  // -- damaged and cut files --
  add('mp4 whose last sample is cut', 'lastcut.mp4', (p) => {
    ffmpeg([...lavfi('96x64', 50), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '10', '-movflags', '+faststart', p]);
    truncateSync(p, statSync(p).size - 40);
  }, { damaged: true });
  add('mp4 cut to its first 100 kB', 'head100k.mp4', (p) => {
    const full = join(dir, 'head-src.mp4');
    ffmpeg([...lavfi('320x240', 150), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25', '-bf', '2', '-movflags', '+faststart', full]);
    writeFileSync(p, readFileSync(full).subarray(0, 100_000));
  }, { damaged: true });
  // cut to 40% of their length: the containers say how long they should be
  const cutTo40 = (name, ext, codecArgs) => add(`${name} cut to 40%`, `cut40.${ext}`, (p) => {
    const full = join(dir, `cut40-src.${ext}`);
    ffmpeg([...lavfi('96x64', 100), ...codecArgs, full]);
    const b = readFileSync(full);
    writeFileSync(p, b.subarray(0, Math.floor(b.length * 0.4)));
  }, { damaged: true, truncated: true });
  cutTo40('mkv', 'mkv', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25']);
  cutTo40('webm', 'webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '25']);
  cutTo40('mpeg-ts', 'ts', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25']);
  add('mpeg-ts cut mid-GOP', 'midgop.ts', (p) => {
    const full = join(dir, 'midgop-src.ts');
    ffmpeg([...lavfi('96x64', 90), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '75', '-keyint_min', '75', '-sc_threshold', '0', '-bf', '2', full]);
    const b = readFileSync(full);
    const skip = Math.floor(b.length * 0.15 / 188) * 188;
    writeFileSync(p, b.subarray(skip));
  }, { damaged: true });
  add('raw h264 that changes size (848x464 -> 424x232)', 'sizechange.h264', (p) => {
    const a = join(dir, 'sc-a.h264');
    const b = join(dir, 'sc-b.h264');
    ffmpeg([...lavfi('848x464', 10), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'h264', a]);
    ffmpeg([...lavfi('424x232', 10, 25, 'mandelbrot'), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'h264', b]);
    writeFileSync(p, Buffer.concat([readFileSync(a), readFileSync(b)]));
  }, { damaged: true });
  // with its duration (written to a file) and without one (piped): either way an error, not an empty video
  const badLacing = (p, piped) => {
    if (piped) writeFileSync(p, ffmpeg([...lavfi('96x64', 20), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'matroska', '-']));
    else ffmpeg([...lavfi('96x64', 20), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', p]);
    const b = readFileSync(p);
    // every SimpleBlock (0xA3, size, track 0x81, timecode, flags): claim Xiph lacing with absurd sizes
    let hit = 0;
    const cluster = b.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    for (const i of findAll(b, Buffer.from([0xa3])).filter((x) => x > cluster)) {
      const sizeByte = b[i + 1];
      if (!(sizeByte & 0x80) && !(sizeByte & 0x40) && !(sizeByte & 0x20) && !(sizeByte & 0x10)) continue;
      const len = sizeByte & 0x80 ? 1 : sizeByte & 0x40 ? 2 : sizeByte & 0x20 ? 3 : 4;
      const t = i + 1 + len;
      if (b[t] !== 0x81) continue;
      b[t + 3] |= 0x02;          // Xiph lacing
      b[t + 4] = 0x05;           // 6 frames in the lace
      b.fill(0xff, t + 5, t + 12); // sizes that overrun the block
      hit++;
    }
    if (hit < 10) throw new Error(`badlace: patched only ${hit} blocks`);
    writeFileSync(p, b);
  };
  add('mkv with broken lacing', 'badlace.mkv', (p) => badLacing(p, false), { damaged: true, noFrames: true });
  add('piped mkv (no duration) with broken lacing', 'badlace-piped.mkv', (p) => badLacing(p, true), { damaged: true, noFrames: true });
  add('h264 with injected errors', 'errors.h264', (p) => {
    ffmpeg([...lavfi('160x120', 30), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0', '-x264-params', 'slices=1', '-f', 'h264', p]);
    const b = readFileSync(p);
    // flip bytes inside the slice data of the 3rd and 4th access units (NAL start codes 00 00 01)
    const starts = findAll(b, Buffer.from([0, 0, 1])).filter((i) => (b[i + 3] & 0x1f) === 1);
    for (const s of [starts[1], starts[2]]) {
      const end = b.indexOf(Buffer.from([0, 0, 1]), s + 4);
      for (let k = s + 12; k < end - 4; k += 23) b[k] ^= 0x5a;
    }
    writeFileSync(p, b);
  }, { damaged: true });
  add('avi whose header promises twice its frames', 'doublecount.avi', (p) => {
    ffmpeg([...lavfi('96x64', 40), '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', p]);
    const b = readFileSync(p);
    // avih dwTotalFrames (offset 16 in the avih payload) and strh dwLength (offset 32)
    const avih = b.indexOf('avih');
    b.writeUInt32LE(b.readUInt32LE(avih + 8 + 16) * 2, avih + 8 + 16);
    const strh = b.indexOf('strh');
    b.writeUInt32LE(b.readUInt32LE(strh + 8 + 32) * 2, strh + 8 + 32);
    writeFileSync(p, b);
  });
  return files;
}

/** ffprobe -count_frames for the first video stream (NaN when ffprobe finds none); `threads` for its decoder. */
export function countFramesOf(file, threads) {
  try {
    const out = execFileSync('ffprobe', ['-v', 'quiet', ...(threads ? ['-threads', String(threads)] : []), '-of', 'json', '-count_frames', '-select_streams', 'v:0',
      '-show_entries', 'stream=nb_read_frames', file]);
    const s = JSON.parse(out.toString()).streams[0];
    return s ? Number(s.nb_read_frames) : NaN;
  } catch {
    return NaN;
  }
}
