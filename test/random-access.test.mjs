// Exact random access: index(), frame(i), frames(indices), frameAt(t),
// keyframes(), checked against the ffmpeg CLI (decoded frames) and ffprobe
// (frame count, display-order timestamps, key_frame flags) on media made here.
import { test, describe, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoReader, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, makeClip } from './helpers.mjs';

const dir = tempDir('avcv-ra-');
const SIZE = '96x64';
const W = 96;
const H = 64;
const FB = W * H; // gray frame bytes

const lavfi = (frames, rate = 25, size = SIZE) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`, '-frames:v', String(frames)];

/** Each case makes its file; small and short so every frame can be checked. */
const CASES = [
  {
    name: 'h264 B-frames (mp4)',
    make: (p) => makeClip(p, { size: SIZE, frames: 40, extra: ['-g', '12', '-bf', '3'] }),
    file: 'h264-bf.mp4',
  },
  {
    name: 'h264 open GOP (mp4)',
    make: (p) => makeClip(p, { size: SIZE, frames: 40, extra: ['-x264-params', 'open-gop=1:keyint=12:min-keyint=12:scenecut=0', '-bf', '3'] }),
    file: 'h264-open.mp4',
  },
  {
    name: 'hevc (mp4)',
    make: (p) => makeClip(p, { size: SIZE, frames: 36, codec: 'libx265', extra: ['-x265-params', 'keyint=10:bframes=3:log-level=error'] }),
    file: 'hevc.mp4',
  },
  {
    name: 'vp9 (webm)',
    make: (p) => makeClip(p, { size: SIZE, frames: 36, codec: 'libvpx-vp9', extra: ['-g', '10', '-deadline', 'realtime', '-cpu-used', '8'] }),
    file: 'vp9.webm',
  },
  {
    name: 'mjpeg (avi)',
    make: (p) => makeClip(p, { size: SIZE, frames: 30, codec: 'mjpeg', pixFmt: 'yuvj420p' }),
    file: 'mjpeg.avi',
  },
  {
    name: 'vfr (mkv)',
    // millisecond time base end to end, so the irregular pts survive (distinct, uneven gaps)
    make: (p) => ffmpeg([...lavfi(36), '-vf', 'settb=1/1000,setpts=(N/25+floor(N/3)*0.017+mod(N\\,2)*0.005)/TB',
      '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '12', '-bf', '2', p]),
    file: 'vfr.mkv',
  },
  {
    name: 'mp4 with an edit list (stream-copy cut)',
    make: (p) => {
      const src = join(dir, 'editsrc.mp4');
      makeClip(src, { size: SIZE, frames: 60, extra: ['-g', '12', '-bf', '3'] });
      ffmpeg(['-ss', '0.9', '-i', src, '-c', 'copy', p]);
    },
    file: 'cut.mp4',
  },
  {
    name: 'mpeg-ts',
    make: (p) => makeClip(p, { size: SIZE, frames: 40, extra: ['-g', '12', '-bf', '3'] }),
    file: 'clip.ts',
  },
  {
    name: 'mkv without cues (piped)',
    make: (p) => {
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...lavfi(40), '-c:v', 'libx264',
        '-pix_fmt', 'yuv420p', '-g', '12', '-bf', '3', '-f', 'matroska', '-'], { maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`ffmpeg pipe failed: ${r.stderr}`);
      writeFileSync(p, r.stdout);
    },
    file: 'nocues.mkv',
  },
];

/** ffprobe's view: frame count (-count_frames), display-order pts, key flags, time base. */
function probeRef(file) {
  const c = ffprobe(file, ['-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames,time_base']);
  const s = c.streams[0];
  const [num, den] = s.time_base.split('/').map(Number);
  const f = ffprobe(file, ['-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp,pts,pkt_pts,key_frame']);
  const frames = f.frames;
  const pts = frames.map((fr) => Number(fr.best_effort_timestamp ?? fr.pts ?? fr.pkt_pts));
  const keys = [];
  frames.forEach((fr, i) => { if (Number(fr.key_frame) === 1) keys.push(i); });
  // seconds as the library defines them: pts * num / den
  return { count: Number(s.nb_read_frames), pts, keys, times: pts.map((x) => (x * num) / den), num, den };
}

function cliGray(file) {
  const raw = cliFrames(file, 'gray');
  assert.equal(raw.length % FB, 0, 'CLI output is whole frames');
  const out = [];
  for (let o = 0; o < raw.length; o += FB) out.push(raw.subarray(o, o + FB));
  return out;
}

const bytes = (f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);

function assertFrame(f, i, ref, msg = '') {
  assert.equal(f.index, i, `${msg}frame.index`);
  assert.equal(f.pts, ref.pts[i], `${msg}frame ${i} pts`);
  assert.ok(bytes(f).equals(ref.cli[i]), `${msg}frame ${i} bytes differ from the CLI's frame ${i}`);
}

