// toMat / fromMat with @u4/opencv4nodejs (a dev dependency built by
// scripts/setup.sh against Debian's OpenCV). References are independent of
// avcv: image files written by the ffmpeg CLI and read back by it as raw
// bytes, opencv4nodejs's own reads of its Mats (at, imwrite), and Debian's
// python3-opencv for the YUV Mat layout.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { AvcvError, VideoReader, toMat, fromMat } from '../dist/index.mjs';
import { cliFrames, ffmpeg, makeClip, tempDir } from './helpers.mjs';
import { oracle, makeFrame, assertBytes } from './cv-oracle.mjs';

const require = createRequire(import.meta.url);
// opencv4nodejs's default allocator calls V8 from OpenCV's worker threads and
// can abort the process (seen in bench/cv.mjs); its own switch turns that off
process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING = '1';
const ocv = require('@u4/opencv4nodejs');
const T = 60_000;
const dir = tempDir('avcv-interop-');

/** A PNG made by the ffmpeg CLI, and its pixels as the CLI decodes them. */
function cliPng(name, pixFmt, rawFmt, size = '47x31') {
  const png = join(dir, `${name}.png`);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=1', '-vf', `format=rgba,crop=${size.replace('x', ':')}:3:5`, '-frames:v', '1', '-pix_fmt', pixFmt, png]);
  return { png, raw: cliFrames(png, rawFmt) };
}

test('toMat: a decoded bgr24 frame becomes a CV_8UC3 Mat that OpenCV writes with the right colours', async () => {
  const clip = join(dir, 'clip.mp4');
  makeClip(clip, { size: '64x48', frames: 3 });
  const reader = await VideoReader.open(clip, { format: 'bgr24' });
  let frame;
  for await (const f of reader) { frame = f; break; }
  await reader.close();
  const mat = toMat(frame);
  assert.equal(mat.rows, 48);
  assert.equal(mat.cols, 64);
  assert.equal(mat.type, ocv.CV_8UC3);
  // opencv4nodejs reads its own Mat: pixel (y=5, x=9) is [b, g, r]
  const px = mat.at(5, 9);
  const o = (5 * 64 + 9) * 3;
  assert.deepEqual([px.x, px.y, px.z], [frame.data[o], frame.data[o + 1], frame.data[o + 2]]);
  // OpenCV writes the Mat as a PNG; the CLI decodes that PNG to the same bgr24 bytes
  const png = join(dir, 'from-mat.png');
  ocv.imwrite(png, mat);
  assertBytes(cliFrames(png, 'bgr24'), frame.data, 'png written by OpenCV from the Mat');
}, T);

test('toMat: gray, bgra and yuv420p/nv12 get the Mat types OpenCV expects', () => {
  const gray = makeFrame(10, 6, 'gray', 1);
  const g = toMat(gray);
  assert.equal(g.type, ocv.CV_8UC1);
  assert.deepEqual([g.rows, g.cols], [6, 10]);
  assert.equal(g.at(4, 7), gray.data[4 * 10 + 7]);
  const bgra = makeFrame(10, 6, 'bgra', 2);
  const m4 = toMat(bgra);
  assert.equal(m4.type, ocv.CV_8UC4);
  const p = m4.at(3, 2);
  const o = (3 * 10 + 2) * 4;
  assert.deepEqual([p.w, p.x, p.y, p.z], Array.from(bgra.data.subarray(o, o + 4)));
}, T);

describe('toMat: a yuv420p / nv12 frame is the (H*3/2) x W Mat that cvtColor(YUV2BGR_I420 / _NV12) takes', () => {
  const clip = join(dir, 'yuv.mp4');
  beforeAll(() => {
    makeClip(clip, { size: '48x32', frames: 2 });
  }, T);
  for (const [format, code, pyCode] of [['yuv420p', ocv.COLOR_YUV2BGR_I420, 'COLOR_YUV2BGR_I420'], ['nv12', ocv.COLOR_YUV2BGR_NV12, 'COLOR_YUV2BGR_NV12']]) {
    test(format, async () => {
      const reader = await VideoReader.open(clip, { format });
      let frame;
      for await (const f of reader) { frame = f; break; }
      await reader.close();
      assertBytes(frame.data, cliFrames(clip, format).subarray(0, frame.data.length), `${format} frame vs CLI`);
      const mat = toMat(frame);
      assert.deepEqual([mat.rows, mat.cols, mat.type], [48, 48, ocv.CV_8UC1]);
      const bgr = mat.cvtColor(code);
      const [ref] = oracle([{ code: `out = cv2.cvtColor(a[0], cv2.${pyCode})`, inputs: [frame] }]);
      assertBytes(bgr.getData(), ref.data, `${format} Mat through OpenCV's cvtColor vs python3-opencv`);
    }, T);
  }
});

