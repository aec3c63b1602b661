// API surface and option validation: wrong options throw TypeError/RangeError
// naming the option; info/shape/data agree with ffprobe and with each other;
// Frame.from wraps without copying; CJS and ESM entries are one module;
// VideoCapture behaves like cv2.VideoCapture; the CLI works.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as esm from '../dist/index.mjs';
import { VideoReader, VideoCapture, probe, Frame, AvcvError } from '../dist/index.mjs';
import { tempDir, ffprobe, makeClip, cliFrames } from './helpers.mjs';

const T = 20_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = tempDir('avcv-api-');
const W = 320;
const H = 240;
const N = 30;
let clip;

beforeAll(() => {
  clip = makeClip(join(dir, 'clip.mp4'), { size: `${W}x${H}`, rate: 25, frames: N });
});

async function firstFrame(options) {
  const r = await VideoReader.open(clip, options);
  try {
    return { frame: await r.read(), info: r.info };
  } finally {
    await r.close();
  }
}

const named = (ctor, re) => (e) => {
  assert.ok(e instanceof ctor, `expected ${ctor.name}, got ${e?.constructor?.name}: ${e?.message}`);
  assert.match(e.message, re);
  return true;
};

// ---- option validation ----

test('an unknown option key is a TypeError naming it', async () => {
  await assert.rejects(VideoReader.open(clip, { formt: 'rgb24' }), named(TypeError, /'formt'/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: 10, heigth: 10 } }), named(TypeError, /'heigth'/));
  await assert.rejects(VideoReader.open(clip, { crop: { x: 0, y: 0, width: 10, height: 10, z: 1 } }), named(TypeError, /'z'/));
  await assert.rejects(probe(clip, { format: 'rgb24' }), named(TypeError, /'format'/));
  await assert.rejects(VideoCapture.open(clip, { bogus: true }), named(TypeError, /'bogus'/));
}, T);

test("format 'xyz' is a TypeError naming format", async () => {
  await assert.rejects(VideoReader.open(clip, { format: 'xyz' }), named(TypeError, /format/));
  await assert.rejects(VideoReader.open(clip, { format: 'BGR24' }), named(TypeError, /format/));
  await assert.rejects(VideoReader.open(clip, { layout: 'whc' }), named(TypeError, /layout/));
}, T);

test("layout 'chw' with yuv420p / nv12, or 'planar' with rgb24, is a RangeError", async () => {
  await assert.rejects(VideoReader.open(clip, { format: 'yuv420p', layout: 'chw' }), named(RangeError, /chw|layout/));
  await assert.rejects(VideoReader.open(clip, { format: 'nv12', layout: 'hwc' }), named(RangeError, /layout/));
  await assert.rejects(VideoReader.open(clip, { format: 'rgb24', layout: 'planar' }), named(RangeError, /planar/));
}, T);

test('resize validation', async () => {
  await assert.rejects(VideoReader.open(clip, { resize: { width: 0 } }), named(RangeError, /resize\.width/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: 1.5 } }), named(RangeError, /resize\.width/));
  await assert.rejects(VideoReader.open(clip, { resize: { height: -4 } }), named(RangeError, /resize\.height/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: 100000 } }), named(RangeError, /resize\.width/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: '64' } }), named(TypeError, /resize\.width/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: NaN } }), named(TypeError, /resize\.width/));
  await assert.rejects(VideoReader.open(clip, { resize: {} }), TypeError);
  await assert.rejects(VideoReader.open(clip, { resize: 64 }), named(TypeError, /resize/));
  await assert.rejects(VideoReader.open(clip, { resize: { width: 64, interpolation: 'cubic' } }), named(TypeError, /interpolation/));
  await assert.rejects(VideoReader.open(clip, { format: 'yuv420p', resize: { width: 63 } }), RangeError);
}, T);

