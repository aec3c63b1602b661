// transform() with workers: the source split at keyframes, chunks processed
// on worker threads, the pieces stitched with the audio. Checked against the
// same transform without workers (the contract: the same frames,
// timestamps and audio), with ffprobe and the ffmpeg CLI's decode as the
// readers of both outputs: B-frames, an open GOP, variable frame rate, an mp4
// edit list and MPEG-TS; ffv1 byte for byte, x264 by PSNR and size; the
// errors a bad module or a throwing function give, and nothing left behind.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { transform, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, framePtsTimes, psnr, cliFrames, videoMd5, audioMd5 } from './helpers.mjs';

const T = 120_000;
const dir = tempDir('avcv-chunked-');
const W = 320;
const H = 240;
const src = {};
let invertCorner; // fn module: a 32x32 corner inverted (close to the source, for PSNR)
let slow; // fn module that waits 20 ms a frame
let throwing; // fn module that throws on frame 170
let noDefault;

beforeAll(() => {
  const lavfi = (d) => ['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(d)];
  // B-frames (3, pyramid), a keyframe every second, AAC
  src.bframes = join(dir, 'bframes.mp4');
  ffmpeg([...lavfi(8), '-c:v', 'libx264', '-bf', '3', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src.bframes]);
  // open GOPs: leading B-frames after each I-frame reference the GOP before
  src.openGop = join(dir, 'open-gop.mkv');
  ffmpeg([...lavfi(6), '-c:v', 'libx264', '-bf', '2', '-x264-params', 'open-gop=1:keyint=20:min-keyint=20:scenecut=0', '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-shortest', src.openGop]);
  // variable frame rate: gaps of 30 ms + 2 ms x N
  src.vfr = join(dir, 'vfr.mkv');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '120', '-vf', "settb=1/1000,setpts='30*N+N*N/20'",
    '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-bf', '2', '-g', '15', '-pix_fmt', 'yuv420p', src.vfr]);
  // an mp4 edit list: a copy cut between keyframes (the first frames are decoded but not shown)
  src.editList = join(dir, 'edit-list.mp4');
  ffmpeg(['-ss', '1.3', '-i', src.bframes, '-c', 'copy', src.editList]);
  // MPEG-TS, timestamps starting at 1.4 s, mp2 audio
  src.ts = join(dir, 'src.ts');
  ffmpeg([...lavfi(6), '-c:v', 'libx264', '-bf', '2', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'mp2', '-shortest', src.ts]);

  const mod = (name, body) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  invertCorner = mod('corner.mjs', `export default function (frame) {
  const d = frame.data, row = frame.width * 3;
  for (let y = 0; y < 32; y++) for (let x = 0; x < 96; x++) d[y * row + x] = 255 - d[y * row + x];
  return frame;
}\n`);
  slow = mod('slow.mjs', 'export default async function (frame) { await new Promise((r) => setTimeout(r, 20)); return frame; }\n');
  throwing = mod('throwing.mjs', 'export default function (frame) { if (frame.index === 170) throw new Error("bad frame"); return frame; }\n');
  noDefault = mod('no-default.mjs', 'export function fn(frame) { return frame; }\n');
});

let n = 0;
const folder = () => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  return d;
};

const audioSpan = (file) => {
  const pk = ffprobe(file, ['-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time']).packets;
  return pk.reduce((e, p) => Math.max(e, Number(p.pts_time) + (Number(p.duration_time) || 0)), 0);
};
const keyframes = (file) => ffprobe(file, ['-select_streams', 'v:0', '-show_entries', 'packet=flags']).packets.filter((p) => p.flags.startsWith('K')).length;

for (const kind of ['bframes', 'openGop', 'vfr', 'editList', 'ts']) {
  test(`${kind}: ffv1 through 2 workers equals the single pass frame for frame (pts and pixels), audio packets equal`, async () => {
    const d = folder();
    const single = join(d, 'single.mkv');
    const chunked = join(d, 'chunked.mkv');
    const a = await transform(src[kind], single, (await import(invertCorner)).default, { codec: 'ffv1' });
    const b = await transform(src[kind], chunked, invertCorner, { codec: 'ffv1', workers: 2, chunkDuration: 1 });
    assert.ok(b.chunks >= 3, `${b.chunks} chunks`);
    assert.equal(b.workers, 2);
    // the source's own frame count, by the CLI
    const frames = framePtsTimes(src[kind]).length;
    assert.equal(a.framesOut, frames);
    assert.equal(b.framesIn, frames);
    assert.equal(b.framesOut, frames);
    const va = videoMd5(single);
    const vb = videoMd5(chunked);
    assert.equal(vb.length, frames);
    assert.deepEqual(vb, va, 'decoded frames and their pts');
    assert.deepEqual(framePtsTimes(chunked), framePtsTimes(single));
    if (kind !== 'vfr') {
      assert.equal(b.audio, a.audio);
      assert.deepEqual(audioMd5(chunked), audioMd5(single), 'audio packets');
      assert.ok(Math.abs(audioSpan(chunked) - audioSpan(single)) < 1024 / 48000 + 1e-6);
    }
    assert.deepEqual(readdirSync(d).sort(), ['chunked.mkv', 'single.mkv']);
  }, T);
}

