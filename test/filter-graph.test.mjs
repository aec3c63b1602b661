// FilterGraph (frames pushed from JS through libavfilter) against the reader's
// own filter option and the ffmpeg CLI's -filter_complex.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoReader, AudioReader, FilterGraph, Frame, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, makeClip, assertExact } from './helpers.mjs';

const dir = tempDir('avcv-fgraph-');
const big = join(dir, 'big.mp4');
const small = join(dir, 'small.mp4');
const toneA = join(dir, 'a.wav');
const toneB = join(dir, 'b.m4a');

beforeAll(() => {
  makeClip(big, { size: '322x240', frames: 25, extra: ['-bf', '2'] });
  ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=80x60:rate=25', '-frames:v', '25', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2', '-ac', '2', '-c:a', 'pcm_s16le', toneA]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=700:sample_rate=48000:duration=1.5', '-ac', '2', '-c:a', 'aac', toneB]);
});

const videoInput = (r, format) => ({ width: r.info.width, height: r.info.height, format, timeBase: r.info.stream.timeBase, fps: r.info.fps });

/** Pulls everything output `o` has now. */
async function drain(g, o = 0, into = []) {
  for (let x = await g.pull(o); x; x = await g.pull(o)) into.push(x);
  return into;
}

async function readAll(file, options = {}) {
  const r = await VideoReader.open(file, options);
  const frames = [];
  for await (const f of r) frames.push(f);
  await r.close();
  return frames;
}

test('the frames of a file pushed through hflip equal the reader with filter hflip (bytes and pts)', async () => {
  const r = await VideoReader.open(big);
  const g = new FilterGraph('hflip', { inputs: [videoInput(r, 'bgr24')] });
  const out = [];
  for await (const f of r) {
    await g.push(f);
    await drain(g, 0, out);
  }
  await r.close();
  await g.flush();
  await drain(g, 0, out);
  assert.equal(g.ended(), true);
  await g.close();
  const ref = await readAll(big, { filter: 'hflip' });
  assert.equal(out.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    assert.ok(out[i] instanceof Frame);
    assert.equal(out[i].pts, ref[i].pts, `pts of frame ${i}`);
    assert.ok(Buffer.from(out[i].data).equals(Buffer.from(ref[i].data)), `frame ${i}`);
  }
});

test('two inputs: overlay equals the CLI\'s -filter_complex overlay', async () => {
  const a = await VideoReader.open(big, { format: 'yuv420p' });
  const b = await VideoReader.open(small, { format: 'yuv420p' });
  const g = new FilterGraph('[0][1]overlay=10:10', { inputs: [videoInput(a, 'yuv420p'), videoInput(b, 'yuv420p')] });
  assert.deepEqual([g.outputs[0].width, g.outputs[0].height], [322, 240]);
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  const out = [];
  for (let da = false, db = false; !(da && db);) {
    const fa = await ia.next();
    const fb = await ib.next();
    da = fa.done;
    db = fb.done;
    if (!da) await g.push(fa.value, 0);
    if (!db) await g.push(fb.value, 1);
    await drain(g, 0, out);
  }
  await g.flush();
  await drain(g, 0, out);
  await Promise.all([a.close(), b.close(), g.close()]);
  const cli = ffmpeg(['-i', big, '-i', small, '-filter_complex', '[0:v][1:v]overlay=10:10', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
  assertExact(Buffer.concat(out.map((f) => Buffer.from(f.data))), cli, 322 * 240 * 1.5, 'overlay');
});

test('two outputs (split): each equals the CLI running that branch over the same frames', async () => {
  const r = await VideoReader.open(big, { format: 'rgb24' });
  const g = new FilterGraph('split[a][b];[a]vflip[o1];[b]transpose=1[o2]', { inputs: [videoInput(r, 'rgb24')], outputs: [{ format: 'rgb24' }, { format: 'gray' }] });
  assert.deepEqual([g.outputs[0].width, g.outputs[0].height], [322, 240]);
  assert.deepEqual([g.outputs[1].width, g.outputs[1].height], [240, 322]);
  const o1 = [];
  const o2 = [];
  const input = [];
  for await (const f of r) {
    input.push(Buffer.from(f.data));
    await g.push(f);
    await drain(g, 0, o1);
    await drain(g, 1, o2);
  }
  await g.flush();
  await drain(g, 0, o1);
  await drain(g, 1, o2);
  await Promise.all([r.close(), g.close()]);
  assert.equal(o2[0].format, 'gray');
  // the reference: the CLI's branches over the very frames pushed (raw rgb24)
  const raw = join(dir, 'frames.rgb');
  writeFileSync(raw, Buffer.concat(input));
  const cli = (vf, pix) => ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '322x240', '-r', '25', '-i', raw, '-vf', vf, '-f', 'rawvideo', '-pix_fmt', pix, '-']);
  assertExact(Buffer.concat(o1.map((f) => Buffer.from(f.data))), cli('vflip', 'rgb24'), 322 * 240 * 3, 'vflip branch');
  assertExact(Buffer.concat(o2.map((f) => Buffer.from(f.data))), cli('transpose=1', 'gray'), 322 * 240, 'transpose branch (gray)');
});