test('crop outside the frame is refused', async () => {
  const isCropError = (e) => {
    assert.ok(e instanceof AvcvError || e instanceof RangeError, `${e?.constructor?.name}: ${e?.message}`);
    assert.match(e.message, /crop/);
    if (e instanceof AvcvError) assert.equal(e.source, clip);
    return true;
  };
  await assert.rejects(VideoReader.open(clip, { crop: { x: 300, y: 0, width: 100, height: 100 } }), isCropError);
  await assert.rejects(VideoReader.open(clip, { crop: { x: 0, y: 0, width: W + 2, height: 10 } }), isCropError);
  await assert.rejects(VideoReader.open(clip, { crop: { x: 0, y: 200, width: 10, height: 41 } }), isCropError);
  await assert.rejects(VideoReader.open(clip, { crop: { x: -1, y: 0, width: 10, height: 10 } }), named(RangeError, /crop\.x/));
  await assert.rejects(VideoReader.open(clip, { crop: { x: 0, y: 0, width: 0, height: 10 } }), named(RangeError, /crop\.width/));
  await assert.rejects(VideoReader.open(clip, { crop: { x: 0, y: 0, width: 10 } }), named(TypeError, /crop\.height/));
}, T);

test('prefetch and other numeric options are range-checked', async () => {
  await assert.rejects(VideoReader.open(clip, { prefetch: 0 }), named(RangeError, /prefetch/));
  await assert.rejects(VideoReader.open(clip, { prefetch: 65 }), named(RangeError, /prefetch/));
  await assert.rejects(VideoReader.open(clip, { prefetch: 2.5 }), named(RangeError, /prefetch/));
  await assert.rejects(VideoReader.open(clip, { threads: -1 }), named(RangeError, /threads/));
  await assert.rejects(VideoReader.open(clip, { reuseBuffers: 'yes' }), named(TypeError, /reuseBuffers/));
  await assert.rejects(VideoReader.open(clip, { onCorrupt: 'ignore' }), named(TypeError, /onCorrupt/));
  await assert.rejects(VideoReader.open(clip, { signal: {} }), named(TypeError, /signal/));
  await assert.rejects(VideoReader.open(clip, { protocols: 'file' }), named(TypeError, /protocols/));
  await assert.rejects(VideoReader.open(clip, null), TypeError);
  await assert.rejects(VideoReader.open(42), TypeError);
  await assert.rejects(VideoReader.open(''), TypeError);
}, T);

// ---- info, shape, data ----

test('reader.info agrees with ffprobe', async () => {
  const ref = ffprobe(clip, ['-show_streams', '-count_frames']).streams[0];
  const [num, den] = ref.avg_frame_rate.split('/').map(Number);
  const r = await VideoReader.open(clip);
  try {
    const i = r.info;
    assert.equal(i.source, clip);
    assert.equal(i.width, ref.width);
    assert.equal(i.height, ref.height);
    assert.equal(i.format, 'bgr24');
    assert.equal(i.layout, 'hwc');
    assert.equal(i.channels, 3);
    assert.deepEqual([...i.shape], [H, W, 3]);
    assert.ok(Object.isFrozen(i.shape));
    assert.equal(i.frameBytes, W * H * 3);
    assert.equal(i.fps, num / den);
    assert.equal(i.frameCount, Number(ref.nb_frames));
    assert.equal(i.frameCount, Number(ref.nb_read_frames));
    assert.equal(i.frameCountExact, true);
    assert.ok(Math.abs(i.duration - Number(ref.duration)) < 1e-3, `${i.duration} vs ${ref.duration}`);
    assert.equal(i.stream.codec, ref.codec_name);
    assert.equal(i.stream.pixelFormat, ref.pix_fmt);
    assert.equal(i.rotation, 0);
    assert.equal(i.crop, null);
    assert.equal(i.device.type, 'cpu');
  } finally {
    await r.close();
  }
}, T);

test('info with resize / crop / other formats', async () => {
  let { info } = await firstFrame({ resize: { width: 160 } });
  assert.equal(info.width, 160);
  assert.equal(info.height, 120); // aspect kept
  ({ info } = await firstFrame({ format: 'rgba', layout: 'chw', crop: { x: 10, y: 20, width: 100, height: 50 } }));
  assert.deepEqual([...info.shape], [4, 50, 100]);
  assert.equal(info.frameBytes, 4 * 50 * 100);
  assert.deepEqual(info.crop, { x: 10, y: 20, width: 100, height: 50 });
}, T);

