// transform(): decode -> fn -> encode, checked against the ffmpeg CLI / ffprobe:
// frame counts, sizes, codecs, audio kept (copied packet for packet by default),
// pixel operations exact through a lossless codec, output order kept under
// concurrency, VFR timestamps kept, and no output left by an abort or a throw.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { transform, Frame, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, psnr, assertExact, countFrames, framePtsTimes, span } from './helpers.mjs';

const T = 60_000;
const dir = tempDir('avcv-transform-');
let n = 0;
const folder = () => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  return d;
};

const W = 160;
const H = 120;
const RATE = 25;
const N = 50; // 2 s
const FB = W * H * 3;
let src; // h264 + aac, mp4
let srcBgr; // the CLI's bgr24 decode of src
let vfr; // mkv with irregular timestamps
let silent; // mp4 without audio
let dup; // mkv whose first two frames share pts 0 (setpts rounded to a 1/25 time base)

beforeAll(() => {
  const d = join(dir, 'src');
  mkdirSync(d);
  src = join(d, 'in.mp4');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${RATE}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src]);
  srcBgr = cliFrames(src, 'bgr24');
  // irregular gaps: pts(N) = 0.03 N + 0.002 N^2 seconds
  vfr = join(d, 'vfr.mkv');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${RATE}`, '-frames:v', '20', '-vf', "settb=1/1000,setpts='30*N+2*N*N'",
    '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr]);
  dup = join(d, 'dup.mkv');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${RATE}`, '-frames:v', '20', '-vf', "setpts='(0.03*N+0.002*N*N)/TB'",
    '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', dup]);
  silent = join(d, 'silent.mp4');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${RATE}`, '-frames:v', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', silent]);
});

// ---- ffprobe helpers ----

const streams = (file) => ffprobe(file).streams;
/**
 * Seconds of a stream: ffprobe's stream duration where the container has one (mp4: from
 * the sample table), else the packet span (mkv/webm).
 */
function dur(file, type) {
  const st = streams(file).find((x) => x.codec_type === type);
  assert.ok(st, `no ${type} stream in ${file}`);
  if (st.duration !== undefined && st.duration !== 'N/A') return Number(st.duration);
  return span(file, type === 'video' ? 'v:0' : 'a:0').duration;
}
const audioPayload = (file) => ffmpeg(['-i', file, '-map', '0:a:0', '-c', 'copy', '-f', 'data', '-']);
const audioSizes = (file) => ffprobe(file, ['-select_streams', 'a:0', '-show_entries', 'packet=size']).packets.map((p) => Number(p.size));

const invert = (buf) => {
  const out = Buffer.allocUnsafe(buf.length);
  for (let i = 0; i < buf.length; i++) out[i] = 255 - buf[i];
  return out;
};
const LOSSLESS = { codec: 'ffv1', pixelFormat: 'bgr0' };

// ---- identity, audio ----

test('identity transform into mp4: same frame count and size, h264, an AAC stream; summary agrees', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const sum = await transform(src, out, (f) => f);
  const ss = streams(out);
  const v = ss.filter((s) => s.codec_type === 'video');
  const a = ss.filter((s) => s.codec_type === 'audio');
  assert.equal(v.length, 1);
  assert.equal(v[0].codec_name, 'h264');
  assert.equal(v[0].width, W);
  assert.equal(v[0].height, H);
  assert.equal(v[0].avg_frame_rate, '25/1');
  assert.equal(countFrames(out), countFrames(src));
  assert.equal(countFrames(out), N);
  assert.equal(a.length, 1);
  assert.equal(a[0].codec_name, 'aac');
  assert.equal(sum.input, src);
  assert.equal(sum.output, out);
  assert.equal(sum.framesIn, N);
  assert.equal(sum.framesOut, N);
  assert.equal(sum.encoder, 'libx264');
  assert.equal(sum.audio, 'copy');
  assert.equal(sum.audioCodec, 'aac');
  assert.ok(Math.abs(sum.duration - N / RATE) < 1e-6, `duration ${sum.duration}`);
  assert.ok(sum.wallTime > 0);
  assert.equal(sum.writer.frames, N);
  // and the pictures are the input's (h264 again: measured 35.1 dB, floor 3 dB below)
  const p = psnr(cliFrames(out, 'bgr24'), srcBgr);
  assert.ok(p >= 32, `identity PSNR ${p.toFixed(2)} dB`);
  assert.deepEqual(readdirSync(d), ['out.mp4']);
}, T);

test('identity transform: audio/video durations within one frame of each other and of the input', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await transform(src, out, (f) => f);
  const v = dur(out, 'video');
  const a = dur(out, 'audio');
  assert.ok(Math.abs(a - v) <= 1 / RATE, `audio ${a}s vs video ${v}s`);
  const sv = dur(src, 'video');
  assert.ok(Math.abs(v - sv) <= 1e-3, `video ${v}s vs input ${sv}s`);
}, T);

test("identity transform: the input's AAC packets are copied as they are (default audio 'auto')", async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await transform(src, out, (f) => f);
  // reference: what `ffmpeg -i in.mp4 -c:a copy` keeps: every packet, byte for byte
  assert.deepEqual(audioSizes(out), audioSizes(src), 'audio packet sizes differ from the input');
  assert.ok(audioPayload(out).equals(audioPayload(src)), 'audio packet bytes differ from the input');
}, T);

test("audio 'none': no audio stream", async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const sum = await transform(src, out, (f) => f, { audio: 'none' });
  assert.equal(sum.audio, 'none');
  assert.equal(sum.audioCodec, null);
  assert.equal(streams(out).filter((s) => s.codec_type === 'audio').length, 0);
  assert.equal(countFrames(out), N);
}, T);

test("audio 'encode': AAC re-encoded, durations within one frame", async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const sum = await transform(src, out, (f) => f, { audio: 'encode' });
  assert.equal(sum.audio, 'encode');
  assert.equal(sum.audioCodec, 'aac');
  const a = streams(out).filter((s) => s.codec_type === 'audio');
  assert.equal(a.length, 1);
  assert.equal(a[0].codec_name, 'aac');
  const va = dur(out, 'video');
  const aa = dur(out, 'audio');
  assert.ok(Math.abs(aa - va) <= 1 / RATE, `audio ${aa}s vs video ${va}s`);
  // re-encoded: not the input's packets
  assert.ok(!audioPayload(out).equals(audioPayload(src)));
}, T);

test("audio 'auto' into webm encodes Opus; 'copy' into webm is refused and leaves nothing", async () => {
  const d = folder();
  const out = join(d, 'out.webm');
  const sum = await transform(src, out, (f) => f, { crf: 40 });
  assert.equal(sum.encoder, 'libvpx-vp9');
  assert.equal(sum.audio, 'encode');
  const ss = streams(out);
  assert.equal(ss.find((s) => s.codec_type === 'video')?.codec_name, 'vp9');
  assert.equal(ss.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
  const bad = join(d, 'copy.webm');
  await assert.rejects(transform(src, bad, (f) => f, { audio: 'copy' }), (e) => e instanceof RangeError || e instanceof AvcvError);
  assert.deepEqual(readdirSync(d), ['out.webm']);
}, T);

test('an input without audio: no audio stream, summary audio none', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const sum = await transform(silent, out, (f) => f);
  assert.equal(sum.audio, 'none');
  assert.equal(streams(out).filter((s) => s.codec_type === 'audio').length, 0);
  assert.equal(countFrames(out), 10);
}, T);

// ---- pixel operations ----

test('inverting bytes (255 - v) in bgr24 through ffv1: exactly the inverse of the CLI-decoded input', async () => {
  const d = folder();
  const out = join(d, 'neg.mkv');
  const sum = await transform(src, out, (f) => {
    assert.equal(f.format, 'bgr24');
    const o = new Uint8Array(f.data.length);
    for (let i = 0; i < o.length; i++) o[i] = 255 - f.data[i];
    return Frame.from(o, { width: f.width, height: f.height, format: 'bgr24' });
  }, { ...LOSSLESS, audio: 'none' });
  assert.equal(sum.encoder, 'ffv1');
  assertExact(cliFrames(out, 'bgr24'), invert(srcBgr), FB, 'inverted');
}, T);

test('inverting bytes, returned as a plain Uint8Array, into h264 mp4: close to the inverted input (PSNR)', async () => {
  const d = folder();
  const out = join(d, 'neg.mp4');
  await transform(src, out, (f) => {
    const o = new Uint8Array(f.data.length);
    for (let i = 0; i < o.length; i++) o[i] = 255 - f.data[i];
    return o;
  });
  const got = cliFrames(out, 'bgr24');
  // reference 1: the input decoded by the CLI, inverted in JS
  const p = psnr(got, invert(srcBgr));
  // measured 34.8 dB (testsrc2's sharp edges through bgr24 -> 4:2:0 h264 again), floor 3 dB below
  assert.ok(p >= 31.5, `PSNR vs inverted input ${p.toFixed(2)} dB`);
  // reference 2: the CLI's own negate filter (it negates Y'CbCr, so only close): measured 33.9 dB
  const p2 = psnr(got, cliFrames(src, 'bgr24', { vf: 'negate' }));
  assert.ok(p2 >= 30, `PSNR vs -vf negate ${p2.toFixed(2)} dB`);
}, T);

test('fn returning a half-size Frame: the output takes that size (exact with ffv1)', async () => {
  const d = folder();
  const out = join(d, 'half.mkv');
  const w2 = W / 2;
  const h2 = H / 2;
  const half = (data) => {
    const o = new Uint8Array(w2 * h2 * 3);
    for (let y = 0; y < h2; y++) {
      for (let x = 0; x < w2; x++) {
        for (let c = 0; c < 3; c++) o[(y * w2 + x) * 3 + c] = data[(2 * y * W + 2 * x) * 3 + c];
      }
    }
    return o;
  };
  const sum = await transform(src, out, (f) => Frame.from(half(f.data), { width: w2, height: h2, format: 'bgr24' }), { ...LOSSLESS, audio: 'none' });
  assert.equal(sum.framesOut, N);
  const v = streams(out).find((s) => s.codec_type === 'video');
  assert.equal(v.width, w2);
  assert.equal(v.height, h2);
  const expected = [];
  for (let i = 0; i < N; i++) expected.push(Buffer.from(half(srcBgr.subarray(i * FB, (i + 1) * FB))));
  assertExact(cliFrames(out, 'bgr24'), Buffer.concat(expected), w2 * h2 * 3, 'half size');
}, T);

test('fn returning gray Frames: a gray output (exact with ffv1 gray)', async () => {
  const d = folder();
  const out = join(d, 'gray.mkv');
  const g = (data) => {
    const o = new Uint8Array(W * H);
    for (let i = 0; i < o.length; i++) o[i] = data[i * 3 + 1]; // the green channel
    return o;
  };
  await transform(src, out, (f) => Frame.from(g(f.data), { width: W, height: H, format: 'gray' }), { codec: 'ffv1', pixelFormat: 'gray', audio: 'none' });
  const expected = [];
  for (let i = 0; i < N; i++) expected.push(Buffer.from(g(srcBgr.subarray(i * FB, (i + 1) * FB))));
  assertExact(cliFrames(out, 'gray'), Buffer.concat(expected), W * H, 'green as gray');
}, T);

test('fn returning null drops the frame: framesOut < framesIn and ffprobe agrees; kept frames exact', async () => {
  const d = folder();
  const out = join(d, 'drop.mkv');
  const sum = await transform(src, out, (f) => (f.index % 3 === 1 ? null : f), { ...LOSSLESS, audio: 'none' });
  const kept = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 1);
  assert.equal(sum.framesIn, N);
  assert.equal(sum.framesOut, kept.length);
  assert.equal(countFrames(out), kept.length);
  const expected = Buffer.concat(kept.map((i) => srcBgr.subarray(i * FB, (i + 1) * FB)));
  assertExact(cliFrames(out, 'bgr24'), expected, FB, 'kept frames');
  // the kept frames keep their input times
  const t = framePtsTimes(out);
  kept.forEach((i, k) => assert.ok(Math.abs(t[k] - i / RATE) < 1e-3, `kept frame ${i} at ${t[k]}s`));
}, T);

test('fn returning null for every frame: NO_FRAMES, no output file', async () => {
  const d = folder();
  await assert.rejects(transform(src, join(d, 'none.mp4'), () => null), (e) => e instanceof AvcvError && e.code === 'NO_FRAMES');
  assert.deepEqual(readdirSync(d), []);
}, T);

test('fn returning something else: TypeError, no output file', async () => {
  const d = folder();
  await assert.rejects(transform(src, join(d, 'x.mp4'), () => 'nope'), TypeError);
  await assert.rejects(transform(src, join(d, 'y.mp4'), (f) => (f.index === 5 ? 42 : f)), TypeError);
  assert.deepEqual(readdirSync(d), []);
}, T);

// ---- concurrency ----

test('concurrency 4 with an async fn resolving in random order keeps the output order exact', async () => {
  const d = folder();
  const out = join(d, 'conc.mkv');
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  let inFlight = 0;
  let maxInFlight = 0;
  const finished = [];
  const sum = await transform(src, out, async (f) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const copy = new Uint8Array(f.data.length);
    for (let i = 0; i < copy.length; i++) copy[i] = 255 - f.data[i];
    await new Promise((r) => setTimeout(r, Math.floor(rnd() * 25)));
    inFlight--;
    finished.push(f.index);
    return Frame.from(copy, { width: f.width, height: f.height, format: 'bgr24' });
  }, { ...LOSSLESS, audio: 'none', concurrency: 4 });
  assert.equal(sum.framesOut, N);
  assert.ok(maxInFlight > 1 && maxInFlight <= 4, `max fn calls in flight: ${maxInFlight}`);
  assert.notDeepEqual(finished, [...finished].sort((a, b) => a - b), 'the delays did not reorder completions');
  assertExact(cliFrames(out, 'bgr24'), invert(srcBgr), FB, 'concurrency 4');
}, T);

// ---- timestamps ----

test('a VFR input keeps its timestamps (ffprobe pts_time within 1 ms)', async () => {
  const d = folder();
  const out = join(d, 'vfr.mkv');
  const sum = await transform(vfr, out, (f) => f, { audio: 'none' });
  const tin = framePtsTimes(vfr);
  const tout = framePtsTimes(out);
  assert.equal(sum.framesIn, 20);
  assert.equal(tout.length, tin.length);
  // sanity: the input really is irregular (hand-computed 0.03 N + 0.002 N^2)
  tin.forEach((t, i) => assert.ok(Math.abs(t - (0.03 * i + 0.002 * i * i)) <= 0.0005, `input frame ${i} at ${t}`));
  tout.forEach((t, i) => assert.ok(Math.abs(t - tin[i]) <= 0.001, `frame ${i}: out ${t}s, in ${tin[i]}s`));
}, T);

test('a VFR input into mp4 keeps its timestamps too', async () => {
  const d = folder();
  const out = join(d, 'vfr.mp4');
  await transform(vfr, out, (f) => f, { audio: 'none' });
  const tin = framePtsTimes(vfr);
  const tout = framePtsTimes(out);
  assert.equal(tout.length, tin.length);
  tout.forEach((t, i) => assert.ok(Math.abs(t - tin[i]) <= 0.001, `frame ${i}: out ${t}s, in ${tin[i]}s`));
}, T);

test('an input with a repeated timestamp transcodes as the CLI does', async () => {
  const d = folder();
  const t = framePtsTimes(dup);
  assert.equal(t[0], t[1], 'the input does repeat a timestamp');
  // reference: the CLI transcodes it (its vfr sync copes with the repeat)
  const ref = join(d, 'cli.mkv');
  ffmpeg(['-i', dup, '-c:v', 'libx264', ref]);
  const out = join(d, 'out.mkv');
  const sum = await transform(dup, out, (f) => f, { audio: 'none' });
  assert.equal(sum.framesIn, 20);
  assert.equal(countFrames(out), countFrames(ref));
  const tout = framePtsTimes(out);
  for (let i = 1; i < tout.length; i++) assert.ok(tout[i] > tout[i - 1], `frame ${i} at ${tout[i]}s after ${tout[i - 1]}s`);
}, T);

// ---- failure: no output ----

test('signal abort mid-way: rejects ABORTED, no output file, no temp', async () => {
  const left = [];
  for (let round = 0; round < 3; round++) {
    const d = folder();
    const ac = new AbortController();
    const p = transform(src, join(d, 'aborted.mp4'), (f) => {
      if (f.index === 20) ac.abort();
      return f;
    }, { signal: ac.signal, preset: 'veryslow' });
    await assert.rejects(p, (e) => e instanceof AvcvError && e.code === 'ABORTED');
    const now = readdirSync(d);
    if (now.length) left.push({ round, now });
  }
  assert.deepEqual(left, [], 'files left in the folder once transform() rejected');
}, T);

test('an already aborted signal: rejects, nothing written', async () => {
  const d = folder();
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => f, { signal: AbortSignal.abort() }), (e) => e instanceof AvcvError && e.code === 'ABORTED');
  assert.deepEqual(readdirSync(d), []);
}, T);

test('fn throwing: rejects with that very error, no output file, no temp', async () => {
  const d = folder();
  const boom = new Error('boom at 10');
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => {
    if (f.index === 10) throw boom;
    return f;
  }), (e) => e === boom);
  assert.deepEqual(readdirSync(d), []);
}, T);

test('an async fn rejecting with concurrency > 1: transform rejects with it and the process survives', async () => {
  // fn(5) is slow, fn(6) rejects at once: while transform awaits fn(5), fn(6)'s rejection
  // has no handler yet. Under Node's default --unhandled-rejections=throw that must not
  // kill a process that catches transform()'s rejection. Run in a child to see the exit.
  const d = folder();
  const child = join(d, 'child.mjs');
  const out = join(d, 'y.mp4');
  writeFileSync(child, `
    import { transform } from ${JSON.stringify(new URL('../dist/index.mjs', import.meta.url).href)};
    try {
      await transform(${JSON.stringify(src)}, ${JSON.stringify(out)}, async (f) => {
        if (f.index === 5) await new Promise((r) => setTimeout(r, 100));
        if (f.index === 6) throw new Error('async boom');
        return f;
      }, { concurrency: 3 });
      console.log('resolved?');
    } catch (e) {
      console.log('caught ' + e.message);
    }
  `);
  const r = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 30_000 });
  rmSync(child);
  assert.equal(r.stdout.trim(), 'caught async boom', `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.status, 0, `the process died: ${r.stderr}`);
  assert.deepEqual(readdirSync(d), []);
}, T);

