#!/usr/bin/env node
// Fuzzing harness (npm run fuzz; not part of npm test): mutated media through
// every reader entry point, each case in a child process of its own, so a
// crash or a hang is seen as one.
//
//   node scripts/fuzz.mjs [--cases N] [--jobs N] [--seed S] [--timeout MS] [--keep DIR]
//
// Seeds are made at run time with the ffmpeg CLI (13 codecs in 8 containers,
// small and short). Each case is one seed mutated by a seeded PRNG: bytes
// flipped, runs zeroed or overwritten with noise, chunks removed or repeated,
// the file cut short, the header scrambled. The child probes it, reads every
// frame (onCorrupt 'skip', then 'error'), builds the index, reads a few frames
// at random and a thumbnail, and reports what happened. A case is:
//   ok     everything returned (damage counted in stats),
//   typed  an AvcvError, TypeError or RangeError (the contract),
//   untyped any other exception (a bug),
//   crash  the child died (a signal, or an exit without a report),
//   hang   the child outlived --timeout.
// The summary line and the failing cases (seed, mutation, file kept with
// --keep) are printed; the exit code is non-zero when any case is untyped,
// crashed or hung.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as prng } from '../test/helpers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
  process.exit(0);
}

const args = { cases: 2000, jobs: Math.max(1, os.availableParallelism()), seed: 1, timeout: 20_000, keep: null };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i];
  const v = process.argv[++i];
  if (k === '--cases') args.cases = Number(v);
  else if (k === '--jobs') args.jobs = Number(v);
  else if (k === '--seed') args.seed = Number(v);
  else if (k === '--timeout') args.timeout = Number(v);
  else if (k === '--keep') args.keep = v;
  else {
    console.error(`fuzz: unknown argument ${k}`);
    process.exit(2);
  }
}

const SEEDS = [
  ['h264.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '8', '-bf', '2']],
  ['h264.mkv', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '8']],
  ['h264.ts', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '8', '-bf', '2']],
  ['h264-frag.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '8', '-movflags', '+frag_keyframe+empty_moov']],
  ['hevc.mp4', ['-c:v', 'libx265', '-x265-params', 'keyint=8:log-level=error']],
  ['vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '8']],
  ['vp8.webm', ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '8']],
  ['av1.mkv', ['-c:v', 'libaom-av1', '-cpu-used', '8', '-g', '8']],
  ['mjpeg.avi', ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p']],
  ['mpeg2.mpg', ['-c:v', 'mpeg2video', '-bf', '2', '-g', '8']],
  ['mpeg4.avi', ['-c:v', 'mpeg4', '-bf', '2', '-g', '8']],
  ['prores.mov', ['-c:v', 'prores_ks', '-profile:v', '0']],
  ['ffv1.mkv', ['-c:v', 'ffv1']],
  ['flv1.flv', ['-c:v', 'flv1']],
  ['gif.gif', ['-c:v', 'gif']],
  ['png.mov', ['-c:v', 'png']],
  ['h264.h264', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '8', '-f', 'h264']],
];

const MUTATIONS = {
  flip(b, r) { const n = 1 + Math.floor(r() * 32); for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8); return b; },
  zero(b, r) { const at = Math.floor(r() * b.length); b.fill(0, at, Math.min(b.length, at + 1 + Math.floor(r() * 2048))); return b; },
  noise(b, r) { const at = Math.floor(r() * b.length); const n = Math.min(b.length - at, 1 + Math.floor(r() * 4096)); for (let i = 0; i < n; i++) b[at + i] = Math.floor(r() * 256); return b; },
  cut(b, r) { return b.subarray(0, Math.floor(b.length * r())); },
  remove(b, r) { const at = Math.floor(r() * b.length); const n = Math.floor(r() * Math.min(8192, b.length - at)); return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]); },
  repeat(b, r) { const at = Math.floor(r() * b.length); const n = Math.floor(r() * Math.min(8192, b.length - at)); return Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]); },
  header(b, r) { const n = Math.min(b.length, 64 + Math.floor(r() * 512)); for (let i = 0; i < 8; i++) b[Math.floor(r() * n)] = Math.floor(r() * 256); return b; },
  multi(b, r) { let x = b; for (const m of ['flip', 'zero', 'remove']) x = MUTATIONS[m](Buffer.from(x), r); return x; },
};

