// GPU benchmark (needs an NVIDIA GPU; `npm run bench:gpu`): NVDEC against the
// CPU decoder and the ffmpeg CLI with -hwaccel cuda, NVENC against libx264,
// and GPU passthrough transcoding against the CLI, side by side in one run.
//   decode: 1080p H.264 and 4K HEVC (made with NVENC) -> rgb24 at full size
//           and at 640x360; the CLI keeps frames on the GPU
//           (-hwaccel_output_format cuda, scale_cuda, one hwdownload)
//   encode: 300 1080p bgr24 frames -> h264 (h264_nvenc p4 vs libx264 veryfast)
//   transcode: transform(in, out, null, {device: 'cuda'}) (NVDEC -> scale_cuda
//           -> NVENC) against the same CLI pipeline
//   ladder: ladder(1080p, {device: 'cuda'}) to 1080/720/480/360 (NVDEC once,
//           scale_cuda, NVENC p4 at fixed bit rates, 2 s fMP4 segments)
//           against (a) four CLI runs, one per rendition, each decoding on
//           NVDEC, and (b) one CLI run with split + scale_cuda +
//           var_stream_map (issue 15's targets: <= 0.6x of (a), <= 1.0x of (b))
// `node bench/gpu.mjs [--runs N] [--frames N]`
import { join } from 'node:path';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { VideoReader, VideoWriter, capabilities, ladder, transform } from '../dist/index.mjs';
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
// GPUs without NVENC (H100, A100): the sources come from x264/x265, and
// what needs NVENC (transcode, encode, ladder) is reported as not measured
const nvenc = caps.nvencUsable.includes('h264_nvenc') && caps.nvencUsable.includes('hevc_nvenc');
if (!nvenc) console.log(`no NVENC on this GPU (${caps.nvencReason}): decode only`);
const clips = {
  '1080p h264': { file: join(dir, '1080p-h264.mp4'), size: '1920x1080', enc: nvenc ? ['h264_nvenc', '-preset', 'p4'] : ['libx264', '-preset', 'veryfast'], br: '12M' },
  '4K hevc': { file: join(dir, '4k-hevc.mp4'), size: '3840x2160', enc: nvenc ? ['hevc_nvenc', '-preset', 'p4'] : ['libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'], br: '40M' },
};
for (const c of Object.values(clips)) {
  ff(['-f', 'lavfi', '-i', `testsrc2=size=${c.size}:rate=30`, '-frames:v', String(frames), '-pix_fmt', 'yuv420p', '-c:v', ...c.enc, '-b:v', c.br, c.file]);
}

