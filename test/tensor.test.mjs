// Tensors: hand-computed values on small asymmetric images (a transposed axis
// or swapped channel cannot pass), numpy / python3-opencv as oracles.
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { Frame, VideoReader, stackFrames, letterbox } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames } from './helpers.mjs';

const dir = tempDir();
const W = 3;  // 3 wide, 2 high, 3 channels: every axis a different size
const H = 2;
// pixel (x, y): b = 10y + x, g = 100 + 10y + x, r = 200 + 10y + x  (bgr24, hwc)
const B = (x, y) => 10 * y + x;
const G = (x, y) => 100 + 10 * y + x;
const R = (x, y) => 200 + 10 * y + x;
function bgrImage() {
  const d = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const p = (y * W + x) * 3;
    d[p] = B(x, y); d[p + 1] = G(x, y); d[p + 2] = R(x, y);
  }
  return Frame.from(d, { width: W, height: H, format: 'bgr24' });
}

function python(script, input) {
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

test('uint8 chw rgb: planes R, G, B, each row-major [H][W]', () => {
  const t = bgrImage().toTensor({ dtype: 'uint8' });
  assert.deepEqual(t.shape, [3, H, W]);
  assert.equal(t.dtype, 'uint8');
  assert.ok(t.data instanceof Uint8Array);
  const want = [];
  for (const ch of [R, G, B]) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) want.push(ch(x, y));
  assert.deepEqual(Array.from(t.data), want);
});

test('uint8 hwc bgr keeps the memory order; hwc rgb swaps per pixel', () => {
  const f = bgrImage();
  const t = f.toTensor({ dtype: 'uint8', layout: 'hwc', channelOrder: 'bgr' });
  assert.deepEqual(t.shape, [H, W, 3]);
  assert.deepEqual(Array.from(t.data), Array.from(f.data));
  const u = f.toTensor({ dtype: 'uint8', layout: 'hwc' });
  const want = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) want.push(R(x, y), G(x, y), B(x, y));
  assert.deepEqual(Array.from(u.data), want);
});

test('float32 normalisation (v * scale - mean[c]) / std[c], per channel in output order', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const t = bgrImage().toTensor({ scale: 1 / 255, mean, std });
  assert.ok(t.data instanceof Float32Array);
  let i = 0;
  for (const [c, ch] of [R, G, B].entries()) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const want = (ch(x, y) / 255 - mean[c]) / std[c];
    assert.ok(Math.abs(t.data[i++] - want) < 1e-5, `c${c} y${y} x${x}`);
  }
});

test('the same frame in chw layout or rgba gives the same tensor', () => {
  const f = bgrImage();
  const ref = f.toTensor({ dtype: 'uint8' });
  assert.deepEqual(Array.from(f.toLayout('chw').toTensor({ dtype: 'uint8' }).data), Array.from(ref.data));
  assert.deepEqual(Array.from(f.to('rgba').toTensor({ dtype: 'uint8' }).data), Array.from(ref.data));
  const g = f.to('gray').toTensor({ dtype: 'uint8' });
  assert.deepEqual(g.shape, [1, H, W]);
});

test('fromTensor inverts toTensor; floats are rounded half away from zero and clamped', () => {
  const f = bgrImage();
  const opts = { scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.4] };
  const back = Frame.fromTensor(f.toTensor(opts), { ...opts, format: 'bgr24' });
  assert.deepEqual(Array.from(back.data), Array.from(f.data));
  const t = { data: new Float32Array([-3, 2.5, 300, 1.49, Number.NaN, 254.5]), shape: [1, 2, 3], dtype: 'float32', layout: 'chw', channelOrder: 'gray' };
  const g = Frame.fromTensor(t);
  assert.equal(g.format, 'gray');
  assert.deepEqual(Array.from(g.data), [0, 3, 255, 1, 0, 255]);
});