test('toMat: rgb frames and chw layouts are refused, naming the fix', () => {
  const rgb = makeFrame(8, 4, 'rgb24', 3);
  assert.throws(() => toMat(rgb), (e) => e instanceof TypeError && /'rgb24'.*BGR.*cvtColor\(frame, 'bgr24'\).*allowRgb/.test(e.message));
  const rgba = makeFrame(8, 4, 'rgba', 3);
  assert.throws(() => toMat(rgba), (e) => e instanceof TypeError && /'rgba'.*BGRA/.test(e.message));
  // knowingly: the Mat holds the bytes in RGB order
  const m = toMat(rgb, { allowRgb: true });
  const p = m.at(1, 2);
  const o = (1 * 8 + 2) * 3;
  assert.deepEqual([p.x, p.y, p.z], Array.from(rgb.data.subarray(o, o + 3)));
  const chw = makeFrame(8, 4, 'bgr24', 4).toLayout('chw');
  assert.throws(() => toMat(chw), (e) => e instanceof TypeError && /chw.*toLayout\('hwc'\)/.test(e.message));
  assert.throws(() => toMat({ data: new Uint8Array(96), width: 8, height: 4, format: 'bgr24' }), /must be a Frame/);
  assert.throws(() => toMat(makeFrame(8, 4, 'bgr24', 5), { copy: 'no' }), (e) => e instanceof TypeError && /copy/.test(e.message));
  assert.throws(() => toMat(makeFrame(8, 4, 'bgr24', 5), { cpoy: false }), (e) => e instanceof TypeError && /unknown option 'cpoy'/.test(e.message));
  assert.throws(() => toMat(makeFrame(8, 4, 'bgr24', 5), { module: {} }), (e) => e instanceof TypeError && /options.module/.test(e.message));
}, T);

test('toMat copies by default; { copy: false } is a view of the frame memory', () => {
  const f = makeFrame(6, 4, 'bgr24', 6);
  const before = f.data[0];
  const copied = toMat(f);
  const view = toMat(f, { copy: false });
  f.data[0] = before ^ 0xff;
  assert.equal(copied.at(0, 0).x, before, 'the copy does not see later writes to the frame');
  assert.equal(view.at(0, 0).x, before ^ 0xff, 'the view sees writes to the frame');
  // and writes through the view land in the frame
  view.set(3, 5, new ocv.Vec3(1, 2, 3));
  const o = (3 * 6 + 5) * 3;
  assert.deepEqual(Array.from(f.data.subarray(o, o + 3)), [1, 2, 3]);
}, T);

test('toMat { copy: false } then frame.release(): the view Mat keeps its pixels while the reader decodes on', async () => {
  const clip = join(dir, 'release.mp4');
  makeClip(clip, { size: '64x48', frames: 20 });
  const ref = cliFrames(clip, 'bgr24');
  const fb = 64 * 48 * 3;
  const reader = await VideoReader.open(clip, { format: 'bgr24' });
  const first = await reader.read();
  const view = toMat(first, { copy: false });
  first.release();  // its memory must not go back to the reader while the Mat uses it
  let n = 1;
  for await (const f of reader) {
    assert.ok(Buffer.from(f.data).equals(ref.subarray(f.index * fb, (f.index + 1) * fb)), `frame ${f.index}`);
    f.release();
    n++;
  }
  assert.equal(n, 20);
  await reader.close();
  assert.ok(Buffer.from(view.getData()).equals(ref.subarray(0, fb)), 'the view Mat changed after its frame was released');
}, T);