test('frame.data is a Uint8Array of exactly the shape product', async () => {
  const cases = [
    [{ format: 'bgr24' }, [H, W, 3]],
    [{ format: 'rgb24', layout: 'hwc' }, [H, W, 3]],
    [{ format: 'rgb24', layout: 'chw' }, [3, H, W]],
    [{ format: 'bgra' }, [H, W, 4]],
    [{ format: 'gray' }, [H, W, 1]],
    [{ format: 'yuv420p' }, [H * 3 / 2, W]],
    [{ format: 'nv12' }, [H * 3 / 2, W]],
  ];
  for (const [opts, shape] of cases) {
    const { frame, info } = await firstFrame(opts);
    assert.ok(frame instanceof Frame);
    assert.ok(frame.data instanceof Uint8Array, JSON.stringify(opts));
    assert.deepEqual([...frame.shape], shape, JSON.stringify(opts));
    assert.deepEqual([...info.shape], shape);
    const bytes = shape.reduce((a, b) => a * b, 1);
    assert.equal(frame.data.byteLength, bytes, JSON.stringify(opts));
    assert.equal(frame.data.length, bytes);
    assert.equal(info.frameBytes, bytes);
    assert.equal(frame.width, W);
    assert.equal(frame.height, H);
    assert.equal(frame.format, opts.format);
    assert.equal(frame.index, 0);
    assert.equal(frame.keyframe, true);
    assert.equal(frame.corrupt, false);
    assert.equal(frame.time, 0);
  }
}, T);

test('frames match the CLI bytes (bgr24 and gray)', async () => {
  for (const fmt of ['bgr24', 'gray']) {
    const r = await VideoReader.open(clip, { format: fmt });
    const ref = cliFrames(clip, fmt);
    const fb = r.info.frameBytes;
    let k = 0;
    for await (const f of r) {
      assert.equal(f.index, k);
      assert.ok(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).equals(ref.subarray(k * fb, (k + 1) * fb)),
        `${fmt} frame ${k} differs from the CLI`);
      k++;
    }
    assert.equal(k, N);
    assert.equal(r.stats.framesRead, N);
  }
}, T);

// ---- Frame ----

test('Frame.from wraps without copying and checks the length', () => {
  const ab = new ArrayBuffer(100 + 4 * 6 * 3);
  const bytes = new Uint8Array(ab, 100, 4 * 6 * 3);
  const f = Frame.from(bytes, { width: 6, height: 4, format: 'rgb24' });
  assert.equal(f.data.buffer, ab);
  assert.equal(f.data.byteOffset, 100);
  assert.equal(f.data, bytes);
  bytes[0] = 77;
  assert.equal(f.data[0], 77);
  assert.deepEqual([...f.shape], [4, 6, 3]);
  assert.equal(f.layout, 'hwc');

  const chw = Frame.from(new Uint8Array(3 * 4 * 6), { width: 6, height: 4, format: 'bgr24', layout: 'chw' });
  assert.deepEqual([...chw.shape], [3, 4, 6]);
  const yuv = Frame.from(new Uint8Array(6 * 4 * 3 / 2), { width: 6, height: 4, format: 'yuv420p' });
  assert.deepEqual([...yuv.shape], [6, 6]);
  assert.equal(yuv.layout, 'planar');
  assert.deepEqual(yuv.planes.map((p) => [p.name, p.data.byteLength]), [['y', 24], ['u', 6], ['v', 6]]);
  const gray = Frame.from(Buffer.alloc(24), { width: 6, height: 4, format: 'gray' });
  assert.deepEqual([...gray.shape], [4, 6, 1]);

  assert.throws(() => Frame.from(new Uint8Array(71), { width: 6, height: 4, format: 'rgb24' }), RangeError);
  assert.throws(() => Frame.from(new Uint8Array(73), { width: 6, height: 4, format: 'rgb24' }), RangeError);
  assert.throws(() => Frame.from(new Uint8Array(36), { width: 6, height: 4, format: 'yuv420p', layout: 'chw' }), RangeError);
  assert.throws(() => Frame.from(new Uint8Array(15 * 3 / 2), { width: 5, height: 3, format: 'yuv420p' }), RangeError);
  assert.throws(() => Frame.from([1, 2, 3], { width: 1, height: 1, format: 'rgb24' }), TypeError);
  assert.throws(() => Frame.from(new Uint8Array(3), { width: 1, height: 1, format: 'rgb' }), named(TypeError, /format/));
  assert.throws(() => Frame.from(new Uint8Array(3), { width: 1, height: 1, format: 'rgb24', stride: 3 }), named(TypeError, /'stride'/));
});