test('stackFrames: [N, 3, H, W] in one buffer; frame n at offset n*C*H*W', () => {
  const a = bgrImage();
  const d = new Uint8Array(a.data).map((v) => 255 - v);
  const b = Frame.from(d, { width: W, height: H, format: 'bgr24' });
  const s = stackFrames([a, b, a], { dtype: 'uint8' });
  assert.deepEqual(s.shape, [3, 3, H, W]);
  const per = 3 * H * W;
  assert.deepEqual(Array.from(s.data.subarray(0, per)), Array.from(a.toTensor({ dtype: 'uint8' }).data));
  assert.deepEqual(Array.from(s.data.subarray(per, 2 * per)), Array.from(b.toTensor({ dtype: 'uint8' }).data));
  assert.throws(() => stackFrames([a, a.to('gray')]), RangeError);
});

test('out: toTensor and stackFrames write into the caller\'s array (hand-computed values), and check its type and size', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const f = bgrImage();
  const out = new Float32Array(3 * H * W).fill(-99);
  const t = f.toTensor({ scale: 1 / 255, mean, std, out });
  assert.equal(t.data, out, 'the result is the caller\'s array');
  let i = 0;
  for (const [c, ch] of [R, G, B].entries()) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    assert.ok(Math.abs(out[i++] - (ch(x, y) / 255 - mean[c]) / std[c]) < 1e-5, `c${c} y${y} x${x}`);
  }
  // uint8, hwc, written again into the same array: every element replaced
  const u8 = new Uint8Array(3 * H * W).fill(7);
  f.toTensor({ dtype: 'uint8', layout: 'hwc', out: u8 });
  const want = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) want.push(R(x, y), G(x, y), B(x, y));
  assert.deepEqual(Array.from(u8), want);
  // a batch: frame n at n*C*H*W of the caller's array
  const inv = Frame.from(new Uint8Array(f.data).map((v) => 255 - v), { width: W, height: H, format: 'bgr24' });
  const batch = new Uint8Array(2 * 3 * H * W);
  const s = stackFrames([inv, f], { dtype: 'uint8', out: batch });
  assert.equal(s.data, batch);
  const per = 3 * H * W;
  for (const [c, ch] of [R, G, B].entries()) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const k = c * H * W + y * W + x;
    assert.equal(batch[k], 255 - ch(x, y));
    assert.equal(batch[per + k], ch(x, y));
  }
  assert.throws(() => f.toTensor({ out: new Uint8Array(per) }), (e) => e instanceof TypeError && /Float32Array.*'float32'/.test(e.message));
  assert.throws(() => f.toTensor({ dtype: 'uint8', out: new Float32Array(per) }), (e) => e instanceof TypeError && /Uint8Array/.test(e.message));
  assert.throws(() => f.toTensor({ out: new Float32Array(per + 1) }), (e) => e instanceof RangeError && /19 elements.*18/.test(e.message));
  assert.throws(() => stackFrames([f, f], { dtype: 'uint8', out: new Uint8Array(per) }), (e) => e instanceof RangeError && /this tensor has 36/.test(e.message));
  assert.throws(() => f.toTensor({ out: [1, 2] }), TypeError);
});

test('bad arguments: TypeError/RangeError naming the problem', () => {
  const f = bgrImage();
  assert.throws(() => f.toTensor({ layout: 'nchw' }), /layout/);
  assert.throws(() => f.toTensor({ dtype: 'uint8', scale: 2 }), TypeError);
  assert.throws(() => f.toTensor({ std: [1, 0, 1] }), RangeError);
  assert.throws(() => f.toTensor({ mean: [Number.NaN, 0, 0] }), RangeError);
  assert.throws(() => f.toTensor({ mean: [1, 2] }), TypeError);
  assert.throws(() => f.toTensor({ bogus: 1 }), /bogus/);
  const yuv = Frame.from(new Uint8Array(6), { width: 2, height: 2, format: 'yuv420p' });
  assert.throws(() => yuv.toTensor(), /yuv420p/);
  assert.throws(() => letterbox(f.toLayout('chw'), { width: 4, height: 4 }), TypeError);
});

