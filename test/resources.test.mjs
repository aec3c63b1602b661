// Resources are released when the caller closes, not when the garbage
// collector gets round to it: after VideoWriter.close() the encoder, its
// threads, the muxer and the scaler are gone. Measured in a child process
// (its own heap and threads): 500 open/write/close cycles of libx264 writers
// (default preset: lookahead and frame threads) must leave the thread count
// where it was and the RSS flat, with no gc() in between.
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/index.mjs', import.meta.url));

const CHILD = `
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { VideoWriter } = await import(${JSON.stringify(dist)});
const threads = () => Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const rss = () => process.memoryUsage().rss;
const frame = new Uint8Array(320 * 240 * 3).fill(90);
const cycle = async (i) => {
  const w = await VideoWriter.open(join(tmpdir(), 'avcv-res-' + process.pid + '.mp4'), { width: 320, height: 240, fps: 25, codec: 'libx264' });
  for (let k = 0; k < 3; k++) await w.write(frame);
  await w.close();
  // the writer object is still referenced here: nothing may depend on its collection
  held.push(w);
};
const held = [];
for (let i = 0; i < 20; i++) await cycle(i);  // warm up: libx264, libav and V8 settle
const t0 = threads();
const r0 = rss();
let maxThreads = 0;
for (let i = 0; i < 500; i++) {
  await cycle(i);
  maxThreads = Math.max(maxThreads, threads());
}
console.log(JSON.stringify({ t0, t1: threads(), maxThreads, r0, r1: rss(), held: held.length }));
`;

test('500 closed libx264 writers: threads back to the baseline and RSS flat, without gc()', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(m.held, 520);
  // a closed writer holds no thread: the count never climbs with the cycles
  assert.ok(m.t1 <= m.t0 + 2, `threads ${m.t0} -> ${m.t1} after 500 closed writers`);
  assert.ok(m.maxThreads <= m.t0 + 16, `threads peaked at ${m.maxThreads} (baseline ${m.t0}): closed writers keep theirs`);
  // and no encoder memory: growth well under one 320x240 x264 encoder per cycle
  const grownMb = (m.r1 - m.r0) / 2 ** 20;
  assert.ok(grownMb < 40, `RSS grew ${grownMb.toFixed(1)} MB over 500 closed writers`);
}, 300_000);