test('frame.to / toLayout against hand-computed values', () => {
  // 2x2 bgr24: red, white / black, blue
  const px = new Uint8Array([0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0]);
  const f = Frame.from(px, { width: 2, height: 2, format: 'bgr24' });
  const rgb = f.to('rgb24');
  assert.deepEqual([...rgb.data], [255, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 255]);
  assert.equal(rgb.format, 'rgb24');
  assert.notEqual(rgb.data.buffer, f.data.buffer);
  assert.deepEqual([...f.toLayout('chw').data], [0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0, 0]);
  assert.deepEqual([...f.toLayout('chw').shape], [3, 2, 2]);
  assert.deepEqual([...f.toLayout('chw').toLayout('hwc').data], [...px]);
  assert.deepEqual([...f.to('rgba').data], [255, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 255, 255]);
  // full-range BT.601 luma: 0.299 R + 0.587 G + 0.114 B
  const gray = f.to('gray');
  assert.deepEqual([...gray.shape], [2, 2, 1]);
  const want = [0.299 * 255, 255, 0, 0.114 * 255];
  gray.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1, `gray[${i}] = ${v}, want ~${want[i].toFixed(1)}`));
  const yuv = f.to('yuv420p');
  assert.deepEqual([...yuv.shape], [3, 2]);
  assert.equal(yuv.layout, 'planar');
  assert.throws(() => f.to('xyz'), named(TypeError, /format/));
  assert.throws(() => f.to('yuv420p', { layout: 'hwc' }), RangeError);
  assert.throws(() => f.to('gray', { lay: 'hwc' }), TypeError);
});

test('decoded frames: to() swaps channels exactly, toLayout() transposes exactly', async () => {
  const { frame } = await firstFrame({ format: 'rgb24' });
  const viaTo = frame.to('bgr24');
  const { frame: direct } = await firstFrame({ format: 'bgr24' });
  assert.ok(Buffer.from(viaTo.data).equals(Buffer.from(direct.data)), 'rgb24 -> bgr24 must be an exact swap');
  assert.equal(viaTo.index, frame.index);
  assert.equal(viaTo.time, frame.time);
  assert.equal(viaTo.keyframe, frame.keyframe);
  // hand transpose of the hwc frame
  const A = W * H;
  const manual = Buffer.alloc(3 * A);
  for (let p = 0; p < A; p++) for (let c = 0; c < 3; c++) manual[c * A + p] = frame.data[p * 3 + c];
  const chw = frame.toLayout('chw');
  assert.deepEqual([...chw.shape], [3, H, W]);
  assert.ok(Buffer.from(chw.data).equals(manual), 'toLayout(chw) is not an exact transpose');
  assert.ok(Buffer.from(chw.toLayout('hwc').data).equals(Buffer.from(frame.data)));
  // Decoding straight to chw gives the same values as hwc: exactly the transpose
  // of the CLI's rgb24 frame (a layout never changes values)
  const { frame: directChw } = await firstFrame({ format: 'rgb24', layout: 'chw' });
  const c = cliFrames(clip, 'rgb24').subarray(0, 3 * A);
  const cliChw = Buffer.alloc(3 * A);
  for (let p = 0; p < A; p++) for (let k = 0; k < 3; k++) cliChw[k * A + p] = c[p * 3 + k];
  assert.ok(Buffer.from(directChw.data).equals(cliChw), 'chw is not the transpose of the CLI rgb24 frame');
  // and with quality 'accurate' too
  const { frame: acc } = await firstFrame({ format: 'rgb24', quality: 'accurate' });
  const { frame: accChw } = await firstFrame({ format: 'rgb24', layout: 'chw', quality: 'accurate' });
  assert.ok(Buffer.from(acc.toLayout('chw').data).equals(Buffer.from(accChw.data)));
}, T);

