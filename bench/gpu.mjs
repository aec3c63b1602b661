// GPU benchmark (needs an NVIDIA GPU; `npm run bench:gpu`): NVDEC against the
// CPU decoder and the ffmpeg CLI with -hwaccel cuda, and NVENC against
// libx264, side by side in one run.
//   decode: 4K HEVC (made with hevc_nvenc) -> 640x360 rgb24, the read the
//           issue names: little data should cross PCIe
//   encode: 300 1080p bgr24 frames -> h264 (h264_nvenc p4 vs libx264 veryfast)
// `node bench/gpu.mjs [--runs N] [--frames N]`
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { VideoReader, VideoWriter, capabilities } from '../dist/index.mjs';
import { median, printTable, readFlags, round } from './common.mjs';

let runs = 3;
let frames = 240;
readFlags(process.argv.slice(2), 'node bench/gpu.mjs [--runs N] [--frames N]', (k, value, positiveInt) => {
  if (k === '--runs') runs = positiveInt(value());
  else if (k === '--frames') frames = positiveInt(value());
  else return false;
  return true;
});

const caps = capabilities();
if (!caps.cuda.available) {
  console.error(`bench/gpu.mjs needs a CUDA GPU: ${caps.cuda.reason}`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'avcv-gpubench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ff = (args) => {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
};
const clip = join(dir, '4k-hevc.mp4');
ff(['-f', 'lavfi', '-i', 'testsrc2=size=3840x2160:rate=30', '-frames:v', String(frames), '-c:v', 'hevc_nvenc', '-preset', 'p4', '-b:v', '40M', clip]);

async function decode(device) {
  const t0 = performance.now();
  const r = await VideoReader.open(clip, { device, format: 'rgb24', resize: { width: 640, height: 360 }, reuseBuffers: true });
  let n = 0;
  for await (const f of r) { void f; n++; }
  await r.close();
  if (n !== frames) throw new Error(`decoded ${n} of ${frames}`);
  return (performance.now() - t0) / 1000;
}
function cli(hw) {
  const t0 = performance.now();
  ff([...(hw ? ['-hwaccel', 'cuda'] : []), '-i', clip, '-vf', 'scale=640:360', '-pix_fmt', 'rgb24', '-f', 'null', '-']);
  return (performance.now() - t0) / 1000;
}

const W = 1920;
const H = 1080;
const encFrames = 300;
const pattern = new Uint8Array(W * H * 3);
for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 31 + (i >> 11)) & 255;
async function encode(device) {
  const out = join(dir, `enc-${device}.mp4`);
  const t0 = performance.now();
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 30, codec: 'h264', device, preset: device === 'cuda' ? 'p4' : 'veryfast' });
  for (let i = 0; i < encFrames; i++) {
    pattern[i] = i & 255;
    await w.write(pattern);
  }
  await w.close();
  return (performance.now() - t0) / 1000;
}

const res = { gpuRead: [], cpuRead: [], cliHw: [], cliSw: [], nvenc: [], x264: [] };
for (let r = 0; r < runs; r++) {
  res.gpuRead.push(await decode('cuda'));
  res.cpuRead.push(await decode('cpu'));
  res.cliHw.push(cli(true));
  res.cliSw.push(cli(false));
  res.nvenc.push(await encode('cuda'));
  res.x264.push(await encode('cpu'));
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
console.log(`GPU: ${caps.cuda.names.join(', ')}; ${runs} runs, medians`);
console.log(`decode ${frames} frames of 4K HEVC -> 640x360 rgb24`);
printTable(['path', 's', 'fps', 'vs CPU reader'], [
  ['avcv device cuda', round(m.gpuRead, 3), round(frames / m.gpuRead, 1), `${round(m.cpuRead / m.gpuRead, 2)}x`],
  ['avcv device cpu', round(m.cpuRead, 3), round(frames / m.cpuRead, 1), '1x'],
  ['ffmpeg -hwaccel cuda', round(m.cliHw, 3), round(frames / m.cliHw, 1), `${round(m.cpuRead / m.cliHw, 2)}x`],
  ['ffmpeg (CPU)', round(m.cliSw, 3), round(frames / m.cliSw, 1), `${round(m.cpuRead / m.cliSw, 2)}x`],
]);
console.log(`encode ${encFrames} 1080p bgr24 frames -> h264`);
printTable(['path', 's', 'fps', 'vs libx264'], [
  ['h264_nvenc p4', round(m.nvenc, 3), round(encFrames / m.nvenc, 1), `${round(m.x264 / m.nvenc, 2)}x`],
  ['libx264 veryfast', round(m.x264, 3), round(encFrames / m.x264, 1), '1x'],
]);
console.log(`BENCH_JSON ${JSON.stringify({ runs, frames, encFrames, gpu: caps.cuda.names, ...m })}`);