async function main() {
  const work = mkdtempSync(join(os.tmpdir(), 'avcv-fuzz-'));
  const seedsDir = join(work, 'seeds');
  mkdirSync(seedsDir);
  const seeds = [];
  for (const [name, codec] of SEEDS) {
    const file = join(seedsDir, name);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '21', ...codec, file]);
    if (r.status !== 0) console.error(`fuzz: seed ${name} not made: ${String(r.stderr).trim().split('\n').pop()}`);
    else seeds.push({ name, data: readFileSync(file) });
  }
  if (args.keep) mkdirSync(args.keep, { recursive: true });
  const counts = { cases: 0, ok: 0, typed: 0, untyped: 0, crash: 0, hang: 0 };
  const failures = [];
  const t0 = Date.now();
  let next = 0;
  const runOne = async (i) => {
    const r = prng(args.seed * 1_000_003 + i);
    const seed = seeds[Math.floor(r() * seeds.length)];
    const names = Object.keys(MUTATIONS);
    const m = names[Math.floor(r() * names.length)];
    const data = MUTATIONS[m](Buffer.from(seed.data), r);
    const file = join(work, `case-${i}-${seed.name}`);
    writeFileSync(file, data);
    const res = await runChild(file);
    counts.cases++;
    counts[res.kind]++;
    if (res.kind === 'untyped' || res.kind === 'crash' || res.kind === 'hang') {
      failures.push({ case: i, seed: seed.name, mutation: m, kind: res.kind, detail: res.detail });
      if (args.keep) copyFileSync(file, join(args.keep, `case-${i}-${m}-${seed.name}`));
    }
    rmSync(file, { force: true });
  };
  await Promise.all(Array.from({ length: args.jobs }, async () => {
    while (next < args.cases) await runOne(next++);
  }));
  rmSync(work, { recursive: true, force: true });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  for (const f of failures.slice(0, 50)) console.log(`${f.kind}: case ${f.case} (${f.seed}, ${f.mutation}): ${f.detail}`);
  console.log(`fuzz: ${counts.cases} cases, ${counts.ok} ok, ${counts.typed} typed errors, ${counts.untyped} untyped errors, ` +
    `${counts.crash} crashes, ${counts.hang} hangs in ${secs} s (${seeds.length} seeds, seed ${args.seed}, ${args.jobs} jobs)`);
  process.exit(counts.untyped + counts.crash + counts.hang > 0 ? 1 : 0);
}

function runChild(file) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), args.timeout);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      let report = null;
      try { report = JSON.parse(line); } catch { /* no report */ }
      if (signal === 'SIGKILL' && !report) resolve({ kind: 'hang', detail: `over ${args.timeout} ms` });
      else if (!report) resolve({ kind: 'crash', detail: `exit ${code} ${signal ?? ''} ${err.trim().split('\n').slice(-3).join(' | ')}` });
      else resolve(report);
    });
  });
}

async function child(file) {
  const { VideoReader, probe, AvcvError } = await import(join(ROOT, 'dist', 'index.mjs'));
  const typed = (e) => e instanceof AvcvError || e instanceof TypeError || e instanceof RangeError;
  let kind = 'ok';
  let detail = '';
  const step = async (what, fn) => {
    try {
      await fn();
    } catch (e) {
      if (typed(e)) {
        if (kind === 'ok') kind = 'typed';
      } else {
        kind = 'untyped';
        detail = `${what}: ${e?.stack ?? e}`;
      }
    }
  };
  await step('probe', () => probe(file));
  for (const onCorrupt of ['skip', 'error']) {
    await step(`read (${onCorrupt})`, async () => {
      const r = await VideoReader.open(file, { onCorrupt });
      try {
        for await (const f of r) void f;
      } finally {
        await r.close();
      }
    });
  }
  await step('random access', async () => {
    const r = await VideoReader.open(file, { format: 'gray' });
    try {
      const ix = await r.index();
      const n = ix.frameCount;
      for (const i of [0, n - 1, n >> 1, 1]) if (i >= 0 && i < n) await r.frame(i).catch((e) => { if (!typed(e)) throw e; });
      if (n > 0) await r.thumbnails(2).catch((e) => { if (!typed(e)) throw e; });
    } finally {
      await r.close();
    }
  });
  process.stdout.write(JSON.stringify({ kind, detail }) + '\n');
}

if (process.argv[2] !== '--child') await main();
