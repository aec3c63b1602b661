// range(), rangeByTime() and thumbnails(): indices computed by hand from
// ffprobe's timestamps, bytes against the ffmpeg CLI's frames.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VideoReader } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames, ffprobe, framePtsTimes } from './helpers.mjs';

const dir = tempDir();
const W = 96;
const H = 64;
let clip;
let ref;      // CLI gray frames
let times;    // ffprobe pts_time per displayed frame
let keys;     // ffprobe key_frame per displayed frame

beforeAll(() => {
  clip = makeClip(join(dir, 'r.mp4'), { size: `${W}x${H}`, rate: 25, frames: 60, extra: ['-g', '12', '-bf', '2'] });
  const raw = cliFrames(clip, 'gray');
  ref = Array.from({ length: raw.length / (W * H) }, (_, i) => raw.subarray(i * W * H, (i + 1) * W * H));
  const fr = ffprobe(clip, ['-select_streams', 'v:0', '-show_frames', '-show_entries', 'frame=pts_time,key_frame']).frames;
  times = fr.map((f) => Number(f.pts_time));
  keys = fr.map((f) => f.key_frame === 1);
});

const eqRef = (f, i) => assert.ok(Buffer.from(f.data).equals(ref[i]), `frame ${i} differs from the CLI`);

test('range({start, end, step}) yields exactly those frames, in order', async () => {
  const r = await VideoReader.open(clip, { format: 'gray' });
  try {
    const got = [];
    for await (const f of r.range({ start: 5, end: 50, step: 7, batch: 3 })) {
      eqRef(f, f.index);
      got.push(f.index);
    }
    const want = [];
    for (let i = 5; i < 50; i += 7) want.push(i);
    assert.deepEqual(got, want);
    const all = [];
    for await (const f of r.range()) all.push(f.index);
    assert.deepEqual(all, ref.map((_, i) => i));
    await assert.rejects(async () => { for await (const f of r.range({ step: 0 })) void f; }, RangeError);
  } finally {
    await r.close();
  }
});

test('rangeByTime({start, end, fps}) picks the frame played at each instant', async () => {
  const r = await VideoReader.open(clip, { format: 'gray' });
  try {
    const start = 0.3;
    const end = 1.9;
    const fps = 7;
    const want = [];
    for (let k = 0; ; k++) {
      const at = start + k / fps;
      if (at >= end) break;
      let i = 0;
      while (i + 1 < times.length && times[i + 1] <= at) i++;  // played at: pts <= t < next pts
      want.push(i);
    }
    const got = [];
    for await (const f of r.rangeByTime({ start, end, fps })) {
      eqRef(f, f.index);
      got.push(f.index);
    }
    assert.deepEqual(got, want);
  } finally {
    await r.close();
  }
});

test('thumbnails(n) decodes keyframes only, nearest to evenly spaced instants', async () => {
  const r = await VideoReader.open(clip, { format: 'gray' });
  try {
    const n = 4;
    const keyIdx = keys.map((k, i) => (k ? i : -1)).filter((i) => i >= 0);
    const span = times[times.length - 1] - times[0];
    const want = [];
    for (let j = 0; j < n; j++) {
      const at = times[0] + (span * j) / (n - 1);
      let best = keyIdx[0];
      for (const k of keyIdx) if (Math.abs(times[k] - at) < Math.abs(times[best] - at)) best = k;
      want.push(best);
    }
    const before = r.stats.randomAccessFramesDecoded ?? 0;
    const th = await r.thumbnails(n);
    assert.deepEqual(th.map((f) => f.index), want);
    for (const f of th) {
      assert.equal(f.keyframe, true);
      eqRef(f, f.index);
    }
    // keyframes only: a keyframe decodes alone (allow a little decoder lookahead)
    const decoded = (r.stats.randomAccessFramesDecoded ?? 0) - before;
    assert.ok(decoded <= new Set(want).size * 3, `decoded ${decoded} frames for ${n} keyframe thumbnails`);
  } finally {
    await r.close();
  }
});

test('saveIndex + open({index}): reused without a rescan, exact; a stale or bad index is refused', async () => {
  const { writeFileSync, readFileSync, utimesSync, statSync } = await import('node:fs');
  const { AvcvError } = await import('../dist/index.mjs');
  const file = makeClip(join(dir, 'ix.mp4'), { size: `${W}x${H}`, rate: 25, frames: 40, extra: ['-g', '10', '-bf', '2'] });
  const raw = cliFrames(file, 'gray');
  const frameOf = (i) => raw.subarray(i * W * H, (i + 1) * W * H);
  const ixPath = join(dir, 'ix.avcv-index');
  const a = await VideoReader.open(file, { format: 'gray' });
  await a.saveIndex(ixPath);
  assert.equal(a.stats.indexScans, 1);
  await a.close();

  const b = await VideoReader.open(file, { format: 'gray', index: ixPath });
  try {
    for (const i of [37, 0, 19, 20, 5]) assert.ok(Buffer.from((await b.frame(i)).data).equals(frameOf(i)), `frame ${i}`);
    assert.equal((await b.index()).frameCount, 40);
    assert.equal(b.stats.indexScans, 0, 'a loaded index must not be rebuilt by scanning');
  } finally {
    await b.close();
  }

  // the source changes (same bytes, new mtime): refused
  const st = statSync(file);
  utimesSync(file, st.atime, new Date(st.mtimeMs + 5000));
  await assert.rejects(VideoReader.open(file, { index: ixPath }), (e) => e instanceof AvcvError && e.code === 'STALE_INDEX');
  // not an index at all
  writeFileSync(join(dir, 'junk.json'), '{"format":"nope"}');
  await assert.rejects(VideoReader.open(file, { index: join(dir, 'junk.json') }), (e) => e instanceof AvcvError && e.code === 'INVALID_INDEX');
  await assert.rejects(VideoReader.open(file, { index: join(dir, 'missing.json') }), (e) => e instanceof AvcvError && e.code === 'ENOENT');
  void readFileSync;
});

