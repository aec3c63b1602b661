#!/usr/bin/env node
// Chunk-parallel transform(): one pass vs `workers: N` on this machine, side
// by side in one script, with the output's exactness checked in the same
// run, and the seeds' Modal pattern done in Node for comparison.
//
//   node bench/chunked.mjs [--seconds 60] [--workers 2] [--fn bilateral|js|both] [--no-modal]
//
// Source: 1920x1080 30 fps H.264 (veryfast, a keyframe every 2 s) + AAC,
// --seconds long, made by the ffmpeg CLI and cached. Outputs: libx264
// -preset veryfast, the audio copied.
//   single    transform(src, out, fn)                    (one decode, fn, encode loop)
//   workers   transform(src, out, 'fn.mjs', { workers })  (chunks at keyframes on threads, stitched)
//   modal     the seeds' pattern: the CLI writes a PNG per frame, a piscina pool of
//             `workers` threads reads each PNG (cv.imread), runs fn, writes a PNG
//             (cv.imwrite), the CLI encodes the PNGs (-an: the audio is lost)
// Frame functions (CPU-heavy on purpose):
//   bilateral cv.bilateralFilterSync(frame, d 9, sigmas 50): OpenCV's own threads help the single pass
//   js        a 3-tap vertical blur of every byte, 4 passes, in plain JS: one thread per call
// CPU busy: this process's CPU time (every thread) over wall time x cores:
// where the single pass is already near 100%, no split can speed it up.
// Exactness, in the same run: the workers output has the single pass's frame
// count and pts (ffprobe), its PSNR against the single pass's decode (the
// CLI's psnr filter), and its audio packets equal to the single pass's.
// Prints a table per fn and one `BENCH_JSON {...}` line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { transform } from '../dist/index.mjs';
import { ffmpegVersion, printTable, readFlags, round, runProcess } from './common.mjs';

const usage = 'node bench/chunked.mjs [--seconds 60] [--workers 2] [--fn bilateral|js|both] [--no-modal]';
const args = { seconds: 60, workers: 2, fn: 'both', modal: true };
readFlags(process.argv.slice(2), usage, (k, value, positiveInt) => {
  if (k === '--seconds') args.seconds = positiveInt(value());
  else if (k === '--workers') args.workers = positiveInt(value());
  else if (k === '--fn') args.fn = value();
  else if (k === '--no-modal') args.modal = false;
  else return false;
  return true;
});
if (!['bilateral', 'js', 'both'].includes(args.fn)) throw new Error(`--fn: bilateral, js or both; got ${args.fn}`);

