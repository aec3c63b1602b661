// OpenCV operations on 1080p frames: avcv (Sync, and async with 2 in flight)
// against python3-opencv doing the same calls in-process (the native
// reference: no copies, no bindings overhead beyond numpy views).
// @u4/opencv4nodejs is not installed here (its build takes ~10 minutes).
// `node bench/cv.mjs [--runs N]`
import { spawnSync } from 'node:child_process';
import { cv, Frame } from '../dist/index.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const W = 1920;
const H = 1080;
const N = 20;
const data = new Uint8Array(W * H * 3);
for (let i = 0; i < data.length; i++) data[i] = ((i % (W * 3)) + (Math.floor(i / (W * 3)) * 7) + ((i * 2654435761) >>> 28)) & 255;
const frame = Frame.from(data, { width: W, height: H, format: 'bgr24' });
const gray = cv.cvtColorSync(frame, 'gray');
const mean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];

const dst3 = Frame.from(new Uint8Array(W * H * 3), { width: W, height: H, format: 'bgr24' });
const dstRgb = Frame.from(new Uint8Array(W * H * 3), { width: W, height: H, format: 'rgb24' });
const dstSmall = Frame.from(new Uint8Array(640 * 360 * 3), { width: 640, height: 360, format: 'bgr24' });
const dstGray = Frame.from(new Uint8Array(W * H), { width: W, height: H, format: 'gray' });
const ops = {
  'gaussianBlur 5x5': { sync: () => cv.gaussianBlurSync(frame, { ksize: 5 }), dst: () => cv.gaussianBlurSync(frame, { ksize: 5, dst: dst3 }), async: () => cv.gaussianBlur(frame, { ksize: 5 }), py: 'cv2.GaussianBlur(img, (5, 5), 0)' },
  'resize 640x360': { sync: () => cv.resizeSync(frame, { width: 640, height: 360 }), dst: () => cv.resizeSync(frame, { width: 640, height: 360, dst: dstSmall }), async: () => cv.resize(frame, { width: 640, height: 360 }), py: 'cv2.resize(img, (640, 360), interpolation=cv2.INTER_LINEAR)' },
  'cvtColor BGR->RGB': { sync: () => cv.cvtColorSync(frame, 'rgb24'), dst: () => cv.cvtColorSync(frame, 'rgb24', { dst: dstRgb }), async: () => cv.cvtColor(frame, 'rgb24'), py: 'cv2.cvtColor(img, cv2.COLOR_BGR2RGB)' },
  'canny (gray)': { sync: () => cv.cannySync(gray, { threshold1: 50, threshold2: 150 }), dst: () => cv.cannySync(gray, { threshold1: 50, threshold2: 150, dst: dstGray }), async: () => cv.canny(gray, { threshold1: 50, threshold2: 150 }), py: 'cv2.Canny(g, 50, 150)' },
  'toTensor chw f32 norm': { sync: () => frame.toTensor({ scale: 1 / 255, mean, std }), dst: null, async: null, py: '((cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255 - m) / s).transpose(2, 0, 1).copy()' },
};

function timeSync(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / N;
}
async function timeAsync(fn) {  // two in flight (2 cores), results awaited in order
  const t0 = process.hrtime.bigint();
  const inflight = [];
  for (let i = 0; i < N; i++) {
    inflight.push(fn());
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  return Number(process.hrtime.bigint() - t0) / 1e6 / N;
}

function python() {
  const script = `
import time, json, numpy as np, cv2
W, H, N, runs = ${W}, ${H}, ${N}, ${runs}
i = np.arange(W * H * 3, dtype=np.uint64)
data = (((i % (W * 3)) + ((i // (W * 3)) * 7) + (((i * 2654435761) & 0xffffffff) >> 28)) & 255).astype(np.uint8)
img = data.reshape(H, W, 3); g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
m = np.array(${JSON.stringify(mean)}, np.float32); s = np.array(${JSON.stringify(std)}, np.float32)
ops = ${JSON.stringify(Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, v.py])))}
out = {}
for name, expr in ops.items():
    f = eval('lambda: ' + expr)
    for _ in range(3): f()
    best = []
    for r in range(runs):
        t0 = time.perf_counter()
        for _ in range(N): f()
        best.append((time.perf_counter() - t0) * 1000 / N)
    out[name] = sorted(best)[len(best) // 2]
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const med = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
// warm up: first touches of the destination buffers fault their pages in
for (const op of Object.values(ops)) for (let i = 0; i < 3; i++) { op.sync(); op.dst?.(); }
const results = {};
for (const [name, op] of Object.entries(ops)) {
  const s = [];
  const a = [];
  const d = [];
  for (let r = 0; r < runs; r++) {
    s.push(timeSync(op.sync));
    if (op.dst) d.push(timeSync(op.dst));
    if (op.async) a.push(await timeAsync(op.async));
  }
  results[name] = { sync: med(s), dst: op.dst ? med(d) : null, async: op.async ? med(a) : null };
}
const py = python();
console.log(`OpenCV ops on 1920x1080 bgr24, ${N} calls x ${runs} runs (median ms/call; lower is better)`);
console.log(`  ${'op'.padEnd(24)} ${'avcv Sync'.padStart(10)} ${'Sync + dst'.padStart(11)} ${'async x2'.padStart(9)} ${'cv2 (python)'.padStart(13)}  best avcv vs cv2`);
for (const [name, r] of Object.entries(results)) {
  const p = py?.[name];
  const best = Math.min(r.sync, r.dst ?? Infinity);
  console.log(`  ${name.padEnd(24)} ${r.sync.toFixed(2).padStart(10)} ${(r.dst === null ? '-' : r.dst.toFixed(2)).padStart(11)} ${(r.async === null ? '-' : r.async.toFixed(2)).padStart(9)} ${(p === undefined ? 'n/a' : p.toFixed(2)).padStart(13)}  ${p === undefined ? '' : `${(p / best).toFixed(2)}x`}`);
}
console.log('  @u4/opencv4nodejs: not installed (its native build takes ~10 minutes); not measured');
console.log(`BENCH_JSON ${JSON.stringify({ runs, calls: N, avcv: results, cv2: py })}`);
