// VideoWriter: frames generated deterministically in JS are encoded, then the
// output is checked with the independent references (the ffmpeg CLI's decode,
// ffprobe, hand-computed values): lossless round trips are byte-exact, lossy
// codecs stay above a measured PSNR floor, container fields / timestamps /
// audio are what ffprobe reports, and a failed, aborted or dropped write leaves
// no file (and no temp file) behind.
import { test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { VideoWriter, Frame, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, diffStats, mulberry32 as prng, psnr, assertExact, countFrames, framePtsTimes, span } from './helpers.mjs';

const T = 60_000;
const dir = tempDir('avcv-writer-');
const distUrl = new URL('../dist/index.mjs', import.meta.url).href;
let n = 0;
/** A fresh empty folder per case, so "nothing left behind" can be checked by listing it. */
const folder = () => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  return d;
};
const temps = (d) => readdirSync(d).filter((f) => f.endsWith('.avcv-tmp'));

// ---- media made with the CLI, and a tiny filesystem ----

const A = { w: 160, h: 120, rate: 25, frames: 50 };
let aacSrc;
let mp3Src;
let pcmSrc;
beforeAll(() => {
  const d = join(dir, 'audio-src');
  mkdirSync(d);
  const v = ['-f', 'lavfi', '-i', `testsrc2=size=${A.w}x${A.h}:rate=${A.rate}`];
  const a = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
  aacSrc = join(d, 'aac.mp4');
  ffmpeg([...v, ...a, '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', aacSrc]);
  mp3Src = join(d, 'audio.mp3');
  ffmpeg([...a, '-t', '2', '-c:a', 'libmp3lame', mp3Src]);
  pcmSrc = join(d, 'pcm.mkv');
  ffmpeg([...v, ...a, '-t', '2', '-c:v', 'ffv1', '-c:a', 'pcm_s16le', '-shortest', pcmSrc]);
});

// A folder where writing fails: as root, chmod does not stop writes, so a 64 KiB tmpfs
// (ENOSPC mid-write) is used when `mount` works; otherwise a read-only folder (non-root)
// or a path under a missing folder.
let tiny = null;
beforeAll(() => {
  const m = join(dir, 'tiny');
  mkdirSync(m);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', m]);
  if (r.status === 0) tiny = m;
});
afterAll(() => {
  if (tiny) spawnSync('umount', [tiny]);
});

// ---- deterministic frames ----


const CHANNELS = { bgr24: 3, rgb24: 3, gray: 1, bgra: 4, rgba: 4 };
const frameBytes = (fmt, w, h) => (fmt === 'yuv420p' || fmt === 'nv12' ? w * h * 1.5 : w * h * CHANNELS[fmt]);

/**
 * Gradient + noise: every byte is (a per-plane ramp + frame offset + PRNG noise) & 255,
 * so all 256 values occur, neighbours differ and no two frames are equal.
 * For hwc the row is w*c bytes, for chw / planar formats each plane is a ramp of its own.
 */
function makeFrame(fmt, w, h, i, rnd) {
  const buf = new Uint8Array(frameBytes(fmt, w, h));
  const rowLen = fmt === 'yuv420p' || fmt === 'nv12' || fmt === 'gray' ? w : w * (CHANNELS[fmt] ?? 1);
  for (let k = 0; k < buf.length; k++) {
    const x = k % rowLen;
    const y = Math.floor(k / rowLen);
    buf[k] = (x * 3 + y * 5 + i * 17 + Math.floor(rnd() * 64)) & 255;
  }
  return buf;
}

/** chw (one plane per channel, in the format's order) -> hwc. */
function chwToHwc(buf, c, w, h) {
  const out = new Uint8Array(buf.length);
  const area = w * h;
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < area; p++) out[p * c + ch] = buf[ch * area + p];
  return out;
}

/** A smooth, moving pattern (what lossy codecs are made for), bgr24. */
function smoothFrame(w, h, i) {
  const b = new Uint8Array(w * h * 3);
  const cx = w / 2 + (w / 8) * Math.cos(i / 5);
  const cy = h / 2 + (h / 8) * Math.sin(i / 5);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      b[o] = Math.round(127.5 + 127.5 * Math.sin(x / 17 + i / 7));
      b[o + 1] = Math.round((255 * y) / (h - 1));
      b[o + 2] = Math.round(127.5 + 127.5 * Math.cos(Math.hypot(x - cx, y - cy) / 9));
    }
  }
  return b;
}


const cat = (frames) => Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));

/** Writes frames (Uint8Arrays) and closes; returns the close() stats. */
async function writeAll(target, options, frames, writeOpts = () => ({})) {
  const w = await VideoWriter.open(target, options);
  for (let i = 0; i < frames.length; i++) await w.write(frames[i], writeOpts(i));
  const stats = await w.close();
  return { writer: w, stats };
}


// ---- ffprobe helpers ----

const videoStream = (file) => ffprobe(file).streams.find((s) => s.codec_type === 'video');
/**
 * Seconds of a stream: ffprobe's stream duration where the container has one (mp4: from
 * the sample table), else the packet span (mkv/webm).
 */
function dur(file, type) {
  const st = ffprobe(file).streams.find((x) => x.codec_type === type);
  assert.ok(st, `no ${type} stream in ${file}`);
  if (st.duration !== undefined && st.duration !== 'N/A') return Number(st.duration);
  return span(file, type === 'video' ? 'v:0' : 'a:0').duration;
}
/** The audio packets' payloads as the CLI copies them out (stream copy to the data muxer). */
const audioPayload = (file) => ffmpeg(['-i', file, '-map', '0:a:0', '-c', 'copy', '-f', 'data', '-']);
const audioSizes = (file) => ffprobe(file, ['-select_streams', 'a:0', '-show_entries', 'packet=size']).packets.map((p) => Number(p.size));

/** Top-level MP4 boxes, in file order. */
function topBoxes(file) {
  const buf = readFileSync(file);
  const boxes = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8));
    else if (size === 0) size = buf.length - off;
    boxes.push({ type, offset: off });
    if (size < 8) break;
    off += size;
  }
  return boxes;
}

/** Encoders this ffmpeg build lists (the CLI as the reference for what exists). */
let encoders;
function hasEncoder(name) {
  encoders ??= ffmpeg(['-encoders']).toString();
  return new RegExp(`^\\s*V\\S*\\s+${name.replace(/[-]/g, '\\-')}\\s`, 'm').test(encoders);
}

const named = (ctor, re) => (e) => {
  assert.ok(e instanceof ctor, `expected ${ctor.name}, got ${e?.constructor?.name}: ${e?.message}`);
  if (re) assert.match(e.message, re);
  return true;
};

// ---- round trips, lossless ----

