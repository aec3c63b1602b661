// OpenCV operations on 1080p frames: avcv (Sync, and async with 2 in flight)
// against python3-opencv doing the same calls in-process (the native
// reference: no copies, no bindings overhead beyond numpy views) and against
// @u4/opencv4nodejs (the dev dependency; `bash scripts/build-opencv4nodejs.sh`
// builds it), both the way its users must go from frame bytes to bytes
// (new Mat(buffer) + op + getData) and the op alone on a ready Mat.
// `node bench/cv.mjs [--runs N]`
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cv, Frame } from '../dist/index.mjs';
import { printTable } from './common.mjs';

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

let ocv = null;
let ocvError = '';
// opencv4nodejs's default Mat allocator reports memory to V8 from OpenCV's
// worker threads (cv::parallel_for_ inside canny/sobel), which aborted this
// bench ("Check failed: marking_done_"); its documented switch turns that off.
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING = '1';
try {
  const log = console.log; // opencv4nodejs logs its set-up on stdout when loaded
  console.log = () => {};
  try { ocv = createRequire(import.meta.url)('@u4/opencv4nodejs'); } finally { console.log = log; }
} catch (e) {
  ocvError = String(e.message).split('\n')[0];
}
// opencv4nodejs: [bytes in -> op -> bytes out, op alone on a ready Mat]
const o4n = {};
if (ocv) {
  const toMat = (f, type) => new ocv.Mat(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), f.height, f.width, type);
  const m = toMat(frame, ocv.CV_8UC3);
  const g = toMat(gray, ocv.CV_8UC1);
  const size5 = new ocv.Size(5, 5);
  const each = {
    'gaussianBlur 5x5': [(x) => x.gaussianBlur(size5, 0), ocv.CV_8UC3, frame, m],
    'resize 640x360': [(x) => x.resize(360, 640), ocv.CV_8UC3, frame, m],
    'cvtColor BGR->RGB': [(x) => x.cvtColor(ocv.COLOR_BGR2RGB), ocv.CV_8UC3, frame, m],
    'canny (gray)': [(x) => x.canny(50, 150), ocv.CV_8UC1, gray, g],
  };
  for (const [name, [op, type, src, ready]] of Object.entries(each)) {
    o4n[name] = { bytes: () => op(toMat(src, type)).getData(), op: () => op(ready) };
  }
}

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
for (const op of Object.values(o4n)) for (let i = 0; i < 3; i++) { op.bytes(); op.op(); }
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
  if (o4n[name]) {
    const b = [];
    const o = [];
    for (let r = 0; r < runs; r++) { b.push(timeSync(o4n[name].bytes)); o.push(timeSync(o4n[name].op)); }
    results[name].o4n = { bytes: med(b), op: med(o) };
  }
}
const py = python();
const fmt = (x) => (x === null || x === undefined ? '-' : x.toFixed(2));
const ratio = (ref, x) => (ref === undefined || ref === null ? '-' : `${(ref / x).toFixed(2)}x`);
console.log(`OpenCV ops on 1920x1080 bgr24, ${N} calls x ${runs} runs (median ms/call; lower is better)`);
console.log('  ratios are the reference time / avcv\'s best time (above 1: avcv is faster)');
printTable(['op', 'avcv Sync', 'Sync + dst', 'async x2', 'cv2 (python)', 'o4n bytes->bytes', 'o4n op only', 'vs cv2', 'vs o4n bytes', 'vs o4n op'],
  Object.entries(results).map(([name, r]) => {
    const best = Math.min(r.sync, r.dst ?? Infinity);
    return [name, fmt(r.sync), fmt(r.dst), fmt(r.async), fmt(py?.[name]), fmt(r.o4n?.bytes), fmt(r.o4n?.op),
      ratio(py?.[name], best), ratio(r.o4n?.bytes, best), ratio(r.o4n?.op, best)];
  }));
if (!ocv) console.log(`  @u4/opencv4nodejs: not loaded (${ocvError}); run bash scripts/build-opencv4nodejs.sh`);
else {
  console.log('  @u4/opencv4nodejs has no one-call tensor path (toTensor: see bench/tensor.mjs for the plain JS loop)');
  console.log('  @u4/opencv4nodejs ran with OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING=1: its default allocator calls V8 from OpenCV worker threads and can abort the process');
}
console.log(`BENCH_JSON ${JSON.stringify({ runs, calls: N, avcv: results, cv2: py })}`);