test('letterbox equals python3-opencv: cv2.resize (INTER_LINEAR) centred on a 114 canvas', () => {
  const w = 37;
  const h = 23;
  const d = new Uint8Array(w * h * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 37 + (i >> 5)) & 255;
  const f = Frame.from(d, { width: w, height: h, format: 'bgr24' });
  for (const [ow, oh] of [[64, 64], [50, 20], [37, 23]]) {
    const lb = letterbox(f, { width: ow, height: oh });
    const script = `
import sys, numpy as np, cv2
w, h, ow, oh = ${w}, ${h}, ${ow}, ${oh}
img = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(h, w, 3)
s = min(ow / w, oh / h)
iw, ih = min(ow, max(1, int(round(w * s)))), min(oh, max(1, int(round(h * s))))
px, py = (ow - iw) // 2, (oh - ih) // 2
out = np.full((oh, ow, 3), 114, np.uint8)
out[py:py + ih, px:px + iw] = cv2.resize(img, (iw, ih), interpolation=cv2.INTER_LINEAR)
sys.stdout.buffer.write(bytes([px, py]) + out.tobytes())`;
    const res = python(script, Buffer.from(d));
    assert.equal(lb.padX, res[0]);
    assert.equal(lb.padY, res[1]);
    assert.ok(Buffer.from(lb.frame.data).equals(res.subarray(2)), `${ow}x${oh}`);
    const [x0, y0] = lb.toOriginal(lb.padX, lb.padY);
    assert.ok(Math.abs(x0) < 1e-9 && Math.abs(y0) < 1e-9);
  }
});

test('the ML path: frames -> NCHW float32 normalised, as numpy computes from the CLI frames', async () => {
  const w = 40;
  const h = 24;
  const clip = makeClip(join(dir, 'ml.mp4'), { size: `${w}x${h}`, frames: 3 });
  const r = await VideoReader.open(clip, { format: 'rgb24' });
  const frames = [];
  for await (const f of r) frames.push(f);
  await r.close();
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const t = stackFrames(frames, { scale: 1 / 255, mean, std });
  // the shape onnxruntime-node's new Tensor('float32', data, [N, 3, H, W]) takes
  assert.deepEqual(t.shape, [3, 3, h, w]);
  assert.equal(t.data.length, 3 * 3 * h * w);
  const raw = join(dir, 'ml.rgb');
  writeFileSync(raw, cliFrames(clip, 'rgb24'));
  const ref = python(`
import numpy as np, sys
a = np.fromfile('${raw}', np.uint8).reshape(3, ${h}, ${w}, 3).astype(np.float32)
m = np.array(${JSON.stringify(mean)}, np.float32); s = np.array(${JSON.stringify(std)}, np.float32)
sys.stdout.buffer.write(((a / 255 - m) / s).transpose(0, 3, 1, 2).astype(np.float32).tobytes())`, Buffer.alloc(0));
  const want = new Float32Array(ref.buffer, ref.byteOffset, ref.byteLength / 4);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - t.data[i]));
  assert.ok(max < 1e-5, `max abs diff ${max}`);
  void readFileSync;
});

test('cv.crop: a view shares memory for whole rows; other views are refused; copies are copies', async () => {
  const { cv } = await import('../dist/index.mjs');
  const f = bgrImage();
  const v = cv.cropSync(f, { x: 0, y: 1, width: W, height: 1, view: true });
  assert.equal(v.data.buffer, f.data.buffer);
  assert.deepEqual(Array.from(v.data), Array.from(f.data.subarray(W * 3, 2 * W * 3)));
  assert.throws(() => cv.cropSync(f, { x: 1, y: 0, width: 2, height: 2, view: true }), RangeError);
  const c = cv.cropSync(f, { x: 1, y: 0, width: 2, height: 2 });
  assert.notEqual(c.data.buffer, f.data.buffer);
  assert.deepEqual(Array.from(c.data), [B(1, 0), G(1, 0), R(1, 0), B(2, 0), G(2, 0), R(2, 0), B(1, 1), G(1, 1), R(1, 1), B(2, 1), G(2, 1), R(2, 1)]);
});
