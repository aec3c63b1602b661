// The frame pool: a for-await loop that does not keep its frames decodes into
// memory the collector gave back, not into fresh memory per frame; a frame
// (or any view of its memory) that is kept never changes. Every frame is
// checked against the CLI's decode. release() moves pooled memory back to
// the reader at once. The pool is for the main thread only: a worker thread
// takes nothing from it, and the frames it reads and posts are right.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker, isMainThread } from 'node:worker_threads';
import { VideoReader } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames } from './helpers.mjs';

// every frame size from the pool in this process (by default only frames of 32 MiB and more:
// the last test checks that default in a process of its own)
process.env.AVCV_FRAME_POOL = '1';
const require = createRequire(import.meta.url);
const { native } = require('../dist/native.js');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

// the Electron-style build (NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED, run by .ci/run) has no pool
const pooled = native().versions().externalBuffers === true;
const T = 120_000;
const dir = tempDir('avcv-pool-');
const W = 320;
const H = 240;
const N = 150;
const FB = W * H * 3;
let clip;
let ref;

beforeAll(() => {
  clip = makeClip(join(dir, 'clip.mp4'), { size: `${W}x${H}`, rate: 25, frames: N, extra: ['-bf', '2'] });
  ref = cliFrames(clip, 'bgr24');
  assert.equal(ref.length, N * FB);
});

const cli = (i) => ref.subarray(i * FB, (i + 1) * FB);
// a full collection, then the turn of the event loop in which Node runs the finalizers it queued
const collect = async () => {
  gc();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
};

test(`a loop that keeps no frame decodes into ${pooled ? 'pooled memory' : 'memory of its own (no external buffers in this build)'}; kept frames and kept views of frame memory never change`, async () => {
  assert.ok(isMainThread);
  await collect();
  const s0 = native().framePoolStats();
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const keptFrames = [];
  const keptViews = [];
  let n = 0;
  for await (const f of r) {
    assert.ok(Buffer.from(f.data).equals(cli(f.index)), `frame ${f.index} as read`);
    if (f.index % 10 === 0) keptFrames.push(f);
    // the frame goes, a view of its ArrayBuffer stays (the memory must not be lent again)
    if (f.index % 10 === 5) keptViews.push({ index: f.index, view: new Uint8Array(f.data.buffer, f.data.byteOffset, FB) });
    if (++n % 4 === 0) await collect();
  }
  assert.equal(n, N);
  await r.close();
  await collect();
  const s1 = native().framePoolStats();
  // fresh blocks: the 30 kept, the reader's prefetch (3) + the one being read, the 4 between
  // collections, 2 to spare; every other frame reused a block the collector gave back
  const allocated = s1.allocated - s0.allocated;
  const reused = s1.reused - s0.reused;
  if (!pooled) assert.equal(allocated + reused, 0);
  else assert.ok(allocated <= keptFrames.length + keptViews.length + 3 + 1 + 4 + 2, `fresh blocks ${allocated} for ${N} frames`);
  if (pooled) assert.ok(allocated + reused >= N, `${allocated} + ${reused} blocks for ${N} frames`);
  for (const f of keptFrames) assert.ok(Buffer.from(f.data).equals(cli(f.index)), `kept frame ${f.index} changed`);
  for (const { index, view } of keptViews) assert.ok(Buffer.from(view).equals(cli(index)), `kept view of frame ${index} changed`);
  // another reader, while the kept frames still live: none of their memory is lent to it
  const r2 = await VideoReader.open(clip, { format: 'bgr24' });
  for await (const f of r2) {
    assert.ok(Buffer.from(f.data).equals(cli(f.index)), `second reader, frame ${f.index}`);
    await collect();
  }
  await r2.close();
  for (const f of keptFrames) assert.ok(Buffer.from(f.data).equals(cli(f.index)), `kept frame ${f.index} changed during the second read`);
  for (const { index, view } of keptViews) assert.ok(Buffer.from(view).equals(cli(index)), `kept view of frame ${index} changed during the second read`);
}, T);

test(`release() with ${pooled ? 'pooled' : 'V8'} memory: the reader decodes into the released frames and allocates no more`, async () => {
  await collect();
  const s0 = native().framePoolStats();
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  for await (const f of r) {
    assert.ok(Buffer.from(f.data).equals(cli(f.index)), `frame ${f.index}`);
    f.release();
  }
  await r.close();
  const allocated = native().framePoolStats().allocated - s0.allocated;
  const taken = (native().framePoolStats().reused - s0.reused) + allocated;
  // prefetch (3) + the one being read, the rest from the released frames
  assert.ok(r.stats.buffersAllocated <= 3 + 2, `buffers allocated: ${r.stats.buffersAllocated}`);
  assert.equal(taken, pooled ? r.stats.buffersAllocated : 0);
}, T);