// ---- module entries ----

test('CJS require and the ESM entry export the same names and classes', () => {
  const require = createRequire(import.meta.url);
  const cjs = require('../dist/index.js');
  const esmNames = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== '__esModule').sort(), esmNames);
  for (const k of esmNames) assert.equal(cjs[k], esm[k], k);
  assert.equal(cjs.VideoReader, VideoReader);
  assert.equal(cjs.AvcvError, AvcvError);
  assert.equal(esm.default.VideoReader, VideoReader);
  for (const k of ['VideoReader', 'VideoCapture', 'probe', 'Frame', 'AvcvError', 'versions']) assert.ok(esmNames.includes(k), k);
  const v = esm.versions();
  assert.equal(typeof v, 'object');
  // the package's own exports map resolves to the same files
  const self = createRequire(join(root, 'package.json'));
  assert.equal(self.resolve('avcv'), join(root, 'dist', 'index.js'));
});

// ---- VideoCapture ----

test('VideoCapture: open / get / read / set(posFrames) / release like cv2', async () => {
  const ref = ffprobe(clip).streams[0];
  const cap = await VideoCapture.open(clip);
  try {
    assert.equal(cap.isOpened(), true);
    assert.equal(cap.get('width'), ref.width);
    assert.equal(cap.get('height'), ref.height);
    assert.equal(cap.get('fps'), 25);
    assert.equal(cap.get('frameCount'), Number(ref.nb_frames));
    assert.equal(cap.get('posFrames'), 0);
    assert.equal(cap.get('posMsec'), 0);
    assert.throws(() => cap.get('CAP_PROP_FPS'), TypeError);

    const all = cliFrames(clip, 'bgr24');
    const fb = W * H * 3;
    const cliFrame = (n) => all.subarray(n * fb, (n + 1) * fb);

    const a = await cap.read();
    assert.equal(a.ok, true);
    assert.equal(a.frame.format, 'bgr24');
    assert.deepEqual([...a.frame.shape], [H, W, 3]);
    assert.ok(Buffer.from(a.frame.data).equals(cliFrame(0)));
    const b = await cap.read();
    assert.ok(Buffer.from(b.frame.data).equals(cliFrame(1)));
    assert.equal(cap.get('posFrames'), 2);
    assert.ok(Math.abs(cap.get('posMsec') - 40) < 1e-6, `posMsec ${cap.get('posMsec')}`);

    for (const n of [17, 3, 0, N - 1]) {
      assert.equal(await cap.set('posFrames', n), true);
      assert.equal(cap.get('posFrames'), n);
      const { ok, frame } = await cap.read();
      assert.equal(ok, true);
      assert.equal(frame.index, n);
      assert.ok(Buffer.from(frame.data).equals(cliFrame(n)), `frame after set(posFrames, ${n}) is not the CLI's frame ${n}`);
      assert.equal(cap.get('posFrames'), n + 1);
    }
    // at the end: { ok: false, frame: null }, repeatedly
    assert.deepEqual(await cap.read(), { ok: false, frame: null });
    assert.deepEqual(await cap.read(), { ok: false, frame: null });
    assert.equal(await cap.set('posFrames', N + 5), false);
    await assert.rejects(cap.set('posMsec', 0), TypeError);
    await assert.rejects(cap.set('posFrames', -1), RangeError);
  } finally {
    await cap.release();
  }
  assert.equal(cap.isOpened(), false);
  assert.deepEqual(await cap.read(), { ok: false, frame: null });
  await cap.release(); // twice is fine
  await assert.rejects(cap.set('posFrames', 0), (e) => e instanceof AvcvError && e.code === 'CLOSED');
}, T);