test('x264 in mp4: decodes cleanly, PSNR against the source within 0.3 dB of the single pass, size within 3%, keyframes at chunk starts', async () => {
  const d = folder();
  const single = join(d, 'single.mp4');
  const chunked = join(d, 'chunked.mp4');
  const fn = (await import(invertCorner)).default;
  await transform(src.bframes, single, fn, { crf: 20, faststart: true });
  const b = await transform(src.bframes, chunked, invertCorner, { crf: 20, faststart: true, workers: 2, chunkDuration: 2 });
  assert.equal(b.chunks, 4);
  const errors = ffmpeg(['-v', 'error', '-i', chunked, '-f', 'null', '-']).toString();
  assert.equal(errors, '');
  assert.deepEqual(framePtsTimes(chunked), framePtsTimes(single));
  assert.ok(keyframes(chunked) >= 4);
  const ref = cliFrames(src.bframes, 'bgr24');
  const pa = psnr(cliFrames(single, 'bgr24'), ref);
  const pb = psnr(cliFrames(chunked, 'bgr24'), ref);
  assert.ok(Math.abs(pa - pb) <= 0.3, `PSNR single ${pa.toFixed(2)} dB, chunked ${pb.toFixed(2)} dB`);
  const sa = ffprobe(single).format.size;
  const sb = ffprobe(chunked).format.size;
  assert.ok(Math.abs(sb / sa - 1) <= 0.03, `size single ${sa}, chunked ${sb}`);
  assert.deepEqual(audioMd5(chunked), audioMd5(single));
  // faststart: the index (moov) before the media data (mdat), as the single pass
  const moovFirst = (f) => {
    const b = readFileSync(f);
    return b.indexOf('moov') < b.indexOf('mdat');
  };
  assert.ok(moovFirst(single));
  assert.ok(moovFirst(chunked));
}, T);

test('avi (constant frame rate): frames numbered across chunks as the single pass, audio encoded once', async () => {
  const d = folder();
  const single = join(d, 'single.avi');
  const chunked = join(d, 'chunked.avi');
  await transform(src.bframes, single, (await import(invertCorner)).default, {});
  const b = await transform(src.bframes, chunked, invertCorner, { workers: 2, chunkDuration: 2, audio: 'encode' });
  const pk = (f) => ffprobe(f, ['-select_streams', 'v:0', '-show_entries', 'packet=pts,dts']).packets.map((p) => `${p.pts}/${p.dts}`);
  assert.deepEqual(pk(chunked), pk(single));
  assert.equal(b.audio, 'encode');
  assert.equal(ffmpeg(['-v', 'error', '-i', chunked, '-f', 'null', '-']).toString(), '');
}, T);

test('onProgress counts every frame across the chunks; a function module that is not one: TypeError naming it, nothing left', async () => {
  const d = folder();
  const seen = [];
  await transform(src.ts, join(d, 'p.mkv'), invertCorner, { workers: 2, chunkDuration: 1, onProgress: (p) => seen.push(p.frames) });
  const total = framePtsTimes(src.ts).length;
  assert.equal(seen.at(-1), total);
  assert.ok(seen.every((f, i) => i === 0 || f >= seen[i - 1]));
  await assert.rejects(transform(src.ts, join(d, 'x.mkv'), noDefault, { workers: 2 }), (e) => e instanceof TypeError && /default export/.test(e.message));
  await assert.rejects(transform(src.ts, join(d, 'y.mkv'), join(d, 'missing.mjs'), { workers: 2 }), (e) => e instanceof TypeError && /missing\.mjs/.test(e.message));
  await assert.rejects(transform(src.ts, join(d, 'z.mkv'), (f) => f, { workers: 2 }), (e) => e instanceof TypeError && /module/.test(e.message));
  await assert.rejects(transform(src.ts, join(d, 'z.mkv'), invertCorner, { workers: 0 }), (e) => e instanceof RangeError && /workers/.test(e.message));
  await assert.rejects(transform(src.ts, join(d, 'z.mkv'), invertCorner, { chunkDuration: -1 }), (e) => e instanceof RangeError && /chunkDuration/.test(e.message));
  assert.deepEqual(readdirSync(d), ['p.mkv']);
}, T);

test('a function that throws on frame 170: the error names its chunk and frame, no output and no pieces left', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await assert.rejects(transform(src.bframes, out, throwing, { workers: 2, chunkDuration: 2 }), (e) => {
    assert.ok(e instanceof AvcvError, String(e));
    assert.equal(e.code, 'FN_FAILED');
    // 25 fps, a keyframe every second, chunks of 2 s: frame 170 is in chunk 3 (frames 150-199)
    assert.match(e.message, /chunk 3 \(frames 150-199\), frame 170: bad frame/);
    assert.equal(e.chunk, 3);
    assert.equal(e.frame, 170);
    return true;
  });
  assert.deepEqual(readdirSync(d), []);
}, T);

test('abort: every worker stops promptly, no output and no pieces left', async () => {
  const d = folder();
  const ac = new AbortController();
  const t0 = Date.now();
  let firstProgress = 0;
  const p = transform(src.bframes, join(d, 'out.mp4'), slow, {
    workers: 2, chunkDuration: 2, signal: ac.signal,
    onProgress: (pr) => {
      if (pr.frames > 0 && !firstProgress) {
        firstProgress = Date.now();
        ac.abort();
      }
    },
  });
  await assert.rejects(p, (e) => e instanceof AvcvError && e.code === 'ABORTED');
  assert.ok(firstProgress > 0);
  // 200 frames x 20 ms over 2 workers would take 2 s more
  assert.ok(Date.now() - firstProgress < 1500, `stopped ${Date.now() - firstProgress} ms after the abort (started ${firstProgress - t0} ms in)`);
  assert.deepEqual(readdirSync(d), []);
}, T);