test('a worker thread reads into memory of its own: a frame it transferred to the main thread is intact after it ended', async () => {
  await collect();
  const s0 = native().framePoolStats();
  const url = new URL('../dist/index.mjs', import.meta.url).href;
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { VideoReader } = await import(workerData.url);
      const r = await VideoReader.open(workerData.clip, { format: 'bgr24' });
      for await (const f of r) {
        if (f.index === 7) parentPort.postMessage({ index: f.index, buffer: f.data.buffer }, [f.data.buffer]);
        if (f.index === 20) break;
      }
      await r.close();
    })();
  `, { eval: true, workerData: { url, clip } });
  const got = [];
  w.on('message', (m) => got.push(m));
  const code = await new Promise((res, rej) => {
    w.on('exit', res);
    w.on('error', rej);
  });
  assert.equal(code, 0);
  assert.equal(got.length, 1);
  const s1 = native().framePoolStats();
  assert.equal(s1.allocated - s0.allocated + s1.reused - s0.reused, 0, 'the worker took nothing from the pool');
  const frame7 = new Uint8Array(got[0].buffer, 0, FB);
  assert.ok(Buffer.from(frame7).equals(cli(7)), 'as received');
  // the main thread reads on with the pool, keeping every frame, so that it takes every idle
  // block: the transferred memory is not among them
  const idle = native().framePoolStats().idleBlocks;
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const all = [];
  for await (const f of r) {
    assert.ok(Buffer.from(f.data).equals(cli(f.index)), `frame ${f.index}`);
    all.push(f);
  }
  await r.close();
  assert.ok(all.length > idle, `${all.length} frames kept, ${idle} idle blocks`);
  assert.ok(Buffer.from(frame7).equals(cli(7)), 'after the worker ended and another read');
}, T);

test(`a ${pooled ? 'pooled' : 'V8-memory'} frame posted to a worker with a transfer list: the worker gets its pixels, the frame ${pooled ? 'keeps them' : 'is emptied'}`, async () => {
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const f = await r.read();
  await r.close();
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { createHash } = require('node:crypto');
    parentPort.once('message', (ab) => {
      parentPort.postMessage(createHash('md5').update(new Uint8Array(ab, 0, ${FB})).digest('hex'));
    });
  `, { eval: true });
  const md5 = new Promise((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  w.postMessage(f.data.buffer, [f.data.buffer]);
  assert.equal(await md5, createHash('md5').update(cli(0)).digest('hex'));
  await w.terminate();
  // Node copies external memory rather than moving it: the frame is intact; V8 memory moves
  if (pooled) assert.ok(Buffer.from(f.data).equals(cli(0)));
  else assert.equal(f.data.length, 0);
}, T);