test('VideoCapture: read() to the end returns every frame then {ok:false, frame:null}', async () => {
  const cap = await VideoCapture.open(clip, { format: 'gray' });
  let n = 0;
  for (;;) {
    const { ok, frame } = await cap.read();
    if (!ok) {
      assert.equal(frame, null);
      break;
    }
    assert.equal(frame.format, 'gray');
    n++;
  }
  assert.equal(n, N);
  await cap.release();
  await assert.rejects(VideoCapture.open(join(dir, 'nope.mp4')), (e) => e instanceof AvcvError && e.code === 'ENOENT');
}, T);

// ---- CLI ----

test('CLI: demo synthesises, transforms with the audio kept and re-probes (exit 0)', () => {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'demo'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /shape \[720, 1280, 3\]/);
  assert.match(r.stdout, /120 frames in, 120 out/);
  assert.match(r.stdout, /audio kept: yes \(aac/);
  assert.match(r.stdout, /durations match within one frame: yes/);
}, T);

test('CLI: probe of a missing file exits non-zero with the code in stderr', () => {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'probe', join(dir, 'missing.mp4')], { encoding: 'utf8', timeout: 10_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ENOENT/);
  const ok = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'probe', clip, '--json'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.streams[0].width, W);
  const bad = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'nonsense'], { encoding: 'utf8', timeout: 10_000 });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.status, 2, 'a usage error exits 2');
  assert.match(bad.stderr, /unknown command 'nonsense'/);
}, T);

test('an addon that cannot load says why and what to run', () => {
  // a copy of the package without any native build
  const pkg = tempDir('avcv-noaddon-');
  const root = new URL('..', import.meta.url).pathname;
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  mkdirSync(join(pkg, 'node_modules'));
  symlinkSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'));
  const r = spawnSync(process.execPath, ['-e', "require('./dist/index.js').versions()"], { cwd: pkg, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no native build/i);
  assert.match(r.stderr, /npm run build:native/);
  assert.match(r.stderr, /apt-get install -y .*libavformat-dev/);
  // AVCV_ADDON names the addon file to load (a self-contained build): it works, and a bad one is named
  const addon = join(root, 'build', 'Release', 'avcv.node');
  const forced = spawnSync(process.execPath, ['-e', "console.log(require('./dist/index.js').versions().libavcodec)"],
    { cwd: pkg, encoding: 'utf8', env: { ...process.env, AVCV_ADDON: addon } });
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /^\d+\.\d+\.\d+/);
  const missing = spawnSync(process.execPath, ['-e', "require('./dist/index.js').versions()"],
    { cwd: pkg, encoding: 'utf8', env: { ...process.env, AVCV_ADDON: join(pkg, 'nope.node') } });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /AVCV_ADDON names \(.*nope\.node\)/);
});

test('npm pack refuses a package without the self-contained prebuild (prepack)', () => {
  // a copy of package.json and the hook; the real LGPL prebuild is packed and
  // installed in a bare root by scripts/pack-check.sh (last step of .ci/run)
  const pkg = tempDir('avcv-prepack-');
  const root = new URL('..', import.meta.url).pathname;
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  mkdirSync(join(pkg, 'scripts'));
  cpSync(join(root, 'scripts', 'prepack-check.js'), join(pkg, 'scripts', 'prepack-check.js'));
  const pack = (env = {}) => spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkg, encoding: 'utf8', env: { ...process.env, ...env } });
  const none = pack();
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /prepack: no prebuilds\/linux-x64\/avcv\.napi\.node/);
  // the addon this machine built links Debian's shared libav (ldd is the reference): refused, named
  const addon = join(root, 'build', 'Release', 'avcv.node');
  const shared = spawnSync('ldd', [addon], { encoding: 'utf8' }).stdout.match(/libav\w+\.so\.\d+/g);
  assert.ok(shared && shared.length > 0);
  mkdirSync(join(pkg, 'prebuilds', 'linux-x64'), { recursive: true });
  cpSync(addon, join(pkg, 'prebuilds', 'linux-x64', 'avcv.napi.node'));
  const noLicenses = pack();
  assert.notEqual(noLicenses.status, 0);
  assert.match(noLicenses.stderr, /no LICENSES\.txt/);
  writeFileSync(join(pkg, 'prebuilds', 'linux-x64', 'LICENSES.txt'), 'avcv.node (lgpl build, scripts/build-static.sh): ...\n');
  const systemAddon = pack();
  assert.notEqual(systemAddon.status, 0);
  for (const lib of shared) assert.ok(systemAddon.stderr.includes(lib), `names ${lib}`);
  // a source-only package on purpose: no prebuilds/ allowed, then it packs
  const both = pack({ AVCV_PACK_SOURCE_ONLY: '1' });
  assert.notEqual(both.status, 0);
  assert.match(both.stderr, /prebuilds\/ exists/);
  rmSync(join(pkg, 'prebuilds'), { recursive: true });
  const src = pack({ AVCV_PACK_SOURCE_ONLY: '1' });
  assert.equal(src.status, 0, src.stderr);
  assert.equal(JSON.parse(src.stdout)[0].name, 'avcv');
}, 60_000);