test('fn throwing on the first frame (before the writer exists): that error, nothing written', async () => {
  const d = folder();
  const boom = new RangeError('first');
  await assert.rejects(transform(src, join(d, 'x.mp4'), () => {
    throw boom;
  }), (e) => e === boom);
  assert.deepEqual(readdirSync(d), []);
}, T);

test('bad options: TypeError/RangeError before anything is written', async () => {
  const d = folder();
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => f, { concurency: 2 }), /concurency/);
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => f, { concurrency: 0 }), RangeError);
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => f, { audio: 'loud' }), /audio/);
  await assert.rejects(transform(src, join(d, 'x.mp4'), 'not a function'), TypeError);
  await assert.rejects(transform(src, join(d, 'x.mp4'), (f) => f, { codec: 'nope' }), (e) => e instanceof AvcvError && e.code === 'UNSUPPORTED_CODEC');
  await assert.rejects(transform(join(d, 'missing.mp4'), join(d, 'x.mp4'), (f) => f), (e) => e instanceof AvcvError && e.code === 'ENOENT');
  assert.deepEqual(readdirSync(d), []);
}, T);

// ---- progress ----

test('onProgress: increasing frames, total = frame count, fps > 0; the summary is right', async () => {
  const d = folder();
  const calls = [];
  const sum = await transform(src, join(d, 'p.mp4'), (f) => f, { onProgress: (p) => calls.push({ ...p }) });
  assert.ok(calls.length >= 1);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i].frames > calls[i - 1].frames, `frames ${calls[i - 1].frames} then ${calls[i].frames}`);
  const total = countFrames(src);
  for (const c of calls) {
    assert.equal(c.total, total);
    assert.ok(c.fps > 0, `fps ${c.fps}`);
    assert.ok(c.eta === null || c.eta >= 0);
  }
  assert.equal(calls.at(-1).frames, N);
  assert.equal(calls.at(-1).eta, 0);
  assert.equal(sum.framesIn, N);
  assert.equal(sum.framesOut, N);
  assert.equal(sum.encoder, 'libx264');
  assert.equal(sum.audio, 'copy');
  assert.equal(sum.audioCodec, 'aac');
}, T);
