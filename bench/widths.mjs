#!/usr/bin/env node
// The cost of writing every byte at any width: decode + convert to bgr24 at
// 1920x1080 (rows of whole 64-byte blocks: converted in place) and at
// 1918x1080 and 854x480 (converted with room, then copied out), each against
// the ffmpeg CLI (`-pix_fmt bgr24 -f null -`) run side by side.
//
//   node bench/widths.mjs [--runs N] [--frames N]
// Set AVCV_ADDON to compare another build of the addon on the same inputs.
import { spawnSync } from 'node:child_process';
import { VideoReader } from '../dist/index.mjs';
import { median, runsAndFrames, testsrcClip } from './common.mjs';

const args = runsAndFrames(process.argv.slice(2), 'node bench/widths.mjs [--runs N] [--frames N]', { runs: 5, frames: 300 });

async function avcv(file) {
  const t0 = process.hrtime.bigint();
  const r = await VideoReader.open(file, { format: 'bgr24', reuseBuffers: true });
  let n = 0;
  for await (const f of r) n += f.data.length > 0 ? 1 : 0;
  await r.close();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, n };
}

function cli(file) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-pix_fmt', 'bgr24', '-f', 'null', '-']);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

console.log(`# widths: ${args.frames} frames, ${args.runs} runs, medians; addon ${process.env.AVCV_ADDON ?? 'build/Release'}`);
console.log('| size | rows in place | CLI s | avcv s | avcv / CLI speed |');
console.log('|---|---|---|---|---|');
for (const [w, h] of [[1920, 1080], [1918, 1080], [854, 480]]) {
  const file = testsrcClip(w, h, args.frames);
  const tc = [];
  const ta = [];
  for (let i = 0; i < args.runs; i++) {
    // alternate which goes first so drift on a shared machine hits both
    if (i % 2) { ta.push((await avcv(file)).s); tc.push(cli(file)); } else { tc.push(cli(file)); ta.push((await avcv(file)).s); }
  }
  const c = median(tc);
  const a = median(ta);
  console.log(`| ${w}x${h} | ${(w * 3) % 64 === 0 ? 'yes' : 'no (copied out)'} | ${c.toFixed(3)} | ${a.toFixed(3)} | ${(c / a).toFixed(3)} |`);
}