// ---- error codes ----

test("ERROR_CODES is the README's error table, and every code native/ throws is in it", async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const { ERROR_CODES } = esm;
  const root = new URL('..', import.meta.url).pathname;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('### Security'));
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(rows, Object.entries(ERROR_CODES), 'README table != ERROR_CODES (names, meanings and order)');
  // the codes native/ can raise: Error("CODE", ...), throwAvError(..., "CODE"), codeForAvError's
  // table, the bindings' {"CODE", ...} and runNowOrLater's codes; INVALID_ARGUMENT becomes a RangeError
  const codes = new Set();
  for (const dir of ['native/core', 'native/binding']) {
    for (const f of readdirSync(join(root, dir)).filter((n) => /\.(cpp|h)$/.test(n))) {
      const src = readFileSync(join(root, dir, f), 'utf8');
      for (const m of src.matchAll(/(?:Error\(|throwAvError\([^;]*?|return |\{|runNowOrLater\(env, async, )"([A-Z][A-Z_]+)"/g)) codes.add(m[1]);
    }
  }
  codes.delete('INVALID_ARGUMENT');
  codes.delete('AVCV_LOG');
  assert.ok(codes.size > 25, `found only ${codes.size} codes in native/`);
  const unlisted = [...codes].filter((c) => !(c in ERROR_CODES));
  assert.deepEqual(unlisted, [], 'codes native/ throws that ERROR_CODES lacks');
  // an unlisted code from native is an INTERNAL AvcvError that names it
  const { fromNative } = createRequire(import.meta.url)('../dist/errors.js');
  const e = fromNative(Object.assign(new Error('boom'), { code: 'NOT_A_CODE' }));
  assert.ok(e instanceof AvcvError);
  assert.equal(e.code, 'INTERNAL');
  assert.match(e.message, /NOT_A_CODE/);
});

test('thumbnails() on a video with no frames is an AvcvError NO_FRAMES, not an argument error', async () => {
  // an index of no frames (saved for this file, as one for a stream that decodes to nothing would be)
  const { statSync, writeFileSync } = await import('node:fs');
  const dir = tempDir('avcv-empty-');
  const f = makeClip(join(dir, 'clip.mkv'), { size: '64x48', frames: 3 });
  const st = statSync(f);
  const tb = ffprobe(f).streams[0].time_base.split('/').map(Number);
  const ixPath = join(dir, 'clip.avcv-index');
  const none = { pts: [], dts: [], pos: [], key: [], discard: [] };
  writeFileSync(ixPath, JSON.stringify({ format: 'avcv-index', version: 2, source: { size: st.size, mtimeMs: st.mtimeMs },
    stream: 0, timeBase: { num: tb[0], den: tb[1] }, packets: none, frames: { packet: [], pts: [], key: [], damaged: [] } }));
  const reader = await VideoReader.open(f, { index: ixPath });
  try {
    assert.equal((await reader.index()).frameCount, 0);
    await assert.rejects(reader.thumbnails(4), (err) => err instanceof AvcvError && err.code === 'NO_FRAMES' && /no decodable frames/.test(err.message));
  } finally {
    await reader.close();
  }
});
