// toTensor (chw, float32, normalised) on 1080p frames against the plain JS
// loop users write, side by side. `node bench/tensor.mjs [--runs N]`
import { Frame, stackFrames } from '../dist/index.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const W = 1920;
const H = 1080;
const N = 20;
const data = new Uint8Array(W * H * 3);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
const frame = Frame.from(data, { width: W, height: H, format: 'bgr24' });
const mean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];

function jsLoop(src) {  // bgr24 hwc -> rgb chw float32, normalised
  const out = new Float32Array(3 * W * H);
  const plane = W * H;
  for (let p = 0; p < plane; p++) {
    const b = src[p * 3];
    const g = src[p * 3 + 1];
    const r = src[p * 3 + 2];
    out[p] = (r / 255 - mean[0]) / std[0];
    out[plane + p] = (g / 255 - mean[1]) / std[1];
    out[2 * plane + p] = (b / 255 - mean[2]) / std[2];
  }
  return out;
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / N;
}

const reused = new Float32Array(3 * W * H);
const paths = {
  'avcv frame.toTensor': () => frame.toTensor({ scale: 1 / 255, mean, std }),
  'avcv toTensor into a reused out': () => frame.toTensor({ scale: 1 / 255, mean, std, out: reused }),
  'avcv stackFrames (batch of 1)': () => stackFrames([frame], { scale: 1 / 255, mean, std }),
  'plain JS loop': () => jsLoop(data),
};
// check they agree before timing
const a = paths['avcv frame.toTensor']().data;
const b = jsLoop(data);
let max = 0;
for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
if (max > 1e-4) throw new Error(`toTensor and the JS loop disagree: max diff ${max}`);

const results = {};
for (let r = 0; r < runs; r++) {
  const names = Object.keys(paths);
  if (r % 2) names.reverse();
  for (const n of names) (results[n] ??= []).push(time(paths[n]));
}
const med = (xs) => xs.slice().sort((x, y) => x - y)[xs.length >> 1];
const js = med(results['plain JS loop']);
console.log(`toTensor 1920x1080 bgr24 -> rgb chw float32 normalised, ${N} frames x ${runs} runs (median ms/frame)`);
for (const [n, xs] of Object.entries(results)) {
  const m = med(xs);
  console.log(`  ${n.padEnd(32)} ${m.toFixed(2).padStart(7)} ms  ${(1000 / m).toFixed(1).padStart(6)} fps  ${(js / m).toFixed(2)}x the JS loop`);
}
console.log(`BENCH_JSON ${JSON.stringify({ runs, frames: N, msPerFrame: Object.fromEntries(Object.entries(results).map(([n, xs]) => [n, med(xs)])) })}`);
