#!/usr/bin/env node
// The cost of layout 'chw' over 'hwc' (chw is the hwc conversion split into
// planes, so that it is exactly the transpose): 1080p H.264 decoded to rgb24
// both ways, alternating, medians of whole runs; per-frame difference in ms.
//
//   node bench/layout.mjs [--runs N] [--frames N]
import { VideoReader } from '../dist/index.mjs';
import { median, runsAndFrames, testsrcClip } from './common.mjs';

const args = runsAndFrames(process.argv.slice(2), 'node bench/layout.mjs [--runs N] [--frames N]', { runs: 5, frames: 200 });
const file = testsrcClip(1920, 1080, args.frames);

async function run(layout) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = await VideoReader.open(file, { format: 'rgb24', layout, reuseBuffers: true, threads: 0 });
  let n = 0;
  for await (const f of r) n += f.data.length > 0 ? 1 : 0;
  await r.close();
  const cpu = process.cpuUsage(c0);
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (cpu.user + cpu.system) / 1e6, n };
}

const res = { hwc: [], chw: [] };
for (let i = 0; i < args.runs; i++) {
  for (const l of i % 2 ? ['chw', 'hwc'] : ['hwc', 'chw']) res[l].push(await run(l));
}
const wall = (l) => median(res[l].map((r) => r.s));
const cpu = (l) => median(res[l].map((r) => r.cpu));
const perFrame = (a, b) => (((a - b) / args.frames) * 1000).toFixed(2);
console.log(`# layout: 1920x1080 rgb24, ${args.frames} frames, ${args.runs} runs, medians`);
console.log(`wall: hwc ${wall('hwc').toFixed(3)} s, chw ${wall('chw').toFixed(3)} s: chw costs ${perFrame(wall('chw'), wall('hwc'))} ms per frame over hwc`);
console.log(`cpu:  hwc ${cpu('hwc').toFixed(3)} s, chw ${cpu('chw').toFixed(3)} s: chw costs ${perFrame(cpu('chw'), cpu('hwc'))} ms of CPU per frame over hwc`);
