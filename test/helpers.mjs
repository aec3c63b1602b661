// Shared test helpers: media made at test time with the ffmpeg CLI (the
// independent reference), ffprobe JSON, raw CLI frames.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temp folder removed when the test file is done: under jest by
 * test/jest/runner.cjs once the file's tests have run (a jest process runs
 * many files, and may be ended without its exit handlers), else (node --test)
 * at process exit.
 */
export function tempDir(prefix = 'avcv-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const fileCleanup = globalThis[Symbol.for('avcv.test.fileCleanup')];
  if (Array.isArray(fileCleanup)) fileCleanup.push(remove);
  else process.on('exit', remove);
  return dir;
}

/** Runs the ffmpeg CLI; throws with its stderr on failure. */
export function ffmpeg(args, opts = {}) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], {
    maxBuffer: 1 << 30, ...opts,
  });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** ffprobe -of json with the given show flags. */
export function ffprobe(file, args = ['-show_format', '-show_streams']) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-of', 'json', ...args, file], { maxBuffer: 1 << 30 });
  return JSON.parse(out.toString());
}

/**
 * The CLI's decoded frames as raw bytes: `ffmpeg -i F [-vf ...] -f rawvideo -pix_fmt P -`.
 * fps_mode passthrough keeps every decoded frame (rawvideo would otherwise force CFR).
 */
export function cliFrames(file, pixFmt, { vf, sws, extra = [], inputArgs = [] } = {}) {
  const args = [...inputArgs, '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough'];
  if (sws) args.push('-sws_flags', sws);
  if (vf) args.push('-vf', vf);
  args.push(...extra, '-f', 'rawvideo', '-pix_fmt', pixFmt, '-');
  return ffmpeg(args);
}

/**
 * The CLI's decoded frames in several pixel formats from one ffmpeg process:
 * { [pixFmt]: Buffer }. `threads` sets the decoder's -threads (damaged input
 * decodes the same way every run only with 1).
 */