test("seekMode 'approximate': no scan; on a constant-frame-rate file frame(i) equals the CLI's frame i", async () => {
  const r = await VideoReader.open(clip, { format: 'gray', seekMode: 'approximate' });
  try {
    assert.equal(r.info.seekMode, 'approximate');
    const ix = await r.index();
    assert.equal(ix.frameCount, ref.length);
    for (const i of [0, 1, 13, 59, 30, 31, 58]) {
      const f = await r.frame(i);
      eqRef(f, i);
      assert.equal(f.index, i);
    }
    assert.equal(r.stats.indexScans, 0);
    await assert.rejects(r.saveIndex(join(dir, 'x.idx')), (e) => e.code === 'UNSUPPORTED');
  } finally {
    await r.close();
  }
  await assert.rejects(VideoReader.open(clip, { seekMode: 'fast' }), TypeError);
});

test('MPEG-TS whose clock restarts (two files concatenated): every frame exact, continuous times', async () => {
  const { writeFileSync, readFileSync } = await import('node:fs');
  const a = makeClip(join(dir, 'a.ts'), { size: `${W}x${H}`, rate: 25, frames: 30, extra: ['-g', '10', '-bf', '2'] });
  const b = makeClip(join(dir, 'b.ts'), { size: `${W}x${H}`, rate: 25, frames: 20, src: 'smptebars', extra: ['-g', '10', '-bf', '2'] });
  const c = join(dir, 'c.ts');
  writeFileSync(c, Buffer.concat([readFileSync(a), readFileSync(b)]));
  const raw = cliFrames(c, 'gray');
  const n = raw.length / (W * H);
  const count = Number(ffprobe(c, ['-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames']).streams[0].nb_read_frames);
  assert.equal(n, count);
  const r = await VideoReader.open(c, { format: 'gray' });
  try {
    const ix = await r.index();
    assert.equal(ix.frameCount, count);
    assert.equal(ix.discontinuous, true);
    for (let i = 1; i < n; i++) assert.ok(ix.times[i] > ix.times[i - 1], `times must increase at ${i}`);
    for (const i of [35, 0, 49, 30, 29, 12, 31]) {
      const f = await r.frame(i);
      assert.ok(Buffer.from(f.data).equals(raw.subarray(i * W * H, (i + 1) * W * H)), `frame ${i}`);
    }
    const idx = [44, 2, 30, 29, 2];
    const fs = await r.frames(idx);
    fs.forEach((f, j) => assert.ok(Buffer.from(f.data).equals(raw.subarray(idx[j] * W * H, (idx[j] + 1) * W * H)), `batch ${j}`));
    assert.equal((await r.frameAt(ix.times[40])).index, 40);
    // one timeline: a frame's time finds that frame again, for every frame;
    // pts and rawTime keep the stream's own clock (ffprobe's pts_time)
    const rawTimes = framePtsTimes(c);
    const seq = await VideoReader.open(c, { format: 'gray' });
    let restarts = 0;
    for await (const f of seq) {
      assert.equal(f.time, ix.times[f.index], `frame ${f.index}: sequential time against the index`);
      assert.ok(Math.abs(f.rawTime - rawTimes[f.index]) < 1e-6, `frame ${f.index}: rawTime ${f.rawTime} against ffprobe ${rawTimes[f.index]}`);
      if (f.rawTime !== f.time) restarts++;
      const g = await r.frameAt(f.time);
      assert.equal(g.index, f.index, `frameAt(frame ${f.index}.time = ${f.time}) gave frame ${g.index}`);
      assert.equal(g.time, f.time);
      assert.equal(g.pts, f.pts);
    }
    await seq.close();
    assert.ok(restarts >= 20, `the second file's ${restarts} frames keep their restarted clock in rawTime`);
  } finally {
    await r.close();
  }
});

test('frames(indices, { batch: true }): one buffer [N, H, W, C] in request order', async () => {
  const r = await VideoReader.open(clip, { format: 'gray' });
  try {
    const idx = [7, 2, 7, 40];
    const b = await r.frames(idx, { batch: true });
    assert.deepEqual(b.shape, [4, H, W, 1]);
    assert.deepEqual(b.indices, idx);
    assert.equal(b.data.byteLength, 4 * W * H);
    idx.forEach((i, k) => assert.ok(Buffer.from(b.data.subarray(k * W * H, (k + 1) * W * H)).equals(ref[i]), `slot ${k}`));
    idx.forEach((i, k) => assert.ok(Math.abs(b.times[k] - times[i]) < 1e-6));
    // ascending indices are decoded straight into the batch slots
    const asc = [3, 9, 40, 41];
    const c = await r.frames(asc, { batch: true });
    assert.deepEqual(c.shape, [4, H, W, 1]);
    asc.forEach((i, k) => assert.ok(Buffer.from(c.data.subarray(k * W * H, (k + 1) * W * H)).equals(ref[i]), `ascending slot ${k}`));
  } finally {
    await r.close();
  }
});