async function decode(clip, device, size) {
  const t0 = performance.now();
  const r = await VideoReader.open(clip, { device, format: 'rgb24', ...(size ? { resize: size } : {}), reuseBuffers: true });
  let n = 0;
  for await (const f of r) { void f; n++; }
  await r.close();
  if (n !== frames) throw new Error(`decoded ${n} of ${frames}`);
  return (performance.now() - t0) / 1000;
}
function cli(clip, hw, size) {
  const t0 = performance.now();
  const vf = hw ? `${size ? `scale_cuda=${size.width}:${size.height},` : ''}hwdownload,format=nv12`
    : size ? `scale=${size.width}:${size.height}` : 'null';
  ff([...(hw ? ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'] : []), '-i', clip, '-vf', vf, '-pix_fmt', 'rgb24', '-f', 'null', '-']);
  return (performance.now() - t0) / 1000;
}
async function transcode(clip, size) {
  const out = join(dir, 'tc-avcv.mp4');
  const t0 = performance.now();
  const s = await transform(clip, out, null, { device: 'cuda', codec: 'h264', preset: 'p4', gpuPassthrough: true, ...(size ? { resize: size } : {}) });
  if (s.path !== 'gpu-passthrough' || s.framesOut !== frames) throw new Error(`transcode: ${JSON.stringify(s)}`);
  return (performance.now() - t0) / 1000;
}
function cliTranscode(clip, size) {
  const t0 = performance.now();
  ff(['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-i', clip, ...(size ? ['-vf', `scale_cuda=${size.width}:${size.height}`] : []),
    '-c:v', 'h264_nvenc', '-preset', 'p4', join(dir, 'tc-cli.mp4')]);
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

const small = { width: 640, height: 360 };
const cases = [];
for (const name of Object.keys(clips)) for (const size of [null, small]) cases.push({ name, size });
const res = { nvenc: [], x264: [] };
const key = (c, what) => `${c.name} ${c.size ? '640x360' : 'full'} ${what}`;
for (let r = 0; r < runs; r++) {
  for (const c of cases) {
    const f = clips[c.name].file;
    for (const [what, fn] of [['gpu', () => decode(f, 'cuda', c.size)], ['cpu', () => decode(f, 'cpu', c.size)],
      ['cliHw', () => cli(f, true, c.size)], ['cliSw', () => cli(f, false, c.size)],
      ...(nvenc ? [['tc', () => transcode(f, c.size)], ['tcCli', () => cliTranscode(f, c.size)]] : [])]) {
      (res[key(c, what)] ??= []).push(await fn());
    }
  }
  if (nvenc) {
    res.nvenc.push(await encode('cuda'));
    res.x264.push(await encode('cpu'));
  }
}
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
const fps = (s) => round(frames / s, 1);
console.log(`GPU: ${caps.cuda.names.join(', ')}; ${runs} runs of ${frames} frames, medians`);
console.log('decode -> rgb24 (fps; ratios of fps: avcv cuda / CLI hwaccel (target >= 0.9), avcv cuda / avcv cpu (target >= 3 for 4K HEVC))');
printTable(['clip', 'out', 'avcv cuda', 'avcv cpu', 'CLI hwaccel', 'CLI cpu', 'cuda/CLI hw', 'cuda/cpu'], cases.map((c) => [
  c.name, c.size ? '640x360' : 'full', fps(m[key(c, 'gpu')]), fps(m[key(c, 'cpu')]), fps(m[key(c, 'cliHw')]), fps(m[key(c, 'cliSw')]),
  `${round(m[key(c, 'cliHw')] / m[key(c, 'gpu')], 2)}x`, `${round(m[key(c, 'cpu')] / m[key(c, 'gpu')], 2)}x`,
]));
if (nvenc) {
console.log('transcode -> h264_nvenc p4 (fps): GPU passthrough against the CLI on CUDA frames');
printTable(['clip', 'out', 'avcv passthrough', 'CLI', 'avcv/CLI'], cases.map((c) => [
  c.name, c.size ? '640x360' : 'full', fps(m[key(c, 'tc')]), fps(m[key(c, 'tcCli')]), `${round(m[key(c, 'tcCli')] / m[key(c, 'tc')], 2)}x`,
]));
console.log(`encode ${encFrames} 1080p bgr24 frames -> h264`);
printTable(['path', 's', 'fps', 'vs libx264'], [
  ['h264_nvenc p4', round(m.nvenc, 3), round(encFrames / m.nvenc, 1), `${round(m.x264 / m.nvenc, 2)}x`],
  ['libx264 veryfast', round(m.x264, 3), round(encFrames / m.x264, 1), '1x'],
]);
}

// the NVENC ladder, last: what fails here leaves the tables above printed
const RUNGS = [[1920, 1080, '6M'], [1280, 720, '3M'], [854, 480, '1400k'], [640, 360, '800k']];
const SEG = 2;
const lsrc = clips['1080p h264'].file;
const nvencArgs = (i, br) => [`-c:v:${i}`, 'h264_nvenc', `-preset:v:${i}`, 'p4', `-b:v:${i}`, br, `-maxrate:v:${i}`, br, `-bufsize:v:${i}`, br];
const hlsArgs = ['-g', String(30 * SEG), '-forced-idr', '1', '-force_key_frames', `expr:gte(t,n_forced*${SEG})`,
  '-f', 'hls', '-hls_time', String(SEG), '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4'];
let lrun = 0;
async function ladderAvcv() {
  const out = join(dir, `ladder-avcv-${lrun++}`);
  const t0 = performance.now();
  const r = await ladder(lsrc, out, {
    device: 'cuda', preset: 'p4', segmentDuration: SEG, audio: false,
    renditions: RUNGS.map(([width, height, br]) => ({ width, height, bitrate: parseInt(br, 10) * (br.endsWith('M') ? 1e6 : 1e3) })),
  });
  const s = (performance.now() - t0) / 1000;
  if (r.framesIn !== frames || r.renditions.some((x) => x.encoder !== 'h264_nvenc') || r.device.type !== 'cuda') {
    throw new Error(`ladder: ${JSON.stringify({ framesIn: r.framesIn, device: r.device, encoders: r.renditions.map((x) => x.encoder) })}`);
  }
  rmSync(out, { recursive: true, force: true });
  return s;
}
function ladderCliEach() {
  const out = join(dir, `ladder-each-${lrun++}`);
  const t0 = performance.now();
  RUNGS.forEach(([w, h, br], i) => {
    mkdirSync(join(out, String(i)), { recursive: true });
    ff(['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-i', lsrc, '-vf', `scale_cuda=${w}:${h}`, ...nvencArgs(0, br), ...hlsArgs,
      '-hls_fmp4_init_filename', 'init.mp4', join(out, String(i), 'index.m3u8')]);
  });
  const s = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return s;
}
function ladderCliSplit() {
  const out = join(dir, `ladder-split-${lrun++}`);
  mkdirSync(out, { recursive: true });
  const graph = `[0:v]split=${RUNGS.length}${RUNGS.map((_, i) => `[s${i}]`).join('')};` +
    RUNGS.map(([w, h], i) => `[s${i}]scale_cuda=${w}:${h}[o${i}]`).join(';');
  const t0 = performance.now();
  ff(['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-i', lsrc, '-filter_complex', graph,
    ...RUNGS.flatMap((_, i) => ['-map', `[o${i}]`]), ...RUNGS.flatMap(([, , br], i) => nvencArgs(i, br)), ...hlsArgs,
    '-var_stream_map', RUNGS.map((_, i) => `v:${i}`).join(' '), '-master_pl_name', 'master.m3u8',
    '-hls_segment_filename', join(out, '%v', 'seg%d.m4s'), join(out, '%v', 'index.m3u8')]);
  const s = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  return s;
}
const lres = { avcv: [], each: [], split: [] };
if (!nvenc) console.log('transcode, encode and the NVENC ladder: not measured (no NVENC)');
else try {
  for (let r = 0; r < runs; r++) {
    lres.avcv.push(await ladderAvcv());
    lres.each.push(ladderCliEach());
    lres.split.push(ladderCliSplit());
  }
  const lm = Object.fromEntries(Object.entries(lres).map(([k, v]) => [k, median(v)]));
  console.log(`ladder on NVENC: ${frames} 1080p frames -> ${RUNGS.map((x) => `${x[1]}p`).join('/')} h264_nvenc p4, ${SEG} s fMP4 segments, no audio`);
  printTable(['path', 's', 'avcv / this'], [
    ['avcv ladder (cuda)', round(lm.avcv, 3), '1x'],
    ['(a) CLI, one run per rendition', round(lm.each, 3), `${round(lm.avcv / lm.each, 2)}x (target <= 0.6)`],
    ['(b) CLI split + var_stream_map', round(lm.split, 3), `${round(lm.avcv / lm.split, 2)}x (target <= 1.0)`],
  ]);
  Object.assign(m, { ladderAvcv: lm.avcv, ladderCliEach: lm.each, ladderCliSplit: lm.split });
} catch (e) {
  console.log(`ladder on NVENC failed: ${e.stack ?? e}`);
  process.exitCode = 1;
}
console.log(`BENCH_JSON ${JSON.stringify({ runs, frames, encFrames, gpu: caps.cuda.names, ...m })}`);