test('toMat { copy: false }: the Mat keeps the frame memory alive after the frame is dropped', () => {
  // in a child with --expose-gc: drop every reference to the frame, collect, churn memory, then read the Mat
  const script = `
    const { Frame, toMat } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
    const ocv = require('@u4/opencv4nodejs');
    const W = 1024, H = 1024;
    function make() {
      const d = new Uint8Array(W * H * 3);
      for (let i = 0; i < d.length; i++) d[i] = (i * 7 + 3) & 255;
      return toMat(Frame.from(d, { width: W, height: H, format: 'bgr24' }), { copy: false });
    }
    const mat = make();
    for (let k = 0; k < 5; k++) { globalThis.gc(); const junk = []; for (let j = 0; j < 20; j++) junk.push(new Uint8Array(W * H * 3).fill(0xa5)); }
    const data = mat.getData();
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== ((i * 7 + 3) & 255)) bad++;
    console.log(JSON.stringify({ bad, len: data.length }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()), { bad: 0, len: 1024 * 1024 * 3 });
}, T);

test('fromMat: Mats read by OpenCV become frames equal to the CLI decode of the same file', () => {
  const color = cliPng('color', 'rgb24', 'bgr24');
  const f = fromMat(ocv.imread(color.png));
  assert.deepEqual([f.width, f.height, f.format, f.layout], [47, 31, 'bgr24', 'hwc']);
  assertBytes(f.data, color.raw, 'bgr24 from a CV_8UC3 Mat');

  const gray = cliPng('gray', 'gray', 'gray');
  const g = fromMat(ocv.imread(gray.png, ocv.IMREAD_UNCHANGED));
  assert.equal(g.format, 'gray');
  assertBytes(g.data, gray.raw, 'gray from a CV_8UC1 Mat');

  const alpha = cliPng('alpha', 'rgba', 'bgra');
  const a = fromMat(ocv.imread(alpha.png, ocv.IMREAD_UNCHANGED));
  assert.equal(a.format, 'bgra');
  assertBytes(a.data, alpha.raw, 'bgra from a CV_8UC4 Mat');

  // a Mat that holds RGB, said so
  const rgbMat = ocv.imread(color.png).cvtColor(ocv.COLOR_BGR2RGB);
  const r = fromMat(rgbMat, { format: 'rgb24' });
  assert.equal(r.format, 'rgb24');
  assertBytes(r.data, cliFrames(color.png, 'rgb24'), 'rgb24 from a Mat stated to hold RGB');
}, T);

test('fromMat: a region (getRegion) comes out as its own rows', () => {
  const color = cliPng('region', 'rgb24', 'bgr24');
  const region = ocv.imread(color.png).getRegion(new ocv.Rect(5, 3, 20, 11));
  const f = fromMat(region);
  assert.deepEqual([f.width, f.height], [20, 11]);
  const expected = new Uint8Array(20 * 11 * 3);
  for (let y = 0; y < 11; y++) expected.set(color.raw.subarray(((y + 3) * 47 + 5) * 3, ((y + 3) * 47 + 25) * 3), y * 60);
  assertBytes(f.data, expected, 'region rows');
}, T);

test('fromMat: a (H*3/2) x W CV_8UC1 Mat stated as yuv420p round-trips through toMat', () => {
  const yuv = makeFrame(12, 6, 'yuv420p', 7);
  const back = fromMat(toMat(yuv), { format: 'yuv420p' });
  assert.deepEqual([back.width, back.height, back.format], [12, 6, 'yuv420p']);
  assertBytes(back.data, yuv.data, 'yuv420p round trip');
}, T);

test('fromMat: other depths, channel counts and mismatched formats are refused', () => {
  const f32 = new ocv.Mat(4, 5, ocv.CV_32FC3, [0, 0, 0]);
  assert.throws(() => fromMat(f32), (e) => e instanceof TypeError && /CV_32FC3/.test(e.message) && /convertTo/.test(e.message));
  const c2 = new ocv.Mat(4, 5, ocv.CV_8UC2, [0, 0]);
  assert.throws(() => fromMat(c2), (e) => e instanceof TypeError && /CV_8UC2/.test(e.message));
  const c3 = new ocv.Mat(4, 6, ocv.CV_8UC3, [1, 2, 3]);
  assert.throws(() => fromMat(c3, { format: 'gray' }), (e) => e instanceof TypeError && /CV_8UC3.*'gray'.*CV_8UC1/.test(e.message));
  assert.throws(() => fromMat(c3, { format: 'bgr' }), (e) => e instanceof TypeError && /format must be one of/.test(e.message));
  const odd = new ocv.Mat(7, 6, ocv.CV_8UC1, 0);
  assert.throws(() => fromMat(odd, { format: 'yuv420p' }), (e) => e instanceof RangeError && /H\*3\/2 rows/.test(e.message));
  assert.throws(() => fromMat({}), (e) => e instanceof TypeError && /opencv4nodejs Mat/.test(e.message));
  assert.throws(() => fromMat(c3, { fromat: 'bgr24' }), (e) => e instanceof TypeError && /unknown option 'fromat'/.test(e.message));
  // the default for CV_8UC3 is OpenCV's BGR
  assert.equal(fromMat(c3).format, 'bgr24');
  assert.deepEqual(Array.from(fromMat(c3).data.subarray(0, 3)), [1, 2, 3]);
}, T);

test('toMat without @u4/opencv4nodejs installed: AvcvError PEER_MISSING naming the package', () => {
  const script = `
    const Module = require('node:module');
    const orig = Module._resolveFilename;
    Module._resolveFilename = function (req, ...rest) {
      if (req === '@u4/opencv4nodejs') { const e = new Error("Cannot find module '@u4/opencv4nodejs'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return orig.call(this, req, ...rest);
    };
    const { Frame, toMat, AvcvError } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
    try { toMat(Frame.from(new Uint8Array(12), { width: 2, height: 2, format: 'bgr24' })); console.log('no error'); }
    catch (e) { console.log(JSON.stringify({ avcv: e instanceof AvcvError, code: e.code, message: e.message })); }
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.avcv, true);
  assert.equal(out.code, 'PEER_MISSING');
  assert.match(out.message, /npm install @u4\/opencv4nodejs/);
  assert.ok(AvcvError);
}, T);