test('audio: amix of two AudioReaders equals the CLI\'s -filter_complex amix', async () => {
  // chunks of the decoders' frame size (1024), as the CLI feeds amix: amix
  // weighs its inputs frame by frame while one of them fades out after it ends
  const a = await AudioReader.open(toneA, { chunkSamples: 1024 });
  const b = await AudioReader.open(toneB, { chunkSamples: 1024 });
  const g = new FilterGraph('[0][1]amix=inputs=2', {
    inputs: [a.info, b.info].map((i) => ({ sampleRate: i.sampleRate, channels: i.channels })),
    outputs: [{ format: 'f32' }],
  });
  const out = [];
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  for (let da = false, db = false; !(da && db);) {
    const ca = da ? { done: true } : await ia.next();
    const cb = db ? { done: true } : await ib.next();
    if (!da && ca.done) await g.push(null, 0);
    if (!db && cb.done) await g.push(null, 1);
    da = ca.done;
    db = cb.done;
    if (!da) await g.push(ca.value, 0);
    if (!db) await g.push(cb.value, 1);
    await drain(g, 0, out);
  }
  await drain(g, 0, out);
  await Promise.all([a.close(), b.close(), g.close()]);
  const got = Buffer.concat(out.map((c) => Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)));
  const cli = ffmpeg(['-i', toneA, '-i', toneB, '-filter_complex', '[0:a][1:a]amix=inputs=2', '-f', 'f32le', '-']);
  assert.equal(out[0].sampleRate, 48000);
  assert.ok(got.equals(cli), `${got.length} bytes vs the CLI's ${cli.length}`);
});

test('a fractional frame rate (12.5, 29.97) is exact: frames pushed without pts land at n / fps', async () => {
  for (const [fps, num, den] of [[12.5, 25, 2], [29.97, 30000, 1001]]) {
    const g = new FilterGraph('null', { inputs: [{ width: 16, height: 16, format: 'gray', fps }] });
    const out = [];
    for (let n = 0; n <= 100; n++) {
      await g.push(Frame.from(new Uint8Array(256).fill(n), { width: 16, height: 16, format: 'gray' }));
      await drain(g, 0, out);
    }
    await g.push(null);
    await drain(g, 0, out);
    await g.close();
    assert.equal(out.length, 101);
    // hand-computed: frame n at n * den / num seconds
    out.forEach((f, n) => assert.ok(Math.abs(f.time - (n * den) / num) < 1e-9, `fps ${fps}, frame ${n}: ${f.time} s, not ${(n * den) / num}`));
    assert.deepEqual(g.outputs[0].frameRate, { num, den });
  }
});

describe('errors', () => {
  const input = { width: 64, height: 48, format: 'bgr24' };
  test('a bad graph: AvcvError INVALID_FILTER naming it', () => {
    assert.throws(() => new FilterGraph('nosuchfilter', { inputs: [input] }), (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && /nosuchfilter/.test(e.message));
    assert.throws(() => new FilterGraph('[0][1]overlay', { inputs: [input] }), (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && /input/.test(e.message));
  });
  test('file-opening filters: NESTED_INPUT_BLOCKED', () => {
    assert.throws(() => new FilterGraph(`movie=${big}[m];[in][m]overlay`, { inputs: [input] }), (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED');
  });
  test('wrong frames and options: TypeError/RangeError; after close: CLOSED', async () => {
    const g = new FilterGraph('hflip', { inputs: [input] });
    assert.throws(() => g.push(Frame.from(new Uint8Array(32 * 48 * 3), { width: 32, height: 48, format: 'bgr24' })), (e) => e instanceof TypeError && /64x48 bgr24/.test(e.message));
    assert.throws(() => g.push(Frame.from(new Uint8Array(64 * 48 * 3), { width: 64, height: 48, format: 'rgb24' })), TypeError);
    assert.throws(() => g.push({ data: new Float32Array(4) }), TypeError);
    assert.throws(() => g.pull(3), RangeError);
    assert.throws(() => new FilterGraph('hflip', { inputs: [{ ...input, format: 'bgr' }] }), (e) => e instanceof TypeError && /format/.test(e.message));
    assert.throws(() => new FilterGraph('hflip', { inputs: [input], outputs: [{ format: 'f32' }] }), (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && /output 0 is video/.test(e.message));
    assert.throws(() => new FilterGraph(7, { inputs: [input] }), TypeError);
    await g.push(Frame.from(new Uint8Array(64 * 48 * 3).fill(9), { width: 64, height: 48, format: 'bgr24' }));
    const f = await g.pull();
    assert.equal(f.width, 64);
    await g.close();
    await assert.rejects(g.pull(), (e) => e instanceof AvcvError && e.code === 'CLOSED');
  });
});