const dist = pathToFileURL(resolve(fileURLToPath(new URL('../dist/index.mjs', import.meta.url)))).href;
const cache = join(os.tmpdir(), 'avcv-bench-media');
mkdirSync(cache, { recursive: true });
const src = join(cache, `chunked-1080p-${args.seconds}s.mp4`);
if (!existsSync(src)) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(args.seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', `${src}.tmp.mp4`]);
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  spawnSync('mv', [`${src}.tmp.mp4`, src]);
}
const scratch = mkdtempSync(join(os.tmpdir(), 'avcv-bench-chunked-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const FNS = {
  bilateral: `import { cv } from ${JSON.stringify(dist)};
export default (frame) => cv.bilateralFilterSync(frame, { d: 9, sigmaColor: 50, sigmaSpace: 50 });\n`,
  js: `export default (frame) => {
  const d = frame.data, row = frame.width * 3;
  for (let pass = 0; pass < 4; pass++) for (let i = row; i < d.length - row; i++) d[i] = (d[i - row] + 2 * d[i] + d[i + row]) >> 2;
  return frame;
};\n`,
};

const ffprobe = (file, entries) => JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-of', 'json', ...entries, file], { maxBuffer: 1 << 28 }).stdout);
const framePts = (f) => ffprobe(f, ['-select_streams', 'v:0', '-show_entries', 'frame=pts']).frames.map((x) => x.pts);
const audioPackets = (f) => spawnSync('ffmpeg', ['-v', 'error', '-i', f, '-map', '0:a:0', '-c', 'copy', '-f', 'framemd5', '-'], { maxBuffer: 1 << 28 }).stdout.toString().split('\n').filter((l) => l && !l.startsWith('#'));
function psnrOf(a, b) {
  const r = spawnSync('ffmpeg', ['-v', 'info', '-i', a, '-i', b, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const m = /average:([\d.]+|inf)/.exec(r.stderr);
  return m ? (m[1] === 'inf' ? Infinity : Number(m[1])) : NaN;
}

async function modal(fnFile, out) {
  const t0 = performance.now();
  const dir = join(scratch, `png-${Date.now()}`);
  const done = join(dir, 'out');
  mkdirSync(done, { recursive: true });
  await runProcess('ffmpeg', ['-v', 'error', '-i', src, '-f', 'image2', join(dir, '%06d.png')]);
  const worker = join(scratch, 'modal-worker.mjs');
  writeFileSync(worker, `import { cv } from ${JSON.stringify(dist)};
import fn from ${JSON.stringify(pathToFileURL(fnFile).href)};
export default async ({ from, to }) => { cv.imwriteSync(to, await fn(cv.imreadSync(from))); };\n`);
  const pool = new Piscina({ filename: worker, maxThreads: args.workers, minThreads: args.workers });
  const files = readdirSync(dir).filter((f) => f.endsWith('.png'));
  await Promise.all(files.map((f) => pool.run({ from: join(dir, f), to: join(done, f) })));
  await pool.destroy();
  await runProcess('ffmpeg', ['-v', 'error', '-y', '-framerate', '30', '-i', join(done, '%06d.png'), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', out]);
  rmSync(dir, { recursive: true, force: true });
  return (performance.now() - t0) / 1000;
}

console.log(`chunked transform: ${args.seconds} s of 1080p30 + AAC, ${args.workers} workers, libx264 veryfast; ${os.cpus().length} cores, ffmpeg ${ffmpegVersion()}`);
const json = { seconds: args.seconds, workers: args.workers, cores: os.cpus().length, fns: {} };
for (const name of args.fn === 'both' ? ['bilateral', 'js'] : [args.fn]) {
  const fnFile = join(scratch, `${name}.mjs`);
  writeFileSync(fnFile, FNS[name]);
  const fn = (await import(pathToFileURL(fnFile).href)).default;
  const single = join(scratch, `${name}-single.mp4`);
  const chunked = join(scratch, `${name}-workers.mp4`);
  // CPU time of this process (its threads: decoding, fn, encoding, the workers) over wall time and cores
  const busy = async (run) => {
    const c0 = process.cpuUsage();
    const r = await run();
    const c = process.cpuUsage(c0);
    return { r, cpu: (c.user + c.system) / 1e6 / r.wallTime / os.availableParallelism() };
  };
  const { r: a, cpu: ca } = await busy(() => transform(src, single, fn, { preset: 'veryfast' }));
  const { r: b, cpu: cb } = await busy(() => transform(src, chunked, fnFile, { preset: 'veryfast', workers: args.workers }));
  const rows = [
    ['single pass', round(a.wallTime, 1), round(a.framesOut / a.wallTime, 1), '1.00', `${Math.round(ca * 100)}%`, a.audio],
    [`workers: ${args.workers} (${b.chunks} chunks)`, round(b.wallTime, 1), round(b.framesOut / b.wallTime, 1), round(a.wallTime / b.wallTime, 2).toFixed(2), `${Math.round(cb * 100)}%`, b.audio],
  ];
  let m = null;
  if (args.modal) {
    const mo = join(scratch, `${name}-modal.mp4`);
    m = await modal(fnFile, mo);
    rows.push([`modal pattern (${args.workers} threads)`, round(m, 1), round(a.framesOut / m, 1), round(a.wallTime / m, 2).toFixed(2), '', 'lost']);
  }
  console.log(`\nfn: ${name}`);
  printTable(['path', 'wall s', 'fps', 'speed-up', 'CPU busy', 'audio'], rows);
  const pa = framePts(single);
  const pb = framePts(chunked);
  const samePts = pa.length === pb.length && pa.every((p, i) => p === pb[i]);
  const psnr = psnrOf(chunked, single);
  const sameAudio = JSON.stringify(audioPackets(chunked)) === JSON.stringify(audioPackets(single));
  if (b.timings) console.log(`  workers run: plan ${round(b.timings.plan, 2)} s, chunks ${round(b.timings.chunks, 2)} s (${b.chunks} chunks), stitch ${round(b.timings.stitch, 2)} s`);
  console.log(`  exactness: ${pb.length}/${pa.length} frames, pts ${samePts ? 'identical' : 'DIFFER'}, PSNR vs the single pass ${round(psnr, 2)} dB, audio packets ${sameAudio ? 'identical' : 'DIFFER'}`);
  json.fns[name] = { cpuSingle: round(ca, 2), cpuWorkers: round(cb, 2), single: round(a.wallTime, 2), workers: round(b.wallTime, 2), speedup: round(a.wallTime / b.wallTime, 3), modal: m === null ? null : round(m, 2), chunks: b.chunks, timings: b.timings, samePts, psnr: round(psnr, 2), sameAudio };
}
console.log(`BENCH_JSON ${JSON.stringify(json)}`);