/** Deterministic shuffle (LCG). */
function shuffled(arr, seed = 12345) {
  const a = [...arr];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const open = (file) => VideoReader.open(file, { format: 'gray' });

for (const c of CASES) {
  describe(`random access: ${c.name}`, () => {
    const file = join(dir, c.file);
    let ref;
    let reader;

    beforeAll(async () => {
      c.make(file);
      const p = probeRef(file);
      const cli = cliGray(file);
      ref = { ...p, cli };
      reader = await open(file);
    });
    afterAll(async () => { await reader?.close(); });

    test('the reference is self-consistent (ffprobe count == CLI frames == ffprobe frames)', () => {
      assert.ok(ref.count > 5, `ffprobe counted ${ref.count} frames`);
      assert.equal(ref.cli.length, ref.count, 'CLI decoded frames vs ffprobe nb_read_frames');
      assert.equal(ref.pts.length, ref.count, 'ffprobe -show_frames vs nb_read_frames');
      for (let i = 1; i < ref.pts.length; i++) assert.ok(ref.pts[i] > ref.pts[i - 1], `ffprobe pts increase (${i})`);
    });

    test('index(): frameCount and display-order pts match ffprobe', async () => {
      const ix = await reader.index();
      assert.equal(ix.frameCount, ref.count, 'frameCount vs ffprobe nb_read_frames');
      assert.deepEqual(Array.from(ix.pts), ref.pts, 'index().pts vs ffprobe best_effort_timestamp');
      assert.deepEqual(ix.timeBase, { num: ref.num, den: ref.den });
    });

    test('frame(i) for every i equals the CLI frame i; negative i; out of range', async () => {
      const n = ref.count;
      // every index ascending, then backwards (every access seeks); all failures are collected
      const bad = [];
      const order = [...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: n }, (_, i) => n - 1 - i)];
      for (const i of order) {
        try {
          assertFrame(await reader.frame(i), i, ref);
        } catch (e) {
          bad.push(`frame(${i}): ${e.code === 'ERR_ASSERTION' ? e.message.split('\n')[0] : `${e.code} ${e.message}`}`);
        }
      }
      assert.deepEqual(bad, [], 'frames that differ from the CLI');
      assertFrame(await reader.frame(-1), n - 1, ref, 'frame(-1): ');
      assertFrame(await reader.frame(-n), 0, ref, 'frame(-n): ');
      await assert.rejects(reader.frame(n), RangeError);
      await assert.rejects(reader.frame(n + 100), RangeError);
      await assert.rejects(reader.frame(-n - 1), RangeError);
    });

    test('frames(shuffled with duplicates) comes back in request order', async () => {
      const n = ref.count;
      const all = Array.from({ length: n }, (_, i) => i);
      const req = [...shuffled(all).slice(0, Math.min(n, 15)), 0, n - 1, 3, 3, -1, -2];
      const got = await reader.frames(req);
      assert.equal(got.length, req.length);
      req.forEach((r, j) => assertFrame(got[j], r < 0 ? n + r : r, ref, `frames()[${j}] (${r}): `));
      await assert.rejects(reader.frames([0, n]), RangeError);
      assert.deepEqual(await reader.frames([]), []);
    });

    test('frames(all ascending) decodes about one frame per frame', async () => {
      const n = ref.count;
      const before = reader.stats.randomAccessFramesDecoded;
      const got = await reader.frames(Array.from({ length: n }, (_, i) => i));
      const decoded = reader.stats.randomAccessFramesDecoded - before;
      got.forEach((f, i) => assertFrame(f, i, ref, 'batch: '));
      assert.ok(decoded <= n + 16, `decoded ${decoded} frames for a batch of ${n}`);
    });

    test('frameAt(t): at each pts, just before the next; out of span → RangeError', async () => {
      const n = ref.count;
      // query with the reader's own seconds (exactly representable boundaries), after checking them against ffprobe's
      const t = Array.from((await reader.index()).times);
      t.forEach((x, i) => assert.ok(Math.abs(x - ref.times[i]) < 1e-9, `index().times[${i}] ${x} vs ffprobe ${ref.times[i]}`));
      for (let i = 0; i < n; i++) {
        const f = await reader.frameAt(t[i]);
        assert.equal(f.index, i, `frameAt(${t[i]}) (frame ${i}'s pts)`);
        if (i + 1 < n) {
          const g = await reader.frameAt(t[i + 1] - 1e-6);
          assert.equal(g.index, i, `frameAt(${t[i + 1]} - 1e-6)`);
        }
      }
      assertFrame(await reader.frameAt(t[n - 1]), n - 1, ref, 'frameAt(last): ');
      await assert.rejects(reader.frameAt(t[0] - 1e-3), RangeError);
      await assert.rejects(reader.frameAt(t[n - 1] + 10), RangeError);
    });

    test('keyframes().indices are the frames ffprobe marks key_frame=1', async () => {
      const k = await reader.keyframes();
      assert.deepEqual(k.indices, ref.keys);
      assert.equal(k.times.length, k.indices.length);
      k.indices.forEach((i, j) => assert.ok(Math.abs(k.times[j] - ref.times[i]) < 1e-9, `keyframe ${i} time`));
    });

    test('random access does not disturb sequential reads', async () => {
      const r = await open(file);
      try {
        const n = ref.count;
        const jumps = shuffled(Array.from({ length: n }, (_, i) => i), 777);
        for (let i = 0; ; i++) {
          const f = await r.read();
          if (!f) {
            assert.equal(i, n, 'sequential frame count');
            break;
          }
          assert.equal(f.index, i, 'sequential index');
          assert.ok(bytes(f).equals(ref.cli[i]), `sequential frame ${i} bytes`);
          if (i % 2 === 0) {
            const k = jumps[i % n];
            assertFrame(await r.frame(k), k, ref, `interleaved frame(${k}): `);
          }
        }
        assert.equal(await r.read(), null);
        // random access still works after the sequential end
        assertFrame(await r.frame(0), 0, ref, 'after end: ');
      } finally {
        await r.close();
      }
    });
  });
}

