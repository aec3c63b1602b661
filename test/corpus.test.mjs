// One table-driven test over the real-world corpus (test/corpus.mjs): for
// every file, probe() against ffprobe, sequential frames against the ffmpeg
// CLI in every output format, the frame index against `ffprobe -count_frames`
// and the decoded pts, and random access (`frame(i)`) against sequential
// frame i, which must be equal or an AvcvError, never another frame.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { VideoReader, probe, AvcvError } from '../dist/index.mjs';
import { tempDir, ffprobe, cliFrames, cliFramesMany, mulberry32, OUTPUT_FORMATS as FORMATS, referenceFor } from './helpers.mjs';
import { makeCorpus, countFramesOf } from './corpus.mjs';

const dir = tempDir('avcv-corpus-');
let corpus = [];
beforeAll(() => {
  corpus = makeCorpus(dir);
});

const TYPES = ['video', 'audio', 'subtitle', 'data', 'attachment'];
const bytes = (f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);

async function sequential(file, opts) {
  const r = await VideoReader.open(file, opts);
  try {
    const frames = [];
    for await (const f of r) frames.push({ data: Buffer.from(bytes(f)), pts: f.pts, time: f.time });
    return { frames, info: r.info, stats: r.stats };
  } finally {
    await r.close();
  }
}

test('probe() matches ffprobe on every corpus file, with null where ffprobe omits a field', async () => {
  for (const c of corpus) {
    const ref = ffprobe(c.file, ['-show_streams']).streams;
    const p = await probe(c.file);
    assert.equal(p.streams.length, ref.length, c.name);
    for (const [i, r] of ref.entries()) {
      const s = p.streams[i];
      const what = `${c.name} stream ${i}`;
      assert.equal(s.type, TYPES.includes(r.codec_type) ? r.codec_type : null, `${what} type`);
      assert.equal(s.codec, r.codec_name ?? null, `${what} codec`);
      if (r.codec_type !== 'video') continue;
      assert.equal(s.pixelFormat, r.pix_fmt ?? null, `${what} pix_fmt`);
      assert.equal(s.colorRange, r.color_range ?? null, `${what} color_range`);
      assert.equal(s.colorSpace, r.color_space ?? null, `${what} color_space`);
      assert.equal(s.colorPrimaries, r.color_primaries ?? null, `${what} color_primaries`);
      assert.equal(s.colorTransfer, r.color_transfer ?? null, `${what} color_transfer`);
      assert.ok(!Object.values(s).includes('unknown'), `${what}: no 'unknown' placeholders`);
    }
  }
});

test('every corpus file: frames equal the CLI, the index equals decoding, frame(i) is frame i or an AvcvError', async () => {
  const summary = { files: 0, exact: 0, refused: 0, wrong: 0 };
  const wrongs = [];
  for (const c of corpus) {
    summary.files++;
    if (c.noFrames) {
      // the CLI fails on it too; avcv says why instead of ending with no frames
      const err = await sequential(c.file, {}).then(() => null, (e) => e);
      assert.ok(err instanceof AvcvError, `${c.name}: reading must reject with an AvcvError, got ${err}`);
      assert.equal(err.code, 'DECODE', `${c.name}: code`);
      const r = await VideoReader.open(c.file);
      await assert.rejects(r.index(), (e) => e instanceof AvcvError && e.code === 'DECODE', `${c.name}: index()`);
      await r.close();
      summary.refused++;
      continue;
    }
    // damaged data decodes the same way every run only without frame threads
    const threads = c.damaged ? 1 : undefined;
    const refs = cliFramesMany(c.file, [...new Set(FORMATS.map((f) => f.cli))], { threads });
    let base = null;
    for (const f of FORMATS) {
      const what = `${c.name} ${f.format}${f.layout ? ` ${f.layout}` : ''}`;
      const opts = { format: f.format, layout: f.layout, threads: threads ?? 0 };
      const info = (await probe(c.file)).streams.find((s) => s.type === 'video');
      if (f.even && (info.width % 2 || info.height % 2)) {
        await assert.rejects(VideoReader.open(c.file, opts), (e) => e instanceof TypeError || e instanceof RangeError, `${what}: odd size refused`);
        continue;
      }
      const got = await sequential(c.file, opts);
      const fb = got.info.frameBytes;
      const ref = referenceFor(refs, f, got.info.width * got.info.height);
      assert.equal(got.frames.length, ref.length / fb, `${what}: frame count against the CLI`);
      got.frames.forEach((fr, i) => {
        if (!fr.data.equals(ref.subarray(i * fb, (i + 1) * fb))) assert.fail(`${what}: frame ${i} differs from the CLI's`);
      });
      if (f.format === 'bgr24' && !f.layout) base = got;
    }
    // the index describes what sequential decoding yields
    const n = base.frames.length;
    const count = c.damaged ? countFramesOf(c.file, 1) : countFramesOf(c.file);
    const r = await VideoReader.open(c.file, { threads: threads ?? 0 });
    try {
      const ix = await r.index();
      assert.equal(ix.frameCount, count, `${c.name}: index().frameCount against ffprobe -count_frames`);
      assert.equal(ix.frameCount, n, `${c.name}: index().frameCount against sequential reading`);
      assert.deepEqual(Array.from(ix.pts), base.frames.map((f) => f.pts), `${c.name}: index pts against the decoded frames' pts`);
      const rand = mulberry32(n);
      const order = n <= 80 ? Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5)
        : Array.from({ length: 50 }, () => Math.floor(rand() * n));
      for (const i of order) {
        try {
          const f = await r.frame(i);
          if (bytes(f).equals(base.frames[i].data) && f.pts === base.frames[i].pts && f.index === i) summary.exact++;
          else {
            summary.wrong++;
            wrongs.push(`${c.name} frame(${i})`);
          }
        } catch (e) {
          assert.ok(e instanceof AvcvError, `${c.name} frame(${i}): ${e}`);
          summary.refused++;
        }
      }
    } finally {
      await r.close();
    }
    if (c.damaged) {
      // with frame threads and onCorrupt 'error', damage is an AvcvError or nothing
      const err = await sequential(c.file, { onCorrupt: 'error' }).then(() => null, (e) => e);
      assert.ok(err === null || err instanceof AvcvError, `${c.name}: onCorrupt 'error' gives ${err}`);
    }
  }
  console.log(`# corpus: ${summary.files} files, ${summary.exact} frames exact, ${summary.refused} refused (AvcvError), ${summary.wrong} wrong`);
  assert.deepEqual(wrongs, [], 'random access returned another frame');
  assert.ok(summary.exact > 500, `only ${summary.exact} exact frames`);
});