export function cliFramesMany(file, pixFmts, { threads, inputArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'avcv-cli-'));
  try {
    // -filter_threads 1: the CLI's scale filter slices frames across its
    // threads, and swscale's RGB->YUV 4:2:0 path converts the last rows of a
    // slice in C (the rest in SIMD), so its output depends on the machine's
    // core count; one slice is what avcv (and the CLI on one core) gives
    const args = ['-filter_threads', '1', ...(threads !== undefined ? ['-threads', String(threads)] : []), '-noautorotate', ...inputArgs, '-i', file];
    pixFmts.forEach((p) => args.push('-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', p, join(dir, `${p}.raw`)));
    ffmpeg(args);
    return Object.fromEntries(pixFmts.map((p) => [p, readFileSync(join(dir, `${p}.raw`))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Makes a clip with testsrc2: makeClip(path, { size, rate, frames, codec, pixFmt, extra }). */
export function makeClip(path, { size = '320x240', rate = 25, frames = 30, codec = 'libx264', pixFmt = 'yuv420p', extra = [], src = 'testsrc2' } = {}) {
  ffmpeg(['-f', 'lavfi', '-i', `${src}=size=${size}:rate=${rate}`, '-frames:v', String(frames), '-c:v', codec,
    ...(pixFmt ? ['-pix_fmt', pixFmt] : []), ...extra, path]);
  return path;
}

/** Collects every frame of a reader (copies nothing: frames own their buffers). */
export async function readAll(reader) {
  const frames = [];
  for await (const f of reader) frames.push(f);
  return frames;
}

/** Concatenates frames' bytes. */
export function concatFrames(frames) {
  return Buffer.concat(frames.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
}

/** Largest absolute byte difference between two equal-length buffers, and the count of differing bytes. */
export function diffStats(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) {
      count++;
      if (d > max) max = d;
    }
  }
  return { max, count };
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PSNR in dB between two equal-length 8-bit buffers (Infinity when equal). */
export function psnr(a, b) {
  assert.equal(a.length, b.length, `decoded ${a.length} bytes, expected ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s === 0 ? Infinity : 10 * Math.log10((255 * 255) / (s / a.length));
}

/** Byte-exact, with the first differing frame of frameLen bytes in the message. */
export function assertExact(actual, expected, frameLen, label) {
  if (actual.equals(expected)) return;
  let msg = `${label}: got ${actual.length} bytes, expected ${expected.length}`;
  for (let off = 0; off < Math.min(actual.length, expected.length); off += frameLen) {
    const a = actual.subarray(off, off + frameLen);
    const b = expected.subarray(off, off + frameLen);
    if (!a.equals(b)) {
      const d = diffStats(a, b);
      msg += `; frame ${off / frameLen} differs: max ${d.max}, ${d.count} bytes`;
      break;
    }
  }
  assert.fail(msg);
}

/** Decoded frame count of the first video stream (ffprobe -count_frames). */
export const countFrames = (file) => Number(ffprobe(file, ['-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames']).streams[0].nb_read_frames);

/** pts_time of every frame of the first video stream (ffprobe -show_frames). */
export const framePtsTimes = (file) => ffprobe(file, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));

/** [first packet pts, last packet pts + duration] of a stream, in seconds, from ffprobe's packets. */
export function span(file, sel) {
  const pk = ffprobe(file, ['-select_streams', sel, '-show_entries', 'packet=pts_time,duration_time']).packets;
  let start = Infinity;
  let end = -Infinity;
  for (const p of pk) {
    const t = Number(p.pts_time);
    start = Math.min(start, t);
    end = Math.max(end, t + Number(p.duration_time ?? 0));
  }
  return { start, end, duration: end - start, packets: pk.length };
}

/**
 * Every avcv output format and layout with the CLI pixel format that is its
 * reference: the same format, and for chw the CLI's hwc frames transposed (a
 * layout never changes values). `even`: 4:2:0, refused at odd sizes.
 */
export const OUTPUT_FORMATS = [
  { format: 'bgr24', cli: 'bgr24' },
  { format: 'rgb24', cli: 'rgb24' },
  { format: 'bgra', cli: 'bgra' },
  { format: 'rgba', cli: 'rgba' },
  { format: 'gray', cli: 'gray' },
  { format: 'rgb24', layout: 'chw', cli: 'rgb24', channels: 3 },
  { format: 'bgr24', layout: 'chw', cli: 'bgr24', channels: 3 },
  { format: 'rgba', layout: 'chw', cli: 'rgba', channels: 4 },
  { format: 'yuv420p', cli: 'yuv420p', even: true },
  { format: 'nv12', cli: 'nv12', even: true },
];

/** The reference bytes of OUTPUT_FORMATS entry `f` from cliFramesMany's output, for frames of `area` pixels. */
export function referenceFor(refs, f, area) {
  const hwc = refs[f.cli];
  if (f.layout !== 'chw') return hwc;
  const c = f.channels;
  const out = Buffer.alloc(hwc.length);
  for (let o = 0; o < hwc.length; o += c * area) {
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) out[o + k * area + p] = hwc[o + p * c + k];
  }
  return out;
}

/**
 * The CLI's decode of `file` as w x h gray frames, none duplicated or dropped
 * (-fps_mode passthrough); only those shown before `t` seconds when given.
 */
export function grayFrames(file, w, h, t) {
  const raw = ffmpeg(['-i', file, ...(t ? ['-t', String(t)] : []), '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  return Array.from({ length: raw.length / (w * h) }, (_, i) => raw.subarray(i * w * h, (i + 1) * w * h));
}

/**
 * Asserts that `frames` are frames of `reference` (a file's own frames),
 * each the one after the previous (modulo a loop of the file), from wherever
 * they start; returns their indices in `reference`.
 */
export function assertConsecutive(frames, reference, label) {
  const idx = frames.map((f) => reference.findIndex((g) => g.equals(Buffer.from(f))));
  assert.ok(idx.every((i) => i >= 0), `${label}: every frame is one of the file's (${idx.filter((i) => i < 0).length} are not)`);
  const n = reference.length;
  for (let k = 1; k < idx.length; k++) assert.equal(idx[k], (idx[k - 1] + 1) % n, `${label}: frame ${k} follows frame ${k - 1}`);
  return idx;
}

/** Each decoded frame's framemd5 line (pts and picture hash) of the first video stream, by the CLI. */
export const videoMd5 = (file) => ffmpeg(['-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-']).toString().split('\n').filter((l) => l && !l.startsWith('#'));
/** The first audio stream's packets as stored: framemd5 of a stream copy, by the CLI. */
export const audioMd5 = (file) => ffmpeg(['-i', file, '-map', '0:a:0', '-c', 'copy', '-f', 'framemd5', '-']).toString().split('\n').filter((l) => l && !l.startsWith('#'));

/** The avcv bin (dist/cli.js), without blocking this process: { code, signal, stdout, stderr } once it exits; `onStart(child)` may signal it. */
export function runCli(args, onStart) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}