// Which combinations are exact, and why:
//  * ffv1 is lossless. ffv1 in FFmpeg 5.1 stores packed RGB as bgr0 / bgra (not gbrp), gray
//    as gray and YUV as is; every conversion in between is a pure byte shuffle in swscale
//    (bgr24/rgb24 -> bgr0, rgba -> bgra, chw = gbrp/gbrap -> bgr0/bgra, nv12 -> yuv420p
//    deinterleave), and the CLI's conversion back to the input's format is the inverse shuffle.
//  * libx264 with qp 0 is lossless in the YUV domain: yuv420p in -> yuv420p coded is exact
//    (nv12 too: only a deinterleave). RGB into libx264 (yuv420p/yuv444p) is NOT exact: the
//    RGB -> YUV matrix rounds (measured max error 2 with yuv444p), so it is in the lossy tests.
//  * libx264rgb with qp 0 codes bgr24 itself (no colour conversion): exact.
const W = 64;
const H = 48;
const LOSSLESS = [
  { inputFormat: 'bgr24', codec: 'ffv1', pixelFormat: 'bgr0', ext: 'mkv' },
  { inputFormat: 'rgb24', codec: 'ffv1', pixelFormat: 'bgr0', ext: 'mkv' },
  { inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray', ext: 'mkv' },
  { inputFormat: 'bgra', codec: 'ffv1', pixelFormat: 'bgra', ext: 'mkv' },
  { inputFormat: 'rgba', codec: 'ffv1', pixelFormat: 'bgra', ext: 'mkv' },
  { inputFormat: 'yuv420p', codec: 'ffv1', pixelFormat: 'yuv420p', ext: 'mkv' },
  { inputFormat: 'nv12', codec: 'ffv1', pixelFormat: 'yuv420p', ext: 'mkv' },
  { inputFormat: 'bgr24', inputLayout: 'chw', codec: 'ffv1', pixelFormat: 'bgr0', ext: 'mkv' },
  { inputFormat: 'rgb24', inputLayout: 'chw', codec: 'ffv1', pixelFormat: 'bgr0', ext: 'mkv' },
  { inputFormat: 'rgba', inputLayout: 'chw', codec: 'ffv1', pixelFormat: 'bgra', ext: 'mkv' },
  // odd sizes go through the writer's padded tail-row copy
  { inputFormat: 'bgr24', codec: 'ffv1', pixelFormat: 'bgr0', ext: 'mkv', width: 65, height: 47 },
  { inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray', ext: 'mkv', width: 33, height: 17 },
  { inputFormat: 'yuv420p', codec: 'libx264', pixelFormat: 'yuv420p', ext: 'mkv', codecOptions: { qp: 0 } },
  { inputFormat: 'yuv420p', codec: 'libx264', pixelFormat: 'yuv420p', ext: 'mp4', codecOptions: { qp: 0 } },
  { inputFormat: 'nv12', codec: 'libx264', pixelFormat: 'yuv420p', ext: 'mp4', codecOptions: { qp: 0 } },
  // RGB H.264 decodes as planar gbrp (what ffprobe reports); the CLI converts it back exactly
  { inputFormat: 'bgr24', codec: 'libx264rgb', pixelFormat: 'bgr24', ext: 'mkv', codecOptions: { qp: 0 }, probed: 'gbrp' },
];

for (const c of LOSSLESS) {
  const w = c.width ?? W;
  const h = c.height ?? H;
  const layout = c.inputLayout ?? (c.inputFormat === 'yuv420p' || c.inputFormat === 'nv12' ? 'planar' : 'hwc');
  test(`lossless round trip: ${c.inputFormat}/${layout} ${w}x${h} -> ${c.codec} ${c.pixelFormat} .${c.ext} is byte-exact`, async () => {
    const d = folder();
    const out = join(d, `out.${c.ext}`);
    const rnd = prng(42);
    const N = 5;
    const frames = Array.from({ length: N }, (_, i) => makeFrame(c.inputFormat, w, h, i, rnd));
    const { writer, stats } = await writeAll(out, {
      width: w, height: h, fps: 25, codec: c.codec, pixelFormat: c.pixelFormat, inputFormat: c.inputFormat,
      ...(c.inputLayout ? { inputLayout: c.inputLayout } : {}), ...(c.codecOptions ? { codecOptions: c.codecOptions } : {}),
    }, frames);
    assert.equal(stats.frames, N);
    assert.equal(writer.info.encoder, c.codec);
    assert.equal(writer.info.frameBytes, frames[0].length);
    const vs = videoStream(out);
    assert.equal(vs.pix_fmt, c.probed ?? c.pixelFormat);
    assert.equal(vs.width, w);
    assert.equal(vs.height, h);
    // the CLI decodes to the input's own (hwc) format; chw sources are compared as hwc
    const expected = c.inputLayout === 'chw'
      ? cat(frames.map((f) => chwToHwc(f, CHANNELS[c.inputFormat], w, h)))
      : cat(frames);
    assertExact(cliFrames(out, c.inputFormat), expected, frames[0].length, `${c.inputFormat}/${layout} via ${c.codec}`);
  }, T);
}

test('Frame objects are written like their bytes (bgr24 hwc and rgb24 chw Frames, exact with ffv1)', async () => {
  const d = folder();
  const rnd = prng(7);
  const hwc = Array.from({ length: 3 }, (_, i) => makeFrame('bgr24', W, H, i, rnd));
  const out = join(d, 'frames.mkv');
  const { stats } = await writeAll(out, { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgr0' },
    hwc.map((b) => Frame.from(b, { width: W, height: H, format: 'bgr24' })));
  assert.equal(stats.frames, 3);
  assertExact(cliFrames(out, 'bgr24'), cat(hwc), W * H * 3, 'bgr24 Frame');
  // chw Frames (planes R, G, B) into a chw writer
  const chw = Array.from({ length: 3 }, (_, i) => makeFrame('rgb24', W, H, i + 3, rnd));
  const out2 = join(d, 'chw.mkv');
  await writeAll(out2, { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgr0', inputFormat: 'rgb24', inputLayout: 'chw' },
    chw.map((b) => Frame.from(b, { width: W, height: H, format: 'rgb24', layout: 'chw' })));
  assertExact(cliFrames(out2, 'rgb24'), cat(chw.map((b) => chwToHwc(b, 3, W, H))), W * H * 3, 'rgb24 chw Frame');
}, T);

// ---- lossy codecs: PSNR against the source, decoded by the CLI ----

// Floors: measured on a 160x120 smooth moving pattern, 10 frames (x264 crf 23: 34.8 dB,
// x265 crf 28: 33.9, vp9 crf 32: 35.6, mpeg4 default q: 36.1, mjpeg yuvj420p: 37.8,
// svt-av1 crf 35: 35.5), each floor set ~3 dB below. The 4:2:0 chroma subsampling of a
// bgr24 source is part of the loss.
const LW = 160;
const LH = 120;
const LN = 10;
const smooth = Array.from({ length: LN }, (_, i) => smoothFrame(LW, LH, i));
const smoothRef = cat(smooth);
const LOSSY = [
  { codec: 'libx264', ext: 'mp4', opts: { crf: 23 }, codecName: 'h264', pixFmt: 'yuv420p', floor: 31.5 },
  { codec: 'libx265', ext: 'mp4', opts: { crf: 28 }, codecName: 'hevc', pixFmt: 'yuv420p', floor: 31 },
  { codec: 'libvpx-vp9', ext: 'webm', opts: { crf: 32 }, codecName: 'vp9', pixFmt: 'yuv420p', floor: 32.5 },
  { codec: 'mpeg4', ext: 'avi', opts: {}, codecName: 'mpeg4', pixFmt: 'yuv420p', floor: 33 },
  { codec: 'libsvtav1', ext: 'mkv', opts: { crf: 35 }, codecName: 'av1', pixFmt: 'yuv420p', floor: 32.5 },
  // mjpeg with an explicit full-range format
  { codec: 'mjpeg', ext: 'avi', opts: { pixelFormat: 'yuvj420p' }, codecName: 'mjpeg', pixFmt: 'yuvj420p', floor: 34 },
  // mjpeg with the default pixelFormat: the writer documents that MJPEG gets the full-range
  // ("j") format for 'yuv420p' (the CLI picks yuvj420p for -c:v mjpeg too)
  { codec: 'mjpeg', ext: 'avi', opts: {}, codecName: 'mjpeg', pixFmt: 'yuvj420p', floor: 34 },
  { codec: 'mjpeg', ext: 'mkv', opts: {}, codecName: 'mjpeg', pixFmt: 'yuvj420p', floor: 34 },
];

for (const c of LOSSY) {
  test(`lossy: ${c.codec} ${JSON.stringify(c.opts)} .${c.ext}: PSNR >= ${c.floor} dB, ffprobe agrees`, async () => {
    const d = folder();
    const out = join(d, `out.${c.ext}`);
    const { writer, stats } = await writeAll(out, { width: LW, height: LH, fps: 25, codec: c.codec, ...c.opts }, smooth);
    assert.equal(writer.info.encoder, c.codec);
    assert.equal(stats.encoder, c.codec);
    const vs = videoStream(out);
    assert.equal(vs.codec_name, c.codecName);
    assert.equal(vs.pix_fmt, c.pixFmt);
    assert.equal(countFrames(out), LN);
    const p = psnr(cliFrames(out, 'bgr24'), smoothRef);
    assert.ok(p >= c.floor, `${c.codec}: PSNR ${p.toFixed(2)} dB < floor ${c.floor}`);
    assert.ok(p < 60, `${c.codec}: PSNR ${p.toFixed(2)} dB: a lossy codec that is not lossy?`);
  }, T);
}

test('rgb -> yuv444p through libx264 qp 0 is near-exact (only the colour matrix rounds)', async () => {
  const d = folder();
  const out = join(d, 'x444.mkv');
  await writeAll(out, { width: LW, height: LH, fps: 25, codec: 'libx264', pixelFormat: 'yuv444p', codecOptions: { qp: 0 } }, smooth);
  assert.equal(videoStream(out).pix_fmt, 'yuv444p');
  const s = diffStats(cliFrames(out, 'bgr24'), smoothRef);
  assert.ok(s.max <= 3, `max abs diff ${s.max}`);
}, T);

// ---- container fields, as ffprobe reports them ----

for (const [label, fps, ext] of [['29.97', 29.97, 'mp4'], ['{num:30000,den:1001}', { num: 30000, den: 1001 }, 'mp4'], ['29.97', 29.97, 'mkv']]) {
  test(`fps ${label} (.${ext}): info.fps and avg_frame_rate are 30000/1001, every frame counted, duration = frames/fps`, async () => {
    const d = folder();
    const N = 12;
    const rnd = prng(3);
    const frames = Array.from({ length: N }, (_, i) => makeFrame('bgr24', W, H, i, rnd));
    const out = join(d, `fps.${ext}`);
    const { writer } = await writeAll(out, { width: W, height: H, fps }, frames);
    const vs = videoStream(out);
    assert.equal(vs.codec_name, 'h264');
    assert.equal(vs.width, W);
    assert.equal(vs.height, H);
    assert.equal(vs.pix_fmt, 'yuv420p');
    assert.equal(countFrames(out), N);
    // the documented mapping: "a number (29.97 becomes 30000/1001)"
    assert.deepEqual(writer.info.fps, { num: 30000, den: 1001 });
    assert.equal(vs.avg_frame_rate, '30000/1001');
    const dur = Number(ffprobe(out).format.duration);
    assert.ok(Math.abs(dur - (N * 1001) / 30000) < 0.002, `duration ${dur}, expected ${(N * 1001) / 30000}`);
  }, T);
}

test('fps 23.976 and 59.94 map to the NTSC rationals; 12.5 to 25/2', async () => {
  const d = folder();
  for (const [fps, num, den] of [[23.976, 24000, 1001], [59.94, 60000, 1001], [12.5, 25, 2]]) {
    const w = await VideoWriter.open(join(d, 'r.mkv'), { width: W, height: H, fps });
    // hand-computed: the intended rational is the one whose value rounds to the given number
    assert.ok(Math.abs(w.info.fps.num / w.info.fps.den - fps) < 0.001);
    assert.equal(w.info.fps.num / w.info.fps.den, num / den, `fps ${fps} -> ${w.info.fps.num}/${w.info.fps.den}, expected ${num}/${den}`);
    await w.abort();
  }
  assert.deepEqual(readdirSync(d), []);
}, T);

test('integer fps: avg_frame_rate 25/1 (mp4, mkv, webm, avi, mov)', async () => {
  const d = folder();
  const N = 6;
  const rnd = prng(4);
  const frames = Array.from({ length: N }, (_, i) => makeFrame('bgr24', W, H, i, rnd));
  for (const [ext, codecName] of [['mp4', 'h264'], ['mov', 'h264'], ['mkv', 'h264'], ['webm', 'vp9'], ['avi', 'mpeg4']]) {
    const out = join(d, `f.${ext}`);
    await writeAll(out, { width: W, height: H, fps: 25 }, frames);
    const vs = videoStream(out);
    assert.equal(vs.codec_name, codecName, `default codec for .${ext}`);
    assert.equal(vs.avg_frame_rate, '25/1', ext);
    assert.equal(countFrames(out), N, ext);
    const dur = Number(ffprobe(out).format.duration);
    assert.ok(Math.abs(dur - N / 25) < 0.002, `.${ext}: duration ${dur}, expected ${N / 25}`);
  }
}, T);

test('faststart puts moov before mdat; without it moov follows mdat', async () => {
  const d = folder();
  const rnd = prng(5);
  const frames = Array.from({ length: 5 }, (_, i) => makeFrame('bgr24', W, H, i, rnd));
  const fast = join(d, 'fast.mp4');
  const slow = join(d, 'slow.mp4');
  await writeAll(fast, { width: W, height: H, fps: 25, faststart: true }, frames);
  await writeAll(slow, { width: W, height: H, fps: 25 }, frames);
  const pos = (file, type) => topBoxes(file).find((b) => b.type === type)?.offset ?? -1;
  assert.ok(pos(fast, 'moov') >= 0 && pos(fast, 'mdat') >= 0);
  assert.ok(pos(fast, 'moov') < pos(fast, 'mdat'), `faststart: moov at ${pos(fast, 'moov')}, mdat at ${pos(fast, 'mdat')}`);
  assert.ok(pos(slow, 'moov') > pos(slow, 'mdat'), `default: moov at ${pos(slow, 'moov')}, mdat at ${pos(slow, 'mdat')}`);
  assert.equal(countFrames(fast), 5);
  assert.equal(temps(d).length, 0, 'faststart rewrite left a temp file');
}, T);

test('metadata appears in ffprobe format tags (mp4 and mkv)', async () => {
  const d = folder();
  const frames = [makeFrame('bgr24', W, H, 0, prng(1)), makeFrame('bgr24', W, H, 1, prng(2))];
  for (const ext of ['mp4', 'mkv']) {
    const out = join(d, `m.${ext}`);
    await writeAll(out, { width: W, height: H, fps: 25, metadata: { title: 'avcv title ü', comment: 'a comment' } }, frames);
    const tags = ffprobe(out).format.tags ?? {};
    const lower = Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(lower.title, 'avcv title ü', `.${ext} tags ${JSON.stringify(tags)}`);
    assert.equal(lower.comment, 'a comment', `.${ext} tags ${JSON.stringify(tags)}`);
  }
}, T);

// short names and OpenCV fourccs: the best available CPU encoder for that codec
const AV1_ENCODERS = ['libsvtav1', 'libaom-av1', 'librav1e'];
const NAMES = [
  { codec: 'h264', ext: 'mp4', codecName: 'h264', encoder: () => 'libx264' },
  { codec: 'hevc', ext: 'mp4', codecName: 'hevc', encoder: () => 'libx265' },
  { codec: 'vp9', ext: 'webm', codecName: 'vp9', encoder: () => 'libvpx-vp9' },
  { codec: 'av1', ext: 'mkv', codecName: 'av1', encoder: () => AV1_ENCODERS.find(hasEncoder) },
  { codec: 'avc1', ext: 'mp4', codecName: 'h264', encoder: () => 'libx264' },
  { codec: 'mp4v', ext: 'mp4', codecName: 'mpeg4', encoder: () => 'mpeg4' },
  { codec: 'XVID', ext: 'avi', codecName: 'mpeg4', encoder: () => 'mpeg4' },
  { codec: 'VP90', ext: 'webm', codecName: 'vp9', encoder: () => 'libvpx-vp9' },
  { codec: 'MJPG', ext: 'avi', codecName: 'mjpeg', encoder: () => 'mjpeg' },
];
for (const c of NAMES) {
  test(`codec '${c.codec}' -> ${c.codecName} in .${c.ext}; info.encoder names the encoder`, async () => {
    const d = folder();
    const out = join(d, `n.${c.ext}`);
    const frames = Array.from({ length: 3 }, (_, i) => smoothFrame(LW, LH, i));
    const expected = c.encoder();
    assert.ok(expected && hasEncoder(expected), `the CLI lists no encoder for ${c.codec}`);
    const { writer, stats } = await writeAll(out, { width: LW, height: LH, fps: 25, codec: c.codec }, frames);
    assert.equal(writer.info.encoder, expected);
    assert.equal(stats.encoder, expected);
    assert.equal(videoStream(out).codec_name, c.codecName);
    assert.equal(countFrames(out), 3);
  }, T);
}

// ---- timestamps ----

test('explicit pts (VFR, timeBase 1/1000) are kept: ffprobe pts_time', async () => {
  const d = folder();
  const out = join(d, 'vfr.mkv');
  const pts = [0, 40, 120, 130, 200, 333, 334, 500];
  const rnd = prng(9);
  const frames = pts.map((_, i) => makeFrame('bgr24', W, H, i, rnd));
  const { writer } = await writeAll(out, { width: W, height: H, fps: 25, timeBase: { num: 1, den: 1000 }, codec: 'ffv1', pixelFormat: 'bgr0' },
    frames, (i) => ({ pts: pts[i] }));
  assert.deepEqual(writer.info.timeBase, { num: 1, den: 1000 });
  assert.deepEqual(framePtsTimes(out), pts.map((p) => p / 1000));
  // and the frames are the ones written at those times
  assertExact(cliFrames(out, 'bgr24'), cat(frames), W * H * 3, 'vfr frames');
}, T);

test('explicit pts through libx264 (B-frames) in mp4 keep their times', async () => {
  const d = folder();
  const out = join(d, 'vfr.mp4');
  const pts = [0, 40, 120, 130, 200, 240, 280, 400, 410, 500];
  const frames = pts.map((_, i) => smoothFrame(LW, LH, i));
  await writeAll(out, { width: LW, height: LH, fps: 25, timeBase: { num: 1, den: 1000 } }, frames, (i) => ({ pts: pts[i] }));
  const got = framePtsTimes(out);
  assert.equal(got.length, pts.length);
  got.forEach((t, i) => assert.ok(Math.abs(t - pts[i] / 1000) < 0.0005, `frame ${i}: pts_time ${t}, wrote ${pts[i] / 1000}`));
}, T);

test('time in seconds is converted with the time base', async () => {
  const d = folder();
  const out = join(d, 'time.mkv');
  const times = [0, 0.05, 0.1, 0.25, 0.3];
  const rnd = prng(10);
  const frames = times.map((_, i) => makeFrame('gray', W, H, i, rnd));
  await writeAll(out, { width: W, height: H, fps: 20, timeBase: { num: 1, den: 1000 }, inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray' },
    frames, (i) => ({ time: times[i] }));
  assert.deepEqual(framePtsTimes(out), times);
  // default time base (1/fps): time 0.1 s at 20 fps is pts 2
  const out2 = join(d, 'time2.mkv');
  await writeAll(out2, { width: W, height: H, fps: 20, inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray' },
    frames, (i) => ({ time: times[i] }));
  assert.deepEqual(framePtsTimes(out2), times);
}, T);

test('without pts, frames are spaced at the nominal fps', async () => {
  const d = folder();
  const out = join(d, 'cfr.mkv');
  const rnd = prng(11);
  const frames = Array.from({ length: 6 }, (_, i) => makeFrame('gray', W, H, i, rnd));
  await writeAll(out, { width: W, height: H, fps: 10, inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray' }, frames);
  assert.deepEqual(framePtsTimes(out), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
}, T);

test('non-increasing pts is a RangeError; the writer stays usable', async () => {
  const d = folder();
  const out = join(d, 'pts.mkv');
  const rnd = prng(12);
  const f = () => makeFrame('gray', W, H, 0, rnd);
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, timeBase: { num: 1, den: 1000 }, inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray' });
  await w.write(f(), { pts: 0 });
  await w.write(f(), { pts: 40 });
  await assert.rejects(w.write(f(), { pts: 40 }), named(RangeError, /pts/));
  await assert.rejects(w.write(f(), { pts: 10 }), named(RangeError, /pts/));
  await assert.rejects(w.write(f(), { time: 0.02 }), named(RangeError, /pts/));
  await w.write(f(), { pts: 80 });
  const s = await w.close();
  assert.equal(s.frames, 3);
  assert.deepEqual(framePtsTimes(out), [0, 0.04, 0.08]);
}, T);

// ---- audio from another file ----

const videoFrames = () => Array.from({ length: A.frames }, (_, i) => smoothFrame(A.w, A.h, i));

test("audio auto into mp4 copies the source's AAC: identical packets, durations within one frame", async () => {
  const d = folder();
  const out = join(d, 'copy.mp4');
  const { stats } = await writeAll(out, { width: A.w, height: A.h, fps: A.rate, audio: { from: aacSrc } }, videoFrames());
  assert.equal(stats.audioMode, 'copy');
  assert.equal(stats.audioCodec, 'aac');
  const streams = ffprobe(out).streams;
  const as = streams.filter((s) => s.codec_type === 'audio');
  assert.equal(as.length, 1);
  assert.equal(as[0].codec_name, 'aac');
  assert.equal(as[0].sample_rate, '48000');
  assert.equal(countFrames(out), A.frames);
  const v = dur(out, 'video');
  const a = dur(out, 'audio');
  assert.ok(Math.abs(a - v) <= 1 / A.rate, `audio ${a}s vs video ${v}s`);
  // the packets are the source's, byte for byte (as `ffmpeg -i src -c copy` keeps them)
  assert.deepEqual(audioSizes(out), audioSizes(aacSrc), 'audio packet sizes differ from the source');
  assert.ok(audioPayload(out).equals(audioPayload(aacSrc)), 'audio packet bytes differ from the source');
}, T);

test('audio auto into webm is encoded to Opus; durations within one frame', async () => {
  const d = folder();
  const out = join(d, 'enc.webm');
  const { stats } = await writeAll(out, { width: A.w, height: A.h, fps: A.rate, audio: { from: aacSrc } }, videoFrames());
  assert.equal(stats.audioMode, 'encode');
  assert.equal(stats.audioCodec, 'libopus');
  const as = ffprobe(out).streams.filter((s) => s.codec_type === 'audio');
  assert.equal(as.length, 1);
  assert.equal(as[0].codec_name, 'opus');
  const v = dur(out, 'video');
  const a = dur(out, 'audio');
  assert.ok(Math.abs(a - v) <= 1 / A.rate, `audio ${a}s vs video ${v}s`);
  // the audio decodes (the CLI reads all of it without error) and is a tone, not silence
  const pcm = ffmpeg(['-i', out, '-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', '48000', '-']);
  let peak = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
  assert.ok(peak > 3000, `decoded audio peak ${peak}`);
  assert.ok(Math.abs(pcm.length / 2 / 48000 - 2) < 0.05, `decoded ${pcm.length / 2 / 48000}s of audio`);
}, T);

test("audio mode 'copy' into webm (AAC) fails before anything is written", async () => {
  const d = folder();
  const out = join(d, 'copy.webm');
  await assert.rejects(VideoWriter.open(out, { width: A.w, height: A.h, fps: A.rate, audio: { from: aacSrc, mode: 'copy' } }),
    (e) => {
      assert.ok(e instanceof RangeError || e instanceof AvcvError, `${e?.constructor?.name}: ${e?.message}`);
      assert.match(e.message, /aac/i);
      return true;
    });
  assert.deepEqual(readdirSync(d), []);
}, T);

test('mp3 source: auto into mkv copies mp3; PCM source: auto into mp4 encodes AAC', async () => {
  const d = folder();
  const out1 = join(d, 'mp3.mkv');
  const r1 = await writeAll(out1, { width: A.w, height: A.h, fps: A.rate, audio: { from: mp3Src } }, videoFrames());
  assert.equal(r1.stats.audioMode, 'copy');
  assert.equal(ffprobe(out1).streams.find((s) => s.codec_type === 'audio')?.codec_name, 'mp3');
  const a1 = dur(out1, 'audio');
  const v1 = dur(out1, 'video');
  assert.ok(Math.abs(a1 - v1) <= 1 / A.rate, `mp3: audio ${a1}s vs video ${v1}s`);

  const out2 = join(d, 'pcm.mp4');
  const r2 = await writeAll(out2, { width: A.w, height: A.h, fps: A.rate, audio: { from: pcmSrc } }, videoFrames());
  assert.equal(r2.stats.audioMode, 'encode');
  assert.equal(r2.stats.audioCodec, 'aac');
  const as = ffprobe(out2).streams.find((s) => s.codec_type === 'audio');
  assert.equal(as?.codec_name, 'aac');
  const a2 = dur(out2, 'audio');
  const v2 = dur(out2, 'video');
  assert.ok(Math.abs(a2 - v2) <= 1 / A.rate, `pcm->aac: audio ${a2}s vs video ${v2}s`);
}, T);

test("audio mode 'none' writes no audio stream; 'encode' re-encodes AAC to AAC", async () => {
  const d = folder();
  const none = join(d, 'none.mp4');
  const r = await writeAll(none, { width: A.w, height: A.h, fps: A.rate, audio: { from: aacSrc, mode: 'none' } }, videoFrames().slice(0, 5));
  assert.equal(r.stats.audioMode, 'none');
  assert.equal(ffprobe(none).streams.filter((s) => s.codec_type === 'audio').length, 0);
  const enc = join(d, 'enc.mp4');
  const r2 = await writeAll(enc, { width: A.w, height: A.h, fps: A.rate, audio: { from: aacSrc, mode: 'encode' } }, videoFrames());
  assert.equal(r2.stats.audioMode, 'encode');
  assert.equal(ffprobe(enc).streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
  const a = dur(enc, 'audio');
  const v = dur(enc, 'video');
  assert.ok(Math.abs(a - v) <= 1 / A.rate, `audio ${a}s vs video ${v}s`);
}, T);

// ---- atomicity ----

test('abort via AbortSignal mid-write: write/close reject, no file, no temp', async () => {
  // 640x480 veryslow with frames in flight: the native side needs a moment to stop, which is
  // exactly when a caller looks at the folder after close() rejected. Five rounds.
  const [w0, h0] = [640, 480];
  const frames = Array.from({ length: 8 }, (_, i) => smoothFrame(w0, h0, i));
  const left = [];
  for (let round = 0; round < 5; round++) {
    const d = folder();
    const ac = new AbortController();
    const w = await VideoWriter.open(join(d, 'aborted.mp4'), { width: w0, height: h0, fps: 25, preset: 'veryslow', signal: ac.signal });
    for (let i = 0; i < 3; i++) await w.write(frames[i]);
    assert.equal(temps(d).length, 1, 'frames go to one temp file beside the target');
    const inflight = frames.slice(3, 7).map((f) => w.write(f));
    ac.abort();
    const late = w.write(frames[7]);
    const closing = w.close();
    await assert.rejects(late, (e) => e instanceof AvcvError && e.code === 'ABORTED');
    await assert.rejects(closing, (e) => e instanceof AvcvError && e.code === 'ABORTED');
    // once close() has rejected, the abort is complete: nothing is left
    const afterClose = readdirSync(d);
    await w.abort(); // idempotent; once it resolves the cleanup must be done
    const afterAbort = readdirSync(d);
    if (afterClose.length || afterAbort.length) left.push({ round, afterClose, afterAbort });
    for (const s of await Promise.allSettled(inflight)) {
      if (s.status === 'rejected') assert.ok(s.reason instanceof AvcvError && s.reason.code === 'ABORTED', String(s.reason));
    }
  }
  assert.deepEqual(left, [], 'temp file still there after close() rejected ABORTED / after abort() resolved');
}, T);

test('abort via AbortSignal: the temp file is gone soon after (eventually consistent)', async () => {
  const d = folder();
  const ac = new AbortController();
  const w = await VideoWriter.open(join(d, 'a.mp4'), { width: LW, height: LH, fps: 25, signal: ac.signal });
  await w.write(smoothFrame(LW, LH, 0));
  ac.abort();
  await assert.rejects(w.close(), (e) => e.code === 'ABORTED');
  for (let i = 0; i < 100 && readdirSync(d).length; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(readdirSync(d), []);
}, T);

test('abort() while writes are in flight: they settle, nothing left', async () => {
  const d = folder();
  const out = join(d, 'aborted.mkv');
  const w = await VideoWriter.open(out, { width: LW, height: LH, fps: 25, codec: 'libx264', preset: 'veryslow' });
  const pending = [];
  for (let i = 0; i < 8; i++) pending.push(w.write(smoothFrame(LW, LH, i)));
  await w.abort();
  const settled = await Promise.allSettled(pending);
  for (const s of settled) if (s.status === 'rejected') assert.ok(s.reason instanceof AvcvError, String(s.reason));
  await assert.rejects(w.close(), (e) => e.code === 'ABORTED');
  assert.deepEqual(readdirSync(d), []);
}, T);

test('a pre-existing target keeps its exact bytes after an aborted or failed write', async () => {
  const d = folder();
  const out = join(d, 'keep.mp4');
  const original = Buffer.from('not a video, but precious bytes\n'.repeat(100));
  writeFileSync(out, original);
  // aborted
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25 });
  await w.write(makeFrame('bgr24', W, H, 0, prng(1)));
  await w.abort();
  assert.ok(readFileSync(out).equals(original));
  // failed open (bad option found natively)
  await assert.rejects(VideoWriter.open(out, { width: W, height: H, fps: 25, codecOptions: { nosuchoption: 1 } }), RangeError);
  assert.ok(readFileSync(out).equals(original));
  // disposed without close
  const w2 = await VideoWriter.open(out, { width: W, height: H, fps: 25 });
  await w2.write(makeFrame('bgr24', W, H, 0, prng(1)));
  await w2[Symbol.asyncDispose]();
  assert.ok(readFileSync(out).equals(original));
  assert.deepEqual(readdirSync(d), ['keep.mp4']);
  // and a successful close replaces it
  const w3 = await VideoWriter.open(out, { width: W, height: H, fps: 25 });
  await w3.write(makeFrame('bgr24', W, H, 0, prng(1)));
  await w3.close();
  assert.equal(countFrames(out), 1);
  assert.deepEqual(readdirSync(d), ['keep.mp4']);
}, T);

test('a wrongly sized Uint8Array is a RangeError; the writer stays usable', async () => {
  const d = folder();
  const out = join(d, 'size.mkv');
  const rnd = prng(14);
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgr0' });
  const good = [makeFrame('bgr24', W, H, 0, rnd), makeFrame('bgr24', W, H, 1, rnd)];
  await w.write(good[0]);
  await assert.rejects(w.write(new Uint8Array(W * H * 3 - 1)), named(RangeError, new RegExp(`${W * H * 3 - 1}.*${W * H * 3}`)));
  await assert.rejects(w.write(new Uint8Array(W * H * 4)), RangeError);
  await assert.rejects(w.write(new Uint16Array(W * H * 3 / 2)), TypeError);
  await assert.rejects(w.write('frame'), TypeError);
  await w.write(good[1]);
  const s = await w.close();
  assert.equal(s.frames, 2);
  assertExact(cliFrames(out, 'bgr24'), cat(good), W * H * 3, 'after bad writes');
}, T);

test('a Frame of the wrong format or size: TypeError naming both formats / RangeError naming both sizes', async () => {
  const d = folder();
  const out = join(d, 'fmt.mkv');
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgr0' });
  const rgb = Frame.from(new Uint8Array(W * H * 3), { width: W, height: H, format: 'rgb24' });
  await assert.rejects(w.write(rgb), (e) => {
    assert.ok(e instanceof TypeError, String(e));
    assert.match(e.message, /rgb24/);
    assert.match(e.message, /bgr24/);
    return true;
  });
  const chw = Frame.from(new Uint8Array(W * H * 3), { width: W, height: H, format: 'bgr24', layout: 'chw' });
  await assert.rejects(w.write(chw), named(TypeError, /chw/));
  const small = Frame.from(new Uint8Array(32 * 24 * 3), { width: 32, height: 24, format: 'bgr24' });
  await assert.rejects(w.write(small), named(RangeError, new RegExp(`32x24.*${W}x${H}`)));
  await w.write(Frame.from(new Uint8Array(W * H * 3).fill(9), { width: W, height: H, format: 'bgr24' }));
  assert.equal((await w.close()).frames, 1);
  assert.deepEqual(readdirSync(d), ['fmt.mkv']);
}, T);

/** Writes incompressible frames until the writer fails (or 40 frames are done and closed); returns the error. */
async function fillUp(w, rnd) {
  try {
    for (let i = 0; i < 40; i++) {
      const f = new Uint8Array(W * H * 4);
      for (let k = 0; k < f.length; k++) f[k] = Math.floor(rnd() * 256);
      await w.write(f);
    }
    await w.close();
  } catch (e) {
    return e;
  }
  return null;
}
const tinyOpts = { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgra', inputFormat: 'bgra' };

test('a full disk mid-write (ENOSPC) or an unwritable folder: clear AvcvError; close() cleans up', async () => {
  if (tiny) {
    // noise through a lossless codec does not compress: ~12 KiB a frame, far over 64 KiB
    const w = await VideoWriter.open(join(tiny, 'full.mkv'), tinyOpts);
    const err = await fillUp(w, prng(15));
    assert.ok(err, 'writing 480 KiB into a 64 KiB tmpfs did not fail');
    assert.ok(err instanceof AvcvError, `${err?.constructor?.name}: ${err?.message}`);
    assert.match(err.message, /No space left/i);
    assert.equal(err.code, 'WRITE');
    // the writer is failed: close() rejects with the same failure and removes the temp
    await assert.rejects(w.close(), (e) => e instanceof AvcvError && /No space left/.test(e.message));
    assert.deepEqual(readdirSync(tiny), []);
    await w.abort();
    assert.deepEqual(readdirSync(tiny), []);
  } else {
    // no mount: a read-only folder where chmod binds (non-root), else a path under a missing folder
    const d = folder();
    const root = process.getuid?.() === 0;
    const target = root ? join(d, 'missing-dir') : d;
    if (!root) chmodSync(d, 0o555);
    try {
      await assert.rejects(VideoWriter.open(join(target, 'x.mp4'), { width: W, height: H, fps: 25 }), (e) => {
        assert.ok(e instanceof AvcvError, `${e?.constructor?.name}: ${e?.message}`);
        assert.match(e.code, /IO|ENOENT|EACCES|EPERM/);
        return true;
      });
    } finally {
      chmodSync(d, 0o755);
    }
    assert.deepEqual(readdirSync(d), []);
  }
}, T);

test('a full disk mid-write: the failed write alone leaves no temp file (no close() needed)', async () => {
  if (tiny) {
    const w = await VideoWriter.open(join(tiny, 'full2.mkv'), tinyOpts);
    const err = await fillUp(w, prng(16));
    assert.ok(err instanceof AvcvError, String(err));
    // the write failed for good (the writer cannot recover): the documented guarantee is that
    // an error leaves no file behind, so the temp file should already be gone
    const left = readdirSync(tiny);
    await w.abort(); // clean up for the next test either way
    assert.deepEqual(left, [], 'temp file left on the full disk after a fatal write error');
  } else {
    const d = folder();
    await assert.rejects(VideoWriter.open(join(d, 'no', 'x.mkv'), tinyOpts), AvcvError);
    assert.deepEqual(readdirSync(d), []);
  }
}, T);

test('a path under a missing folder: AvcvError at open, nothing created', async () => {
  const d = folder();
  const out = join(d, 'missing-dir', 'x.mp4');
  await assert.rejects(VideoWriter.open(out, { width: W, height: H, fps: 25 }), (e) => {
    assert.ok(e instanceof AvcvError, `${e?.constructor?.name}: ${e?.message}`);
    assert.match(e.code, /IO|ENOENT/);
    return true;
  });
  assert.deepEqual(readdirSync(d), []);
}, T);

test('asyncDispose without close() leaves no file; `await using` style', async () => {
  const d = folder();
  const out = join(d, 'disposed.mp4');
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25 });
  await w.write(makeFrame('bgr24', W, H, 0, prng(1)));
  await w[Symbol.asyncDispose]();
  assert.deepEqual(readdirSync(d), []);
  await assert.rejects(w.write(makeFrame('bgr24', W, H, 1, prng(1))), (e) => e.code === 'ABORTED');
  // dispose after close keeps the file
  const out2 = join(d, 'kept.mp4');
  const w2 = await VideoWriter.open(out2, { width: W, height: H, fps: 25 });
  await w2.write(makeFrame('bgr24', W, H, 0, prng(1)));
  await w2.close();
  await w2[Symbol.asyncDispose]();
  assert.deepEqual(readdirSync(d), ['kept.mp4']);
  assert.equal(countFrames(out2), 1);
}, T);

function runChild(d, source, args = []) {
  const file = join(d, 'child.mjs');
  writeFileSync(file, source);
  const r = spawnSync(process.execPath, [...args, file], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  rmSync(file);
  return r;
}

test('a writer dropped without close, then gc(): no file and no temp after exit', async () => {
  const d = folder();
  const out = join(d, 'dropped.mp4');
  const r = runChild(d, `
    import { VideoWriter } from ${JSON.stringify(distUrl)};
    import { readdirSync } from 'node:fs';
    let w = await VideoWriter.open(${JSON.stringify(out)}, { width: 64, height: 48, fps: 25 });
    for (let i = 0; i < 5; i++) await w.write(new Uint8Array(64 * 48 * 3).fill(i * 40));
    const during = readdirSync(${JSON.stringify(d)}).filter((f) => f.endsWith('.avcv-tmp')).length;
    w = null;
    for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
    console.log(JSON.stringify({ during, after: readdirSync(${JSON.stringify(d)}) }));
  `, ['--expose-gc']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(res.during, 1, 'the child wrote to a temp file');
  assert.deepEqual(readdirSync(d), []);
}, T);

test('a process exiting with a writer still open leaves no file and no temp', async () => {
  const d = folder();
  const out = join(d, 'exit.mp4');
  const r = runChild(d, `
    import { VideoWriter } from ${JSON.stringify(distUrl)};
    const w = await VideoWriter.open(${JSON.stringify(out)}, { width: 64, height: 48, fps: 25 });
    for (let i = 0; i < 5; i++) await w.write(new Uint8Array(64 * 48 * 3).fill(i * 40));
    globalThis.keep = w;
    process.exitCode = 0;
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(d), []);
}, T);

// ---- bad options: refused before anything is written ----

const BAD = [
  ['unknown codec', { codec: 'nope' }, (e) => e instanceof AvcvError && e.code === 'UNSUPPORTED_CODEC' && /nope/.test(e.message)],
  ['odd width with yuv420p', { width: 321, height: 240 }, named(RangeError, /321x240/)],
  ['odd height with yuv420p', { width: 320, height: 241 }, named(RangeError, /320x241/)],
  ['odd size with yuv420p input', { width: 321, height: 240, inputFormat: 'yuv420p' }, named(RangeError, /321x240/)],
  ['fps 0', { fps: 0 }, named(RangeError, /fps/)],
  ['fps -25', { fps: -25 }, named(RangeError, /fps/)],
  ['fps NaN', { fps: NaN }, named(RangeError, /fps/)],
  ['fps {num:0}', { fps: { num: 0, den: 1 } }, named(RangeError, /fps/)],
  ['crf -1', { crf: -1 }, named(RangeError, /crf/)],
  ['crf 64', { crf: 64 }, named(RangeError, /crf/)],
  ['width 0', { width: 0 }, named(RangeError, /width/)],
  ['unknown option key', { widht: 320 }, named(TypeError, /widht/)],
  ['unknown inputFormat', { inputFormat: 'yuv444p' }, named(TypeError, /inputFormat/)],
  ['unknown encoder option', { codecOptions: { notanoption: '1' } }, named(RangeError, /notanoption/)],
  ['unknown pixelFormat', { pixelFormat: 'notapixfmt' }, named(RangeError, /notapixfmt/)],
  ['pixel format the encoder does not take', { codec: 'libx264', pixelFormat: 'bgra' }, named(RangeError, /bgra/)],
  ['codec the container cannot hold', { codec: 'ffv1' }, named(RangeError, /mp4|ffv1/), 'mp4'],
  ['timeBase {num:1,den:0}', { timeBase: { num: 1, den: 0 } }, named(RangeError, /timeBase/)],
  ['audio.from missing', { audio: { from: '/nonexistent/a.mp4' } }, (e) => e instanceof AvcvError && e.code === 'ENOENT'],
  ['unknown audio key', { audio: { from: 'x.mp4', mdoe: 'copy' } }, named(TypeError, /mdoe/)],
];
for (const [what, opts, check, ext = 'mp4'] of BAD) {
  test(`bad option (${what}) is refused before anything is written`, async () => {
    const d = folder();
    await assert.rejects(VideoWriter.open(join(d, `x.${ext}`), { width: 320, height: 240, fps: 25, ...opts }), check);
    assert.deepEqual(readdirSync(d), []);
  }, T);
}

test('an unknown container extension is a TypeError; the container option overrides it', async () => {
  const d = folder();
  await assert.rejects(VideoWriter.open(join(d, 'x.xyz'), { width: W, height: H, fps: 25 }), named(TypeError, /xyz/));
  await assert.rejects(VideoWriter.open(join(d, 'x'), { width: W, height: H, fps: 25 }), TypeError);
  await assert.rejects(VideoWriter.open(join(d, 'x.mkv'), { width: W, height: H, fps: 25, container: 'mpg' }), named(TypeError, /container/));
  assert.deepEqual(readdirSync(d), []);
  const out = join(d, 'x.xyz');
  await writeAll(out, { width: W, height: H, fps: 25, container: 'mkv' }, [makeFrame('bgr24', W, H, 0, prng(1))]);
  assert.equal(ffprobe(out).format.format_name, 'matroska,webm');
}, T);

test('an already aborted signal refuses to open; nothing is written', async () => {
  const d = folder();
  await assert.rejects(VideoWriter.open(join(d, 'x.mp4'), { width: W, height: H, fps: 25, signal: AbortSignal.abort() }),
    (e) => e instanceof AvcvError && e.code === 'ABORTED');
  assert.deepEqual(readdirSync(d), []);
}, T);

test('write after close rejects CLOSED; close twice returns the same promise', async () => {
  const d = folder();
  const w = await VideoWriter.open(join(d, 'c.mkv'), { width: W, height: H, fps: 25 });
  await w.write(makeFrame('bgr24', W, H, 0, prng(1)));
  const p1 = w.close();
  const p2 = w.close();
  assert.equal(p1, p2);
  const s = await p1;
  assert.equal(s.frames, 1);
  assert.ok(s.bytes > 0);
  await assert.rejects(w.write(makeFrame('bgr24', W, H, 1, prng(1))), (e) => e instanceof AvcvError && e.code === 'CLOSED');
  // bytes agrees with the file
  assert.equal(s.bytes, statSync(join(d, 'c.mkv')).size);
}, T);

test('closing a writer with no frames: an error or a valid empty file, never a temp left', async () => {
  const d = folder();
  const w = await VideoWriter.open(join(d, 'empty.mkv'), { width: W, height: H, fps: 25 });
  try {
    await w.close();
  } catch (e) {
    assert.ok(e instanceof AvcvError, String(e));
  }
  assert.equal(temps(d).length, 0);
}, T);

// ---- backpressure: write() resolves once the buffer may be reused ----

test('one reused buffer, overwritten right after each write() resolves: every frame is what it held then', async () => {
  const d = folder();
  const out = join(d, 'reuse.mkv');
  const rnd = prng(16);
  const N = 12;
  const buf = new Uint8Array(W * H * 3);
  const expected = [];
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, codec: 'ffv1', pixelFormat: 'bgr0' });
  for (let i = 0; i < N; i++) {
    buf.set(makeFrame('bgr24', W, H, i, rnd));
    expected.push(Buffer.from(buf));
    await w.write(buf);
    buf.fill(0xaa); // scribble at once: the writer must have taken its copy
  }
  assert.equal((await w.close()).frames, N);
  assertExact(cliFrames(out, 'bgr24'), Buffer.concat(expected), W * H * 3, 'reused buffer');
}, T);

test('many writes queued without awaiting each: order and content kept', async () => {
  const d = folder();
  const out = join(d, 'queued.mkv');
  const rnd = prng(17);
  const frames = Array.from({ length: 10 }, (_, i) => makeFrame('gray', W, H, i, rnd));
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, inputFormat: 'gray', codec: 'ffv1', pixelFormat: 'gray' });
  await Promise.all(frames.map((f) => w.write(f)));
  assert.equal((await w.close()).frames, 10);
  assertExact(cliFrames(out, 'gray'), cat(frames), W * H, 'queued writes');
}, T);

// ---- rate control ----

/** The rate-control fields of the settings string x264 writes into its stream (an SEI). */
function x264Rc(file) {
  const m = /x264 - core [^\0]*/.exec(readFileSync(file).toString('latin1'));
  assert.ok(m, `${file}: no x264 settings string`);
  const fields = Object.fromEntries(m[0].split(' ').filter((kv) => kv.includes('=')).map((kv) => kv.split('=')));
  return Object.fromEntries(['rc', 'crf', 'bitrate', 'ratetol', 'vbv_maxrate', 'vbv_bufsize'].filter((k) => k in fields).map((k) => [k, fields[k]]));
}

test('rateControl cq/vbr/cbr reach libx264 as the CLI\'s flags do (x264\'s own settings string), and cbr holds its rate', async () => {
  const n = 75;
  const frames = Array.from({ length: n }, (_, i) => smoothFrame(160, 120, i));
  const src = join(dir, 'rc-src.mkv');
  await writeAll(src, { width: 160, height: 120, fps: 25, codec: 'ffv1', container: 'mkv' }, frames);
  const cases = [
    ['cq', { crf: 28 }, ['-crf', '28']],
    ['vbr', { bitrate: 300_000 }, ['-b:v', '300k']],
    ['cbr', { bitrate: 300_000 }, ['-b:v', '300k', '-minrate', '300k', '-maxrate', '300k', '-bufsize', '300k']],
  ];
  for (const [rc, opts, cli] of cases) {
    const ours = join(dir, `rc-${rc}.mp4`);
    await writeAll(ours, { width: 160, height: 120, fps: 25, codec: 'libx264', rateControl: rc, ...opts }, frames);
    const ref = join(dir, `rc-${rc}-cli.mp4`);
    ffmpeg(['-i', src, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...cli, ref]);
    const got = x264Rc(ours);
    assert.deepEqual(got, x264Rc(ref), `${rc}: x264 settings`);
    assert.equal(got.rc, { cq: 'crf', vbr: 'abr', cbr: 'cbr' }[rc], rc);
    if (rc === 'cbr') {
      const kbps = (Number(ffprobe(ours).format.size) * 8) / (n / 25) / 1000;
      assert.ok(kbps > 300 * 0.6 && kbps < 300 * 1.15, `cbr at 300 kb/s made ${kbps.toFixed(0)} kb/s`);
    }
  }
}, T);

test('rateControl: wrong combinations are RangeErrors, unknown modes TypeErrors, before any file exists', async () => {
  const target = join(dir, 'rc-bad.mp4');
  const base = { width: 64, height: 48, fps: 25 };
  await assert.rejects(VideoWriter.open(target, { ...base, rateControl: 'cq' }), named(RangeError, /'cq' takes crf/));
  await assert.rejects(VideoWriter.open(target, { ...base, rateControl: 'cq', crf: 20, bitrate: 1e6 }), named(RangeError, /no bitrate/));
  await assert.rejects(VideoWriter.open(target, { ...base, rateControl: 'cbr' }), named(RangeError, /'cbr' takes bitrate/));
  await assert.rejects(VideoWriter.open(target, { ...base, rateControl: 'vbr', bitrate: 1e6, crf: 20 }), named(RangeError, /no crf/));
  await assert.rejects(VideoWriter.open(target, { ...base, rateControl: 'abr', bitrate: 1e6 }), named(TypeError, /rateControl must be one of/));
  // an encoder without a quality mode says so instead of ignoring it
  await assert.rejects(VideoWriter.open(target, { ...base, codec: 'mpeg4', rateControl: 'cq', crf: 5 }), (e) => /crf/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('rc-bad')), []);
}, T);
