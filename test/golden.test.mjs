// Golden frames: every frame avcv decodes is compared, byte for byte, with the
// ffmpeg CLI's raw output for the same file (the independent reference).
// Media is generated at test time in a temp folder.
import { describe, it, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { VideoReader, Frame } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, makeClip, readAll, concatFrames, diffStats } from './helpers.mjs';

const dir = tempDir('avcv-golden-');
const path = (name) => join(dir, name);

/** Opens, reads every frame, closes. */
async function decodeAll(file, options = {}) {
  const reader = await VideoReader.open(file, options);
  try {
    const frames = await readAll(reader);
    return { info: reader.info, frames, data: concatFrames(frames) };
  } finally {
    await reader.close();
  }
}

/** Byte-exact comparison with a compact message (first differing frame, max abs diff). */
function assertSameBytes(actual, expected, frameBytes, label) {
  if (actual.length === expected.length && actual.equals(expected)) return;
  let msg = `${label}: avcv ${actual.length} bytes (${actual.length / frameBytes} frames), CLI ${expected.length} bytes (${expected.length / frameBytes} frames)`;
  const n = Math.min(actual.length, expected.length);
  for (let off = 0; off < n; off += frameBytes) {
    const a = actual.subarray(off, off + frameBytes);
    const b = expected.subarray(off, off + frameBytes);
    if (!a.equals(b)) {
      const d = a.length === b.length ? diffStats(a, b) : { max: NaN, count: NaN };
      msg += `; first differing frame ${off / frameBytes}: max abs diff ${d.max}, ${d.count} bytes differ`;
      break;
    }
  }
  assert.fail(msg);
}

/** avcv(file, options) == CLI(file, pixFmt, cliOpts), every frame, byte for byte. Returns avcv's result. */
async function assertGolden(file, options, pixFmt, cliOpts = {}, label = `${file} ${pixFmt}`) {
  const got = await decodeAll(file, options);
  const ref = cliFrames(file, pixFmt, cliOpts);
  assert.ok(got.frames.length > 0, `${label}: no frames`);
  assertSameBytes(got.data, ref, got.info.frameBytes, label);
  return got;
}

/** ffprobe's decoded frame count. */
function probeFrameCount(file) {
  const j = ffprobe(file, ['-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames']);
  return Number(j.streams[0].nb_read_frames);
}

/** ffprobe's per-frame timestamps (best_effort_timestamp, else pts) and the stream time base. */
function probeTimestamps(file) {
  const j = ffprobe(file, ['-select_streams', 'v:0', '-show_entries', 'frame=pts,best_effort_timestamp:stream=time_base']);
  const [num, den] = j.streams[0].time_base.split('/').map(Number);
  const pts = j.frames.map((f) => Number(f.best_effort_timestamp ?? f.pts));
  return { pts, num, den };
}

/** Side-data rotation of v:0 as ffprobe reports it (degrees), or null. */
function probeRotation(file) {
  const j = ffprobe(file, ['-select_streams', 'v:0', '-show_streams']);
  const sd = (j.streams[0].side_data_list ?? []).find((s) => s.rotation !== undefined);
  return sd ? Number(sd.rotation) : null;
}

/** hwc frames of `c` channels -> chw (planes in the same channel order), hand-computed. */
function hwcToChw(hwc, c, area) {
  const out = Buffer.alloc(hwc.length);
  for (let f = 0; f < hwc.length; f += c * area) {
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) out[f + k * area + p] = hwc[f + p * c + k];
  }
  return out;
}

// ---------------------------------------------------------------------------
// Codec matrix: H.264, HEVC, VP9, AV1, MJPEG.
// ---------------------------------------------------------------------------
const CODECS = [
  // libx264 default settings use B-frames, so display order differs from decode order.
  { name: 'H.264 (libx264, mp4)', file: 'h264.mp4', codec: 'libx264', extra: [] },
  { name: 'HEVC (libx265, mp4)', file: 'hevc.mp4', codec: 'libx265', extra: ['-x265-params', 'log-level=error'] },
  { name: 'VP9 (libvpx-vp9, webm)', file: 'vp9.webm', codec: 'libvpx-vp9', extra: ['-deadline', 'realtime', '-cpu-used', '8'] },
  { name: 'AV1 (libaom-av1, mkv)', file: 'av1.mkv', codec: 'libaom-av1', extra: ['-cpu-used', '8'] },
  // mjpeg encodes yuvj420p (full range)
  { name: 'MJPEG (avi)', file: 'mjpeg.avi', codec: 'mjpeg', pixFmt: 'yuvj420p', extra: ['-q:v', '4'] },
];