test('truncation is reported honestly: a complete AVI whose header doubles its frame count is not truncated; cut mp4, mkv, webm and ts files are', async () => {
  const byName = (n) => corpus.find((c) => c.file.endsWith(n));
  const complete = await sequential(byName('doublecount.avi').file, {});
  assert.equal(complete.stats.truncated, false, 'complete AVI called truncated');
  assert.equal(complete.frames.length, countFramesOf(byName('doublecount.avi').file));
  for (const n of ['lastcut.mp4', 'head100k.mp4', 'cut40.mkv', 'cut40.webm', 'cut40.ts']) {
    const cut = await sequential(byName(n).file, {});
    assert.equal(cut.stats.truncated, true, `${n}: truncated`);
    await assert.rejects(sequential(byName(n).file, { onCorrupt: 'error' }), (e) => e instanceof AvcvError && e.code === 'TRUNCATED', `${n}: TRUNCATED under onCorrupt 'error'`);
  }
});

test('a stream that changes size mid-way comes out at the opened size, as the CLI scales it (both directions)', async () => {
  const { writeFileSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ffmpeg } = await import('./helpers.mjs');
  const small = join(dir, 'sz-small.ts');
  const large = join(dir, 'sz-large.ts');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
  ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=25', '-frames:v', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', large]);
  for (const [name, parts, w, h] of [['up.ts', [small, large], 160, 120], ['down.ts', [large, small], 320, 240]]) {
    const file = join(dir, name);
    writeFileSync(file, Buffer.concat(parts.map((p) => readFileSync(p))));
    // one scale pass to the opened size and format (a bare scale=W:H lets the CLI
    // negotiate yuv420p and convert to bgr24 in a second pass after the change)
    const ref = cliFrames(file, 'bgr24', { vf: `scale=${w}:${h},format=bgr24`, inputArgs: ['-filter_threads', '1', '-threads', '1'] });
    const got = await sequential(file, { threads: 1 });
    assert.equal(got.info.width, w);
    assert.equal(got.info.height, h);
    assert.equal(got.frames.length, 20, `${name}: every frame`);
    const fb = w * h * 3;
    got.frames.forEach((f, i) => assert.ok(f.data.equals(ref.subarray(i * fb, (i + 1) * fb)), `${name}: frame ${i} differs from the CLI's scale`));
    // random access gives the same frames
    const r = await VideoReader.open(file, { threads: 1 });
    for (const i of [15, 3, 19, 10, 9]) assert.ok(bytes(await r.frame(i)).equals(got.frames[i].data), `${name}: frame(${i})`);
    await r.close();
  }
});
