#!/usr/bin/env node
// The reader's `filter` option against the ffmpeg CLI doing the same -vf to
// bgr24 (`-vf G -pix_fmt bgr24 -f null -`), side by side on a 1080p H.264
// clip: yadif, and fps=15,scale=1280:-2. Both decode, filter and convert the
// same way (libavfilter's threads, the same swscale path); avcv also writes
// every frame into JS memory.
//
//   node bench/filter.mjs [--runs N] [--frames N]
import { spawnSync } from 'node:child_process';
import { VideoReader } from '../dist/index.mjs';
import { median, runsAndFrames, testsrcClip } from './common.mjs';

const args = runsAndFrames(process.argv.slice(2), 'node bench/filter.mjs [--runs N] [--frames N]', { runs: 3, frames: 300 });

async function avcv(file, filter, reuseBuffers) {
  const t0 = process.hrtime.bigint();
  const r = await VideoReader.open(file, { filter, reuseBuffers });
  let n = 0;
  for await (const f of r) n += f.data.length > 0 ? 1 : 0;
  await r.close();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, n };
}

function cli(file, filter) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', filter, '-fps_mode', 'passthrough', '-pix_fmt', 'bgr24', '-f', 'null', '-']);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const file = testsrcClip(1920, 1080, args.frames);
console.log(`# filter: 1920x1080 H.264, ${args.frames} frames, ${args.runs} runs, medians`);
console.log('| graph | frames out | CLI s | avcv s (fresh buffers) | avcv s (reuseBuffers) | speed vs CLI (fresh / reuse) |');
console.log('|---|---|---|---|---|---|');
for (const graph of ['yadif', 'fps=15,scale=1280:-2']) {
  const tc = [];
  const ta = [];
  const tr = [];
  let frames = 0;
  for (let i = 0; i < args.runs; i++) {
    // alternate the order so drift on a shared machine hits every path
    if (i % 2) {
      const a = await avcv(file, graph, false);
      ta.push(a.s);
      frames = a.n;
      tr.push((await avcv(file, graph, true)).s);
      tc.push(cli(file, graph));
    } else {
      tc.push(cli(file, graph));
      tr.push((await avcv(file, graph, true)).s);
      const a = await avcv(file, graph, false);
      ta.push(a.s);
      frames = a.n;
    }
  }
  const c = median(tc);
  const a = median(ta);
  const r = median(tr);
  console.log(`| ${graph} | ${frames} | ${c.toFixed(3)} | ${a.toFixed(3)} | ${r.toFixed(3)} | ${(c / a).toFixed(3)} / ${(c / r).toFixed(3)} |`);
}