/** Reads `file` in a node process of its own with `env`: { n, md5 of all frames, blocks taken from the pool }. */
function readElsewhere(file, env) {
  const script = `
    import { createHash } from 'node:crypto';
    import { createRequire } from 'node:module';
    const { VideoReader } = await import(${JSON.stringify(new URL('../dist/index.mjs', import.meta.url).href)});
    const { native } = createRequire(import.meta.url)(${JSON.stringify(resolve('dist/native.js'))});
    const h = createHash('md5');
    let n = 0;
    const r = await VideoReader.open(${JSON.stringify(file)}, { format: 'bgr24' });
    for await (const f of r) { h.update(f.data); n++; }
    await r.close();
    const s = native().framePoolStats();
    console.log(JSON.stringify({ n, md5: h.digest('hex'), taken: s.allocated + s.reused }));
  `;
  const e = { ...process.env, ...env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete e[k];
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: e, encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  return JSON.parse(p.stdout.trim().split('\n').pop());
}

test('without the pool (AVCV_FRAME_POOL=0, as in Electron): the same frames, nothing taken from the pool', () => {
  const out = readElsewhere(clip, { AVCV_FRAME_POOL: '0' });
  assert.equal(out.n, N);
  assert.equal(out.md5, createHash('md5').update(ref).digest('hex'));
  assert.equal(out.taken, 0);
}, T);

test(`after the last reader has closed the pool holds no memory${pooled ? '' : ' (nothing to hold in this build)'}; a reader collected unclosed counts as closed`, async () => {
  // in a function of its own: a suspended async function may still hold the last frame it iterated
  await (async () => {
    const r = await VideoReader.open(clip, { format: 'bgr24' });
    let n = 0;
    for await (const f of r) {
      assert.ok(Buffer.from(f.data).equals(cli(f.index)), `frame ${f.index}`);
      if (++n % 4 === 0) await collect();
    }
    const during = native().framePoolStats();
    if (pooled) assert.ok(during.idleBlocks > 0, 'blocks came back to the pool while the reader was open');
    await r.close();
  })();
  // V8 frees ArrayBuffers on a background thread after a collection, and Node runs their
  // finalizers on a later turn of the event loop: a few tries
  const emptied = async () => {
    for (let i = 0; i < 20; i++) {
      await collect();
      const s = native().framePoolStats();
      if (s.idleBytes + s.liveBytes === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    return native().framePoolStats();
  };
  const after = await emptied();
  assert.equal(after.idleBytes, 0, JSON.stringify(after));
  assert.equal(after.liveBytes, 0, JSON.stringify(after));
  // random access takes from the pool as well; a reader never closed is collected
  await (async () => {
    const lost = await VideoReader.open(clip, { format: 'bgr24' });
    const f = await lost.frameAt(1);
    assert.ok(Buffer.from(f.data).equals(cli(f.index)));
    for await (const g of lost) if (g.index === 30) break;
  })();
  const end = await emptied();
  assert.equal(end.idleBytes + end.liveBytes, 0, JSON.stringify(end));
}, T);

test(`by default only frames of 32 MiB and more come from the pool (8 MiB with AVCV_HEAP_RETAIN=0)${pooled ? '' : ' (none in this build)'}: 320x240 and 2048x1536 bgr24 do not, 4096x2880 does; 2048x1536 does without the kept heap`, () => {
  const small = readElsewhere(clip, { AVCV_FRAME_POOL: undefined });
  assert.equal(small.n, N);
  assert.equal(small.md5, createHash('md5').update(ref).digest('hex'));
  assert.equal(small.taken, 0);
  const check = (size, frames, env, expectPooled) => {
    const [w, h] = size.split('x').map(Number);
    const file = makeClip(join(dir, `big-${size}.mp4`), { size, rate: 25, frames, extra: ['-preset', 'ultrafast'] });
    const out = readElsewhere(file, { AVCV_FRAME_POOL: undefined, ...env });
    assert.equal(out.n, frames);
    assert.equal(out.md5, createHash('md5').update(cliFrames(file, 'bgr24')).digest('hex'));
    if (pooled && expectPooled) assert.ok(out.taken >= frames, `${size} ${JSON.stringify(env)}: taken ${out.taken}`);
    else assert.equal(out.taken, 0, `${size} ${JSON.stringify(env)}: taken ${out.taken} (${w * h * 3} bytes a frame)`);
  };
  // 2048x1536 bgr24 is 9 MiB (over 8, under 32), 4096x2880 33.75 MiB
  check('2048x1536', 6, {}, false);
  check('4096x2880', 3, {}, true);
  check('2048x1536', 6, { AVCV_HEAP_RETAIN: '0' }, true);
}, T);


// V8's own frame memory (frames under 32 MiB, and every frame in a worker or
// Electron) is a fresh malloc() per frame. While a reader is open glibc's heap
// keeps the freed frames' memory (heapRetain), so a loop that keeps no frame
// reuses pages already mapped instead of taking page faults on most of a new
// frame's pages. The kernel's count of minor faults (/proc/self/stat) is the
// reference; AVCV_HEAP_RETAIN=0 turns it off (the same loop then faults on
// 5 to 211 of the 675 pages a frame, reported).
test('V8 frame memory: a 720p loop that keeps no frame takes fewer than 1/20 of a frame\'s pages as fresh page faults per frame (the same frames with AVCV_HEAP_RETAIN=0)', () => {
  const file = makeClip(join(dir, 'hd.mp4'), { size: '1280x720', rate: 25, frames: 250, extra: ['-preset', 'ultrafast'] });
  const md5 = createHash('md5').update(cliFrames(file, 'bgr24')).digest('hex');
  const pages = Math.ceil((1280 * 720 * 3) / 4096);
  const script = `
    import { createHash } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    const { VideoReader } = await import(${JSON.stringify(new URL('../dist/index.mjs', import.meta.url).href)});
    // field 10 of /proc/self/stat: minor page faults of the process so far
    const minflt = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
    const h = createHash('md5');
    let n = 0;
    let f0 = 0;
    const r = await VideoReader.open(${JSON.stringify(file)}, { format: 'bgr24' });
    for await (const f of r) { h.update(f.data); if (++n === 50) f0 = minflt(); }
    const perFrame = (minflt() - f0) / (n - 50);
    await r.close();
    console.log(JSON.stringify({ n, md5: h.digest('hex'), perFrame }));
  `;
  const run = (env) => {
    const e = { ...process.env, ...env };
    delete e.AVCV_FRAME_POOL;  // the default: 720p frames are V8 memory
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: e, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    return JSON.parse(p.stdout.trim().split('\n').pop());
  };
  const kept = run({});
  const off = run({ AVCV_HEAP_RETAIN: '0' });
  console.log(`# 720p bgr24 (${pages} pages a frame): ${kept.perFrame.toFixed(1)} page faults per frame with the heap kept, ${off.perFrame.toFixed(1)} without`);
  for (const o of [kept, off]) {
    assert.equal(o.n, 250);
    assert.equal(o.md5, md5, 'every frame equals the CLI\'s');
  }
  const both = `kept: ${kept.perFrame.toFixed(1)}, without: ${off.perFrame.toFixed(1)} faults per frame of ${pages} pages`;
  // kept: 0.1 to 18 faults per frame measured. Without the kept heap 5 to 211:
  // glibc's own dynamic mmap threshold sometimes reuses much of the memory, so
  // that run is reported, not bounded
  assert.ok(kept.perFrame < pages / 20, both);
}, T);