describe('random access: closed readers', () => {
  let file;
  beforeAll(() => { file = makeClip(join(dir, 'closed.mp4'), { size: SIZE, frames: 12, extra: ['-g', '6', '-bf', '2'] }); });

  test('frame(0) after close rejects CLOSED (index already built)', async () => {
    const r = await open(file);
    await r.frame(3);
    await r.close();
    await assert.rejects(r.frame(0), (e) => e instanceof AvcvError && e.code === 'CLOSED');
    await assert.rejects(r.frames([0, 1]), (e) => e instanceof AvcvError && e.code === 'CLOSED');
    await assert.rejects(r.frameAt(0), (e) => e instanceof AvcvError && e.code === 'CLOSED');
  });

  test('frame(0) after close rejects CLOSED (never indexed)', async () => {
    const r = await open(file);
    await r.close();
    await assert.rejects(r.frame(0), (e) => e instanceof AvcvError && e.code === 'CLOSED');
    await assert.rejects(r.index(), (e) => e instanceof AvcvError && e.code === 'CLOSED');
    await assert.rejects(r.keyframes(), (e) => e instanceof AvcvError && e.code === 'CLOSED');
  });

  test('non-integer indices are TypeErrors', async () => {
    const r = await open(file);
    try {
      await assert.rejects(r.frame(1.5), TypeError);
      await assert.rejects(r.frames([0, '1']), TypeError);
      await assert.rejects(r.frameAt(NaN), TypeError);
    } finally {
      await r.close();
    }
  });
});

describe('random access: decode cost and ambiguous timestamps', () => {
  test('the frames at the end of a long GOP are not re-decoded one by one (after the decoder drains)', async () => {
    // one 60-frame GOP with B-frames: the last few frames come out while the decoder drains
    const file = makeClip(join(dir, 'longgop.mp4'), { size: SIZE, frames: 60, extra: ['-g', '60', '-bf', '3'] });
    const cli = cliGray(file);
    const r = await open(file);
    try {
      const n = (await r.index()).frameCount;
      assert.equal(n, cli.length);
      const all = Array.from({ length: n }, (_, i) => i);
      let b = r.stats.randomAccessFramesDecoded;
      const got = await r.frames(all);
      const batch = r.stats.randomAccessFramesDecoded - b;
      got.forEach((f, i) => assert.ok(bytes(f).equals(cli[i]), `batch frame ${i} bytes`));
      b = r.stats.randomAccessFramesDecoded;
      for (const i of all) assert.ok(bytes(await r.frame(i)).equals(cli[i]), `frame(${i}) bytes`);
      const oneByOne = r.stats.randomAccessFramesDecoded - b;
      assert.ok(batch <= n + 16, `frames(0..${n - 1}) decoded ${batch} frames`);
      assert.ok(oneByOne <= n + 16, `frame(0), frame(1), ... frame(${n - 1}) decoded ${oneByOne} frames`);
    } finally {
      await r.close();
    }
  });

  test('duplicate pts (mkv rounded to 1/25 s): frame(i) is the CLI frame i or an AvcvError, never another frame', async () => {
    // the encoder's 1/25 time base rounds these pts, so two frames share one
    const file = join(dir, 'duppts.mkv');
    ffmpeg([...lavfi(30), '-vf', 'setpts=(N/25+floor(N/3)*0.017+mod(N\\,2)*0.005)/TB',
      '-fps_mode', 'passthrough', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '12', '-bf', '2', file]);
    const ref = probeRef(file);
    const dup = ref.pts.findIndex((p, i) => i > 0 && p === ref.pts[i - 1]);
    assert.ok(dup > 0, 'the file has a repeated pts');
    const cli = cliGray(file);
    const r = await open(file);
    try {
      const ix = await r.index();
      assert.equal(ix.frameCount, ref.count);
      assert.deepEqual(Array.from(ix.pts), ref.pts);
      for (const i of [dup - 1, dup]) {
        let f;
        try {
          f = await r.frame(i);
        } catch (e) {
          assert.ok(e instanceof AvcvError, `frame(${i}) threw ${e}`);
          continue;
        }
        assert.equal(f.index, i);
        assert.ok(bytes(f).equals(cli[i]), `frame(${i}) (pts ${ref.pts[i]}, shared with another frame) returned other bytes than the CLI's frame ${i}`);
      }
    } finally {
      await r.close();
    }
  });
});