for (const c of CODECS) {
  describe(`golden: ${c.name}`, () => {
    const file = path(c.file);
    beforeAll(() => {
      makeClip(file, { size: '320x240', frames: 12, codec: c.codec, pixFmt: c.pixFmt ?? 'yuv420p', extra: c.extra });
    });

    for (const fmt of ['bgr24', 'rgb24', 'gray']) {
      it(`${fmt} frames equal the CLI's byte for byte`, async () => {
        const got = await assertGolden(file, { format: fmt }, fmt);
        assert.equal(got.info.width, 320);
        assert.equal(got.info.height, 240);
        assert.equal(got.info.frameBytes, 320 * 240 * (fmt === 'gray' ? 1 : 3));
        for (const f of got.frames) {
          assert.equal(f.format, fmt);
          assert.equal(f.data.byteLength, got.info.frameBytes);
        }
      });
    }

    it('frame count equals ffprobe -count_frames', async () => {
      const got = await decodeAll(file, { format: 'gray' });
      assert.equal(got.frames.length, probeFrameCount(file));
    });

    it('pts equals ffprobe best_effort_timestamp, time = pts * time_base, index 0..n-1', async () => {
      const got = await decodeAll(file, { format: 'gray' });
      const ref = probeTimestamps(file);
      assert.deepEqual(got.frames.map((f) => f.pts), ref.pts);
      assert.deepEqual(got.frames.map((f) => f.index), ref.pts.map((_, i) => i));
      assert.deepEqual([got.info.stream.timeBase.num, got.info.stream.timeBase.den], [ref.num, ref.den]);
      for (const f of got.frames) {
        const want = (f.pts * ref.num) / ref.den;
        assert.ok(Math.abs(f.time - want) < 1e-9, `frame ${f.index}: time ${f.time} != ${want}`);
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Layouts and in-memory conversions.
// ---------------------------------------------------------------------------
describe('golden: layouts and pixel formats', () => {
  const file = path('layout.mp4');
  const W = 320;
  const H = 240;
  beforeAll(() => {
    makeClip(file, { size: `${W}x${H}`, frames: 6 });
  });

  // a layout never changes values: chw is the CLI's hwc frame transposed
  it("rgb24 'chw' equals the CLI's rgb24 frames transposed (planes R, G, B)", async () => {
    const got = await decodeAll(file, { format: 'rgb24', layout: 'chw' });
    assert.deepEqual([...got.info.shape], [3, H, W]);
    const ref = hwcToChw(cliFrames(file, 'rgb24'), 3, W * H);
    assertSameBytes(got.data, ref, got.info.frameBytes, 'rgb24 chw');
  });

  it("bgr24 'chw' equals the CLI's bgr24 frames transposed (planes B, G, R)", async () => {
    const got = await decodeAll(file, { format: 'bgr24', layout: 'chw' });
    assert.deepEqual([...got.info.shape], [3, H, W]);
    const ref = hwcToChw(cliFrames(file, 'bgr24'), 3, W * H);
    assertSameBytes(got.data, ref, got.info.frameBytes, 'bgr24 chw');
  });

  it("rgba 'chw' equals the CLI's rgba frames transposed, with a resize and a crop", async () => {
    const got = await decodeAll(file, { format: 'rgba', layout: 'chw', crop: { x: 10, y: 6, width: 200, height: 150 }, resize: { width: 101 } });
    const ref = hwcToChw(cliFrames(file, 'rgba', { vf: 'crop=200:150:10:6,scale=101:-1' }), 4, got.info.width * got.info.height);
    assertSameBytes(got.data, ref, got.info.frameBytes, 'rgba chw');
  });

  it("Frame.toLayout('chw') is the exact transpose of the hwc data, and back", async () => {
    const { frames } = await decodeAll(file, { format: 'rgb24' });
    for (const f of frames.slice(0, 2)) {
      const chw = f.toLayout('chw');
      assert.equal(chw.layout, 'chw');
      assert.deepEqual([...chw.shape], [3, H, W]);
      const want = Buffer.alloc(W * H * 3);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          for (let c = 0; c < 3; c++) want[c * W * H + y * W + x] = f.data[(y * W + x) * 3 + c];
        }
      }
      assert.ok(Buffer.from(chw.data).equals(want), 'chw != hand-computed transpose');
      assert.equal(chw.pts, f.pts);
      assert.equal(chw.index, f.index);
      const back = chw.toLayout('hwc');
      assert.ok(Buffer.from(back.data).equals(Buffer.from(f.data)), 'hwc -> chw -> hwc is not the identity');
    }
  });

  it("frame.to('rgb24') of a bgr24 frame swaps the channels exactly", async () => {
    const { frames } = await decodeAll(file, { format: 'bgr24' });
    const f = frames[0];
    const rgb = f.to('rgb24');
    assert.equal(rgb.format, 'rgb24');
    const want = Buffer.alloc(f.data.length);
    for (let i = 0; i < f.data.length; i += 3) {
      want[i] = f.data[i + 2];
      want[i + 1] = f.data[i + 1];
      want[i + 2] = f.data[i];
    }
    assert.ok(Buffer.from(rgb.data).equals(want), 'rgb24 != bgr24 with channels swapped');
    // and it matches the CLI's rgb24 output of the same frame
    const cli = cliFrames(file, 'rgb24').subarray(0, W * H * 3);
    assert.ok(Buffer.from(rgb.data).equals(cli), "to('rgb24') != CLI rgb24");
    // a hand-built Frame converts the same way
    const wrapped = Frame.from(Buffer.from(f.data), { width: W, height: H, format: 'bgr24' });
    assert.ok(Buffer.from(wrapped.to('rgb24').data).equals(want));
  });

  for (const fmt of ['yuv420p', 'nv12']) {
    it(`${fmt} output equals the CLI's -pix_fmt ${fmt}`, async () => {
      const got = await assertGolden(file, { format: fmt }, fmt);
      assert.equal(got.info.layout, 'planar');
      assert.equal(got.info.frameBytes, (W * H * 3) / 2);
    });
  }
});

// ---------------------------------------------------------------------------
// Resize, crop, interpolation, quality.
// ---------------------------------------------------------------------------
describe('golden: resize and crop', () => {
  const file = path('scale.mp4');
  beforeAll(() => {
    makeClip(file, { size: '320x240', frames: 5 });
  });

  // avcv's default interpolation is bicubic, the CLI's default sws flags are bicubic: byte-exact.
  it('crop + resize (default bicubic) equals -vf crop=w:h:x:y,scale=W:H', async () => {
    const got = await assertGolden(file, { crop: { x: 16, y: 10, width: 200, height: 150 }, resize: { width: 96, height: 72 } },
      'bgr24', { vf: 'crop=200:150:16:10,scale=96:72' });
    assert.equal(got.info.width, 96);
    assert.equal(got.info.height, 72);
    assert.deepEqual(got.info.crop, { x: 16, y: 10, width: 200, height: 150 });
  });

  // Output widths in this process are multiples of 16; other widths are tested out of process below.
  it('crop alone equals -vf crop=w:h:x:y', async () => {
    await assertGolden(file, { crop: { x: 40, y: 30, width: 128, height: 100 } }, 'bgr24', { vf: 'crop=128:100:40:30' });
  });

  it('an odd crop origin is rounded down to the chroma grid, as the CLI crop filter does', async () => {
    const got = await assertGolden(file, { crop: { x: 41, y: 31, width: 128, height: 100 } }, 'bgr24', { vf: 'crop=128:100:41:31' });
    // the CLI's crop filter (without exact=1) rounds x,y down to the 4:2:0 grid: the same bytes as 40,30
    assertSameBytes(got.data, cliFrames(file, 'bgr24', { vf: 'crop=128:100:40:30' }), got.info.frameBytes, 'crop at 40,30');
    assert.deepEqual(got.info.crop, { x: 40, y: 30, width: 128, height: 100 });
  });

  it('resize alone (default bicubic) equals -vf scale=W:H (down and up)', async () => {
    await assertGolden(file, { resize: { width: 160, height: 120 } }, 'bgr24', { vf: 'scale=160:120' });
    await assertGolden(file, { format: 'rgb24', resize: { width: 400, height: 300 } }, 'rgb24', { vf: 'scale=400:300' });
  });

  const interp = [
    ['bilinear', 'bilinear'],
    ['nearest', 'neighbor'],
    ['area', 'area'],
    ['bicubic', 'bicubic'],
  ];
  for (const [mode, flags] of interp) {
    it(`interpolation '${mode}' equals -vf scale=W:H:flags=${flags}`, async () => {
      await assertGolden(file, { resize: { width: 128, height: 96, interpolation: mode } }, 'bgr24',
        { vf: `scale=128:96:flags=${flags}` });
    });
  }

  it("quality 'accurate' equals -sws_flags bicubic+accurate_rnd+full_chroma_int", async () => {
    const sws = 'bicubic+accurate_rnd+full_chroma_int';
    await assertGolden(file, { quality: 'accurate' }, 'bgr24', { sws });
    await assertGolden(file, { format: 'rgb24', quality: 'accurate', resize: { width: 160, height: 120 } }, 'rgb24', { sws, vf: 'scale=160:120' });
  });
});

// ---------------------------------------------------------------------------
// Bit depth, range, chroma subsampling, colorspace.
// ---------------------------------------------------------------------------
describe('golden: bit depth, range, subsampling, colour space', () => {
  it('10-bit HEVC (yuv420p10le) -> bgr24 equals the CLI', async () => {
    const file = makeClip(path('hevc10.mkv'), { frames: 5, codec: 'libx265', pixFmt: 'yuv420p10le', extra: ['-x265-params', 'log-level=error'] });
    const got = await assertGolden(file, { format: 'bgr24' }, 'bgr24');
    assert.equal(got.info.stream.pixelFormat, 'yuv420p10le');
    assert.equal(got.info.stream.bitDepth, 10);
    for (const fmt of ['rgb24', 'gray', 'yuv420p', 'nv12']) await assertGolden(file, { format: fmt }, fmt);
  });

  it('full-range MJPEG (yuvj420p) -> bgr24 equals the CLI', async () => {
    const file = makeClip(path('fullrange.mkv'), { frames: 5, codec: 'mjpeg', pixFmt: 'yuvj420p' });
    for (const fmt of ['bgr24', 'gray', 'yuv420p', 'nv12']) await assertGolden(file, { format: fmt }, fmt);
  });

  it('full-range H.264 (-color_range pc) -> bgr24 equals the CLI', async () => {
    const file = makeClip(path('fullrange.mp4'), { frames: 5, pixFmt: 'yuv420p', extra: ['-color_range', 'pc'] });
    const j = ffprobe(file);
    assert.equal(j.streams[0].color_range, 'pc');
    const got = await assertGolden(file, { format: 'bgr24' }, 'bgr24');
    assert.equal(got.info.stream.colorRange, 'pc');
    for (const fmt of ['gray', 'yuv420p']) await assertGolden(file, { format: fmt }, fmt);
  });

  it('4:4:4 H.264 (yuv444p) -> bgr24 equals the CLI', async () => {
    const file = makeClip(path('444.mp4'), { frames: 5, pixFmt: 'yuv444p' });
    for (const fmt of ['bgr24', 'yuv420p', 'nv12']) await assertGolden(file, { format: fmt }, fmt);
  });

  it('BT.709-tagged H.264 -> bgr24 equals the CLI', async () => {
    const file = makeClip(path('bt709.mp4'), {
      frames: 5, extra: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'],
    });
    const j = ffprobe(file);
    assert.equal(j.streams[0].color_space, 'bt709');
    const got = await assertGolden(file, { format: 'bgr24' }, 'bgr24');
    assert.equal(got.info.stream.colorSpace, 'bt709');
    // and the tag matters: the BT.601 interpretation of the same samples differs
    const bt601 = cliFrames(file, 'bgr24', { vf: 'scale=in_color_matrix=bt601' });
    assert.ok(!got.data.equals(bt601), 'BT.709 and BT.601 conversions should differ on testsrc2');
  });
});

// ---------------------------------------------------------------------------
// Variable frame rate.
// ---------------------------------------------------------------------------
describe('golden: variable frame rate', () => {
  for (const ext of ['mkv', 'mp4']) {
    it(`VFR ${ext}: pts list equals ffprobe's and frames equal the CLI's passthrough frames`, async () => {
      const file = path(`vfr.${ext}`);
      // drop frames 1,2 of every 5 and 9 of 0..19: irregular gaps between timestamps
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', '20',
        '-vf', "select='not(between(mod(n\\,5)\\,1\\,2))*not(eq(n\\,9))'", '-fps_mode', 'vfr',
        '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
      const ref = probeTimestamps(file);
      const deltas = ref.pts.slice(1).map((p, i) => p - ref.pts[i]);
      assert.ok(new Set(deltas).size > 1, `expected a variable frame rate, got deltas ${deltas}`);
      const got = await assertGolden(file, { format: 'bgr24' }, 'bgr24');
      assert.deepEqual(got.frames.map((f) => f.pts), ref.pts);
      assert.equal(got.frames.length, probeFrameCount(file));
      for (const f of got.frames) assert.ok(Math.abs(f.time - (f.pts * ref.num) / ref.den) < 1e-9);
    });
  }
});

// ---------------------------------------------------------------------------
// Rotation (display matrix).
// ---------------------------------------------------------------------------
describe('golden: rotation', () => {
  const src = path('rot-src.mp4');
  beforeAll(() => {
    makeClip(src, { size: '160x96', frames: 4 });
  });

  for (const rot of [90, 180, 270]) {
    it(`rotate=${rot}: stream.rotation equals ffprobe's; frames unrotated by default, rotated with autorotate`, async () => {
      const file = path(`rot${rot}.mp4`);
      ffmpeg(['-i', src, '-c', 'copy', '-metadata:s:v:0', `rotate=${rot}`, file]);
      // ffprobe's display-matrix rotation (counterclockwise degrees). Its sign convention for the
      // rotate tag varies between FFmpeg versions, so only its magnitude is checked here.
      const sideRot = probeRotation(file);
      assert.ok(sideRot !== null && [90, 180].includes(Math.abs(sideRot)) && (rot === 180) === (Math.abs(sideRot) === 180),
        `ffprobe side_data rotation ${sideRot} for rotate=${rot}`);
      // the CLI's autorotate applies -rotation, i.e. (-sideRot) mod 360 degrees clockwise
      const cw = (((-sideRot) % 360) + 360) % 360;

      const plain = await assertGolden(file, { format: 'bgr24' }, 'bgr24', { inputArgs: ['-noautorotate'] }, `rot${rot} unrotated`);
      assert.equal(plain.info.stream.rotation, sideRot);
      assert.equal(plain.info.rotation, 0);
      assert.equal(plain.info.width, 160);
      assert.equal(plain.info.height, 96);

      const auto = await assertGolden(file, { format: 'bgr24', autorotate: true }, 'bgr24', {}, `rot${rot} autorotated`);
      assert.equal(auto.info.stream.rotation, sideRot);
      assert.equal(auto.info.rotation, cw);
      const swapped = cw % 180 !== 0;
      assert.equal(auto.info.width, swapped ? 96 : 160);
      assert.equal(auto.info.height, swapped ? 160 : 96);
      assert.deepEqual([...auto.frames[0].shape], [auto.info.height, auto.info.width, 3]);
    });
  }
});

// ---------------------------------------------------------------------------
// Odd sizes and output widths that are not a multiple of 16. These decode in
// a child process: a write past the end of a frame buffer corrupts the heap,
// and must fail the test that caused it rather than crash the whole file.
// ---------------------------------------------------------------------------
describe('golden: odd sizes and widths not a multiple of 16 (decoded in a child process)', () => {
  const child = path('decode-child.mjs');
  const lib = new URL('../dist/index.mjs', import.meta.url).href;
  beforeAll(() => {
    writeFileSync(child, `
      import { writeFileSync } from 'node:fs';
      import { VideoReader } from ${JSON.stringify(lib)};
      const [file, opts, repeat, out] = [process.argv[2], JSON.parse(process.argv[3]), Number(process.argv[4]), process.argv[5]];
      let chunks = [];
      let info;
      for (let i = 0; i < repeat; i++) {
        chunks = [];
        const reader = await VideoReader.open(file, opts);
        for await (const f of reader) chunks.push(Buffer.from(f.data));
        await reader.close();
        info = reader.info;
      }
      writeFileSync(out, Buffer.concat(chunks));
      process.stdout.write(JSON.stringify({ width: info.width, height: info.height, shape: info.shape, frameBytes: info.frameBytes }));
    `);
  });

  /** Decodes `repeat` times in a child process (repeats make a heap overrun fatal); returns the last pass. */
  function childDecode(file, opts, repeat = 4) {
    const out = `${file}.${Math.random().toString(36).slice(2)}.raw`;
    const r = spawnSync(process.execPath, [child, file, JSON.stringify(opts), String(repeat), out], { encoding: 'utf8' });
    assert.ok(r.status === 0,
      `child decoding ${JSON.stringify(opts)} exited with status ${r.status}, signal ${r.signal}: ${r.stderr.slice(-400)}`);
    return { info: JSON.parse(r.stdout), data: readFileSync(out) };
  }

  const cases = [
    // [name, clip options, reader options, CLI pix_fmt, CLI options, expected W x H]
    ['318x238 H.264 4:2:0 -> bgr24', { size: '318x238' }, { format: 'bgr24' }, 'bgr24', {}, [318, 238]],
    // testsrc (RGB) keeps odd sizes; testsrc2 rounds them to even
    ['175x99 H.264 4:4:4 -> bgr24', { size: '175x99', pixFmt: 'yuv444p', src: 'testsrc' }, { format: 'bgr24' }, 'bgr24', {}, [175, 99]],
    ['175x99 H.264 4:4:4 -> gray', { size: '175x99', pixFmt: 'yuv444p', src: 'testsrc' }, { format: 'gray' }, 'gray', {}, [175, 99]],
    ['175x99 MJPEG 4:2:0 full range -> bgr24', { size: '175x99', codec: 'mjpeg', pixFmt: 'yuvj420p', src: 'testsrc', ext: 'avi' },
      { format: 'bgr24' }, 'bgr24', {}, [175, 99]],
    ['175x99 FFV1 4:2:0 -> rgb24', { size: '175x99', codec: 'ffv1', src: 'testsrc', ext: 'mkv' }, { format: 'rgb24' }, 'rgb24', {}, [175, 99]],
    ['174x98 H.264 -> bgr24', { size: '174x98' }, { format: 'bgr24' }, 'bgr24', {}, [174, 98]],
    ['120x96 H.264 -> bgr24', { size: '120x96' }, { format: 'bgr24' }, 'bgr24', {}, [120, 96]],
    ['328x96 H.264 -> rgb24', { size: '328x96' }, { format: 'rgb24' }, 'rgb24', {}, [328, 96]],
    ['crop to width 120', { size: '320x96' }, { crop: { x: 40, y: 0, width: 120, height: 96 } }, 'bgr24', { vf: 'crop=120:96:40:0' }, [120, 96]],
    ['resize to 136x80', { size: '320x96' }, { resize: { width: 136, height: 80 } }, 'bgr24', { vf: 'scale=136:80' }, [136, 80]],
  ];
  cases.forEach(([name, clip, opts, pixFmt, cli, [w, h]], i) => {
    it(`${name}: frames equal the CLI's, and the process survives`, () => {
      const file = makeClip(path(`odd${i}.${clip.ext ?? 'mp4'}`), { frames: 30, ...clip });
      const got = childDecode(file, opts);
      assert.equal(got.info.width, w);
      assert.equal(got.info.height, h);
      assertSameBytes(got.data, cliFrames(file, pixFmt, cli), got.info.frameBytes, name);
    });
  });
});
