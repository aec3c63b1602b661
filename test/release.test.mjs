// frame.release() / [Symbol.dispose]: a released frame's memory goes back to
// its reader and later frames are decoded into it. Checked against the CLI's
// decoded frames: every frame read that way is the CLI's frame, a frame that
// was kept (not released) still is once the whole video has been read, a
// released frame can no longer be read (its earlier views are empty), and a
// write still running on a released frame finishes with the right pixels.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VideoReader, VideoWriter, Frame, AvcvError } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames } from './helpers.mjs';

const T = 60_000;
const dir = tempDir('avcv-release-');
const W = 160;
const H = 96;
const N = 40;
const FB = W * H * 3;
let clip;
let ref;

beforeAll(() => {
  clip = makeClip(join(dir, 'clip.mp4'), { size: `${W}x${H}`, rate: 25, frames: N });
  ref = cliFrames(clip, 'bgr24');
  assert.equal(ref.length, N * FB);
});

const cli = (i) => ref.subarray(i * FB, (i + 1) * FB);

test('released frames are decoded into again; every frame is the CLI frame; kept frames never change', async () => {
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const kept = [];
  let n = 0;
  for await (const f of r) {
    assert.ok(Buffer.from(f.data).equals(cli(f.index)), `frame ${f.index} as read`);
    if (f.index % 7 === 0) kept.push(f);
    else f.release();
    n++;
  }
  assert.equal(n, N);
  // 6 kept frames hold their own buffers; the 34 released ones were recycled
  const { buffersAllocated } = r.stats;
  assert.ok(buffersAllocated <= 3 + 2 + kept.length, `allocated ${buffersAllocated}`);
  await r.close();
  for (const f of kept) assert.ok(Buffer.from(f.data).equals(cli(f.index)), `kept frame ${f.index} changed`);
}, T);

test('without release every frame has a buffer of its own (the count the release test is measured against)', async () => {
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const frames = [];
  for await (const f of r) frames.push(f);
  assert.ok(r.stats.buffersAllocated >= N, `allocated ${r.stats.buffersAllocated}`);
  await r.close();
  frames.forEach((f, i) => assert.ok(Buffer.from(f.data).equals(cli(i)), `frame ${i}`));
}, T);

test('a released frame cannot be read: data throws RELEASED, views taken before are empty, release is idempotent', async () => {
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const f = await r.read();
  const view = f.data;
  const plane = f.data.subarray(FB / 2);
  assert.equal(f.released, false);
  f.release();
  f.release();
  assert.equal(f.released, true);
  assert.equal(view.length, 0);
  assert.equal(plane.length, 0);
  assert.throws(() => f.data, (e) => e instanceof AvcvError && e.code === 'RELEASED' && /frame 0 was released/.test(e.message));
  assert.throws(() => f.to('rgb24'), (e) => e instanceof AvcvError && e.code === 'RELEASED');
  assert.throws(() => f.toTensor(), (e) => e instanceof AvcvError && e.code === 'RELEASED');
  // the next frames (decoded into the released memory among others) are right
  for (let i = 1; i < N; i++) {
    const g = await r.read();
    assert.ok(Buffer.from(g.data).equals(cli(i)), `frame ${i}`);
    g[Symbol.dispose]();
    assert.equal(g.released, true);
  }
  assert.equal(await r.read(), null);
  await r.close();
}, T);

test('release() during a pending write waits for the write: the lossless output is the source', async () => {
  const out = join(dir, 'out.mkv');
  const r = await VideoReader.open(clip, { format: 'bgr24' });
  const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, inputFormat: 'bgr24', codec: 'ffv1', pixelFormat: 'bgr0' });
  // writes are left pending while the next frames are read (and decoded into
  // whatever memory the reader has back): a released frame's memory must not
  // be among it before its write is done
  const pending = [];
  for await (const f of r) {
    pending.push(w.write(f));
    f.release();  // the memory goes back only once the writer has taken the frame
    if (pending.length > 6) await pending.shift();
  }
  await Promise.all(pending);
  // memory came back and was decoded into again (how much depends on when the
  // writes settle: several settling at once overflow the reader's spare list;
  // the first test checks the exact bound for a loop with nothing pending)
  assert.ok(r.stats.buffersAllocated < N, `allocated ${r.stats.buffersAllocated}`);
  await r.close();
  await w.close();
  assert.ok(cliFrames(out, 'bgr24').equals(ref));
}, T);

test('frames avcv does not own: release marks them and leaves the memory alone; clone copies', async () => {
  const bytes = new Uint8Array(cli(3));
  const f = Frame.from(bytes, { width: W, height: H, format: 'bgr24' });
  const copy = f.clone();
  f.release();
  assert.equal(f.released, true);
  assert.equal(bytes.length, FB);
  assert.ok(Buffer.from(bytes).equals(cli(3)));
  assert.ok(Buffer.from(copy.data).equals(cli(3)));
  assert.equal(copy.released, false);
  // random access frames and reuseBuffers frames: marked released, nothing recycled
  const r = await VideoReader.open(clip, { format: 'bgr24', reuseBuffers: true });
  const a = await r.frame(5);
  assert.ok(Buffer.from(a.data).equals(cli(5)));
  a.release();
  assert.throws(() => a.data, (e) => e.code === 'RELEASED');
  let i = 0;
  for await (const g of r) {
    assert.ok(Buffer.from(g.data).equals(cli(i)), `reuseBuffers frame ${i}`);
    g.release();
    i++;
  }
  assert.equal(i, N);
  await r.close();
}, T);
