// VideoLoader: coverage, determinism, shapes and bytes against the ffmpeg CLI.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VideoLoader, AvcvError } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames, ffprobe } from './helpers.mjs';

const dir = tempDir();
const W = 48;  // asymmetric on purpose: W != H, T != C
const H = 32;
const T = 4;
const files = [];
const counts = [];
const rgb = [];   // per file: CLI rgb24 frames

beforeAll(() => {
  const specs = [[37, 'testsrc2'], [23, 'smptebars'], [30, 'rgbtestsrc']];
  specs.forEach(([n, src], i) => {
    const f = makeClip(join(dir, `v${i}.mp4`), { size: `${W}x${H}`, rate: 25, frames: n, src, extra: ['-g', '8', '-bf', '2'] });
    files.push(f);
    const c = Number(ffprobe(f, ['-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames']).streams[0].nb_read_frames);
    counts.push(c);
    const a = cliFrames(f, 'rgb24');
    rgb.push(Array.from({ length: c }, (_, k) => a.subarray(k * W * H * 3, (k + 1) * W * H * 3)));
  });
});

function expectedClips(stride) {
  const out = [];
  files.forEach((f, v) => {
    for (let s = 0; s + T <= counts[v]; s += stride) out.push(`${f}@${s}`);
  });
  return out;
}

async function epoch(loader) {
  const seen = [];
  for await (const b of loader) b.sources.forEach((s, i) => seen.push(`${s}@${b.startIndices[i]}`));
  return seen;
}

test('every clip of every video exactly once per epoch, for each shuffle mode', async () => {
  for (const shuffle of ['none', 'videos', 'clips']) {
    const loader = new VideoLoader(files, { clipLength: T, stride: 3, batchSize: 5, shuffle, seed: 7 });
    try {
      const seen = await epoch(loader);
      assert.equal(new Set(seen).size, seen.length, `${shuffle}: a clip repeated`);
      assert.deepEqual([...seen].sort(), expectedClips(3).sort(), `${shuffle}: coverage`);
      if (shuffle === 'none') assert.deepEqual(seen, expectedClips(3), 'none keeps order');
      const again = await epoch(loader);  // a second epoch covers everything again
      assert.deepEqual([...again].sort(), expectedClips(3).sort());
    } finally {
      await loader.close();
    }
  }
});

test('deterministic for a seed; another seed gives another order', async () => {
  const run = async (seed) => {
    const l = new VideoLoader(files, { clipLength: T, stride: 2, batchSize: 4, shuffle: 'clips', seed, format: 'gray' });
    try {
      return await l.clips();
    } finally {
      await l.close();
    }
  };
  const a = await run(11);
  const b = await run(11);
  const c = await run(12);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('hwc batches are [B, T, H, W, C] and hold the CLI frames', async () => {
  const loader = new VideoLoader(files, { clipLength: T, batchSize: 3, shuffle: 'clips', seed: 3, format: 'rgb24', concurrency: 2 });
  try {
    let batches = 0;
    for await (const b of loader) {
      const B = b.sources.length;
      assert.deepEqual(b.shape, [B, T, H, W, 3]);
      assert.equal(b.data.byteLength, B * T * H * W * 3);
      for (let i = 0; i < B; i++) {
        const v = files.indexOf(b.sources[i]);
        for (let t = 0; t < T; t++) {
          const off = (i * T + t) * H * W * 3;
          assert.ok(Buffer.from(b.data.subarray(off, off + H * W * 3)).equals(rgb[v][b.startIndices[i] + t]), `clip ${i} frame ${t}`);
        }
        assert.equal(b.times[i].length, T);
      }
      batches++;
    }
    assert.ok(batches > 0);
  } finally {
    await loader.close();
  }
});

test('chw batches are [B, C, T, H, W]: channel-major, then time', async () => {
  const loader = new VideoLoader(files, { clipLength: T, batchSize: 2, format: 'rgb24', layout: 'chw' });
  try {
    const it = loader[Symbol.asyncIterator]();
    const { value: b } = await it.next();
    const B = b.sources.length;
    assert.deepEqual(b.shape, [B, 3, T, H, W]);
    const plane = H * W;
    for (let i = 0; i < B; i++) {
      const v = files.indexOf(b.sources[i]);
      for (let t = 0; t < T; t++) {
        // chw is the CLI's rgb24 frame transposed: channel ch is every third byte
        const px = rgb[v][b.startIndices[i] + t];
        const want = [0, 1, 2].map((ch) => Buffer.from(Array.from({ length: plane }, (_, p) => px[p * 3 + ch])));
        for (let ch = 0; ch < 3; ch++) {
          const off = ((i * 3 + ch) * T + t) * plane;
          assert.ok(Buffer.from(b.data.subarray(off, off + plane)).equals(want[ch]), `clip ${i} channel ${ch} frame ${t}`);
        }
      }
    }
    await it.return?.();
  } finally {
    await loader.close();
  }
});

test('bad options and use after close', async () => {
  assert.throws(() => new VideoLoader([], { clipLength: 2, batchSize: 1 }), TypeError);
  assert.throws(() => new VideoLoader(files, { clipLength: 0, batchSize: 1 }), RangeError);
  assert.throws(() => new VideoLoader(files, { clipLength: 2, batchSize: 1, shuffle: 'yes' }), TypeError);
  assert.throws(() => new VideoLoader(files, { clipLength: 2, batchSize: 1, bogus: 1 }), TypeError);
  const l = new VideoLoader(files, { clipLength: 2, batchSize: 2 });
  await l.close();
  await assert.rejects(async () => { for await (const b of l) void b; }, (e) => e instanceof AvcvError && e.code === 'CLOSED');
});
