// cv namespace: every op checked byte for byte against Debian's python3-opencv
// (cv2 4.6 + numpy, the same OpenCV build the addon links) on small
// deterministic images (W != H), in both the async and the Sync form; errors
// (RangeError / TypeError) for bad parameters; image encode/decode round trips
// and cross-decoding with cv2; and the async form not blocking the event loop.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cv, Frame } from '../dist/index.mjs';
import { tempDir } from './helpers.mjs';

const T = 60_000;
const dir = tempDir('avcv-cv-');

import { oracle, makePixels, makeFrame, assertBytes, assertFrame, caseTests, opCase, assertFails, assertOpFails } from './cv-oracle.mjs';

const W = 37;
const H = 23;
const bgr = makeFrame(W, H, 'bgr24', 1);
const gray = makeFrame(W, H, 'gray', 2);
const bgr2 = makeFrame(W, H, 'bgr24', 3);
const gray2 = makeFrame(W, H, 'gray', 4);
const rgb = Frame.from(new Uint8Array(bgr.data), { width: W, height: H, format: 'rgb24' });
/** rgb's pixels in BGR order, computed in JS. */
const rgbAsBgr = bgr.data.map((_, i) => bgr.data[i - (i % 3) + 2 - (i % 3)]);
const bgra = makeFrame(W, H, 'bgra', 5);
const evenBgr = makeFrame(38, 24, 'bgr24', 6);
const yuv = makeFrame(38, 24, 'yuv420p', 7);
const nv12 = makeFrame(38, 24, 'nv12', 8);
const lowContrast = Frame.from(makePixels(W, H, 1, 9).map((v) => 90 + (v >> 3)), { width: W, height: H, format: 'gray' });

const snapshot = (frames) => frames.map((f) => Buffer.from(f.data));
const all = [bgr, gray, bgr2, gray2, rgb, bgra, evenBgr, yuv, nv12, lowContrast];
const inputsBefore = snapshot(all);

// ---------------------------------------------------------------------------
// Comparison helpers
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------
test('cv namespace exists with async and Sync forms', () => {
  assert.equal(typeof cv, 'object', 'cv is not exported from dist/index.mjs');
  const ops = ['cvtColor', 'resize', 'flip', 'rotate', 'crop', 'gaussianBlur', 'medianBlur', 'bilateralFilter', 'boxFilter',
    'canny', 'threshold', 'adaptiveThreshold', 'equalizeHist', 'dilate', 'erode', 'absdiff', 'addWeighted', 'bitwiseAnd',
    'bitwiseOr', 'bitwiseXor', 'bitwiseNot', 'inRange', 'imencode', 'imdecode', 'imwrite', 'imread'];
  const missing = ops.flatMap((op) => [op, `${op}Sync`]).filter((k) => typeof cv[k] !== 'function');
  assert.deepEqual(missing, []);
}, T);

describe('cvtColor matches cv2.cvtColor', () => {
  const conv = [
    [bgr, 'rgb24', 'COLOR_BGR2RGB'],
    [bgr, 'gray', 'COLOR_BGR2GRAY'],
    [rgb, 'gray', 'COLOR_RGB2GRAY'],
    [gray, 'bgr24', 'COLOR_GRAY2BGR'],
    [bgr, 'bgra', 'COLOR_BGR2BGRA'],
    [bgra, 'bgr24', 'COLOR_BGRA2BGR'],
    [evenBgr, 'yuv420p', 'COLOR_BGR2YUV_I420'],
    [yuv, 'bgr24', 'COLOR_YUV2BGR_I420'],
    [nv12, 'bgr24', 'COLOR_YUV2BGR_NV12'],
  ];
  caseTests(conv.map(([src, to, code]) =>
    opCase(`${src.format} -> ${to} (${code}) ${src.width}x${src.height}`, 'cvtColor', [src, to], `out = cv2.cvtColor(a[0], cv2.${code})`, [src], to)), T);
});

describe('resize matches cv2.resize for every interpolation', () => {
  const INTER = { nearest: 'INTER_NEAREST', bilinear: 'INTER_LINEAR', bicubic: 'INTER_CUBIC', area: 'INTER_AREA', lanczos: 'INTER_LANCZOS4' };
  const cases = [];
  for (const src of [bgr, gray, bgra]) {
    for (const [interp, flag] of Object.entries(INTER)) {
      for (const [w, h] of [[50, 31], [19, 11], [37, 40]]) {
        cases.push(opCase(`${src.format} ${src.width}x${src.height} -> ${w}x${h} ${interp}`, 'resize', [src, { width: w, height: h, interpolation: interp }],
          `out = cv2.resize(a[0], (${w}, ${h}), interpolation=cv2.${flag})`, [src]));
      }
    }
  }
  // integer-factor area downscale (OpenCV's special path), and the default (bilinear)
  cases.push(opCase('bgr24 38x24 -> 19x12 area', 'resize', [evenBgr, { width: 19, height: 12, interpolation: 'area' }],
    'out = cv2.resize(a[0], (19, 12), interpolation=cv2.INTER_AREA)', [evenBgr]));
  cases.push(opCase('bgr24 default interpolation is bilinear', 'resize', [bgr, { width: 50, height: 31 }],
    'out = cv2.resize(a[0], (50, 31), interpolation=cv2.INTER_LINEAR)', [bgr]));
  cases.push(opCase('gray -> 1x1 bilinear', 'resize', [gray, { width: 1, height: 1 }],
    'out = cv2.resize(a[0], (1, 1), interpolation=cv2.INTER_LINEAR)', [gray]));
  caseTests(cases, T);
});

describe('flip and rotate match cv2.flip / cv2.rotate', () => {
  const cases = [];
  for (const src of [bgr, gray, bgra]) {
    for (const [axis, code] of [['horizontal', 1], ['vertical', 0], ['both', -1]]) {
      cases.push(opCase(`flip ${src.format} ${axis}`, 'flip', [src, { axis }], `out = cv2.flip(a[0], ${code})`, [src]));
    }
    for (const [angle, code] of [[90, 'ROTATE_90_CLOCKWISE'], [180, 'ROTATE_180'], [270, 'ROTATE_90_COUNTERCLOCKWISE']]) {
      cases.push(opCase(`rotate ${src.format} ${angle}`, 'rotate', [src, { angle }], `out = cv2.rotate(a[0], cv2.${code})`, [src]));
    }
  }
  caseTests(cases, T);
  test('rotate 90 swaps width and height', () => {
    const r = cv.rotateSync(bgr, { angle: 90 });
    assert.equal(r.width, H);
    assert.equal(r.height, W);
  }, T);
});

describe('crop equals numpy slicing and is a copy', () => {
  const cases = [];
  for (const src of [bgr, gray, bgra]) {
    for (const [x, y, w, h] of [[3, 5, 20, 11], [0, 0, W, H], [W - 1, H - 1, 1, 1], [10, 0, 7, H]]) {
      cases.push(opCase(`crop ${src.format} x=${x} y=${y} ${w}x${h}`, 'crop', [src, { x, y, width: w, height: h }],
        `out = a[0][${y}:${y + h}, ${x}:${x + w}]`, [src]));
    }
  }
  caseTests(cases, T);
  test('the crop does not share memory with the source', async () => {
    const src = Frame.from(new Uint8Array(bgr.data), { width: W, height: H, format: 'bgr24' });
    const a = cv.cropSync(src, { x: 0, y: 0, width: W, height: H });
    const b = await cv.crop(src, { x: 2, y: 2, width: 5, height: 5 });
    const before = [Buffer.from(a.data), Buffer.from(b.data)];
    src.data.fill(7);
    assertBytes(a.data, before[0], 'full crop after the source changed');
    assertBytes(b.data, before[1], 'crop after the source changed');
  }, T);
  test('out-of-bounds or empty rectangles -> RangeError', async () => {
    for (const r of [{ x: 30, y: 0, width: 10, height: 5 }, { x: 0, y: 20, width: 5, height: 5 }, { x: -1, y: 0, width: 5, height: 5 },
      { x: 0, y: 0, width: 0, height: 5 }, { x: 0, y: 0, width: 5, height: 0 }, { x: 0.5, y: 0, width: 5, height: 5 }]) {
      await assertOpFails('crop', [bgr, r], RangeError, `crop ${JSON.stringify(r)}`);
    }
  }, T);
});

describe('gaussianBlur, medianBlur, bilateralFilter, boxFilter match cv2', () => {
  const cases = [];
  for (const src of [bgr, gray, rgb]) {
    const f = src.format;
    cases.push(opCase(`gaussianBlur ${f} ksize 5`, 'gaussianBlur', [src, { ksize: 5 }], 'out = cv2.GaussianBlur(a[0], (5, 5), 0)', [src]));
    cases.push(opCase(`gaussianBlur ${f} ksize [3, 7] sigmaX 1.5`, 'gaussianBlur', [src, { ksize: [3, 7], sigmaX: 1.5 }],
      'out = cv2.GaussianBlur(a[0], (3, 7), 1.5)', [src]));
    cases.push(opCase(`gaussianBlur ${f} ksize 5 sigmaX 2 sigmaY 0.7`, 'gaussianBlur', [src, { ksize: 5, sigmaX: 2, sigmaY: 0.7 }],
      'out = cv2.GaussianBlur(a[0], (5, 5), 2, sigmaY=0.7)', [src]));
    cases.push(opCase(`gaussianBlur ${f} ksize 1`, 'gaussianBlur', [src, { ksize: 1 }], 'out = cv2.GaussianBlur(a[0], (1, 1), 0)', [src]));
    for (const k of [3, 5, 7]) {
      cases.push(opCase(`medianBlur ${f} ksize ${k}`, 'medianBlur', [src, { ksize: k }], `out = cv2.medianBlur(a[0], ${k})`, [src]));
    }
    cases.push(opCase(`bilateralFilter ${f} d 5 50/50`, 'bilateralFilter', [src, { d: 5, sigmaColor: 50, sigmaSpace: 50 }],
      'out = cv2.bilateralFilter(a[0], 5, 50, 50)', [src]));
    cases.push(opCase(`bilateralFilter ${f} d 9 75/20`, 'bilateralFilter', [src, { d: 9, sigmaColor: 75, sigmaSpace: 20 }],
      'out = cv2.bilateralFilter(a[0], 9, 75, 20)', [src]));
    cases.push(opCase(`boxFilter ${f} ksize 3`, 'boxFilter', [src, { ksize: 3 }], 'out = cv2.boxFilter(a[0], -1, (3, 3))', [src]));
    cases.push(opCase(`boxFilter ${f} ksize 4 normalize true`, 'boxFilter', [src, { ksize: 4, normalize: true }],
      'out = cv2.boxFilter(a[0], -1, (4, 4), normalize=True)', [src]));
    cases.push(opCase(`boxFilter ${f} ksize 3 normalize false (saturates)`, 'boxFilter', [src, { ksize: 3, normalize: false }],
      'out = cv2.boxFilter(a[0], -1, (3, 3), normalize=False)', [src]));
  }
  cases.push(opCase('gaussianBlur bgra ksize 3', 'gaussianBlur', [bgra, { ksize: 3 }], 'out = cv2.GaussianBlur(a[0], (3, 3), 0)', [bgra]));
  caseTests(cases, T);
});

describe('canny matches cv2.Canny; non-gray input -> TypeError', () => {
  const cases = [
    opCase('canny 50/150', 'canny', [gray, { threshold1: 50, threshold2: 150 }], 'out = cv2.Canny(a[0], 50, 150)', [gray]),
    opCase('canny 100/200 aperture 5', 'canny', [gray, { threshold1: 100, threshold2: 200, apertureSize: 5 }],
      'out = cv2.Canny(a[0], 100, 200, apertureSize=5)', [gray]),
    opCase('canny 30/90 L2gradient', 'canny', [gray, { threshold1: 30, threshold2: 90, L2gradient: true }],
      'out = cv2.Canny(a[0], 30, 90, L2gradient=True)', [gray]),
    opCase('canny 300/600 aperture 7 L2', 'canny', [gray2, { threshold1: 300, threshold2: 600, apertureSize: 7, L2gradient: true }],
      'out = cv2.Canny(a[0], 300, 600, apertureSize=7, L2gradient=True)', [gray2]),
  ];
  caseTests(cases, T);
  test('the output has edges (test image sanity)', () => {
    const e = cv.cannySync(gray, { threshold1: 50, threshold2: 150 });
    assert.ok(e.data.some((v) => v === 255));
    assert.ok(e.data.every((v) => v === 0 || v === 255));
  }, T);
  test('bgr24 input -> TypeError naming bgr24 and gray', async () => {
    await assertOpFails('canny', [bgr, { threshold1: 50, threshold2: 150 }], TypeError, 'canny bgr24', /bgr24[\s\S]*gray|gray[\s\S]*bgr24/);
  }, T);
  test('apertureSize 4 -> RangeError', async () => {
    await assertOpFails('canny', [gray, { threshold1: 50, threshold2: 150, apertureSize: 4 }], RangeError, 'canny aperture 4');
  }, T);
});

describe('threshold matches cv2.threshold (frame and returned thresh)', () => {
  const TYPES = { binary: 'THRESH_BINARY', binary_inv: 'THRESH_BINARY_INV', trunc: 'THRESH_TRUNC', tozero: 'THRESH_TOZERO', tozero_inv: 'THRESH_TOZERO_INV' };
  const cases = [];
  for (const [type, flag] of Object.entries(TYPES)) {
    cases.push({ name: `${type} 127/255`, src: gray, opts: { thresh: 127, maxval: 255, type }, code: `extra, out = cv2.threshold(a[0], 127, 255, cv2.${flag})` });
    cases.push({ name: `${type} 100.5/200`, src: gray, opts: { thresh: 100.5, maxval: 200, type }, code: `extra, out = cv2.threshold(a[0], 100.5, 200, cv2.${flag})` });
    cases.push({ name: `${type} otsu`, src: gray, opts: { thresh: 0, maxval: 255, type, otsu: true }, code: `extra, out = cv2.threshold(a[0], 0, 255, cv2.${flag} | cv2.THRESH_OTSU)` });
  }
  cases.push({ name: 'binary otsu low contrast maxval 180', src: lowContrast, opts: { thresh: 0, maxval: 180, type: 'binary', otsu: true },
    code: 'extra, out = cv2.threshold(a[0], 0, 180, cv2.THRESH_BINARY | cv2.THRESH_OTSU)' });
  cases.push({ name: 'binary otsu: given thresh is ignored', src: gray2, opts: { thresh: 250, maxval: 255, type: 'binary', otsu: true },
    code: 'extra, out = cv2.threshold(a[0], 250, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)' });
  let refs;
  beforeAll(() => {
    refs = oracle(cases.map((c) => ({ code: c.code, inputs: [c.src] })));
  }, T);
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      const ra = await cv.threshold(c.src, c.opts);
      const rs = cv.thresholdSync(c.src, c.opts);
      for (const [r, form] of [[ra, 'async'], [rs, 'Sync']]) {
        assert.ok(r && typeof r === 'object' && 'frame' in r && 'thresh' in r, `${c.name} (${form}): result is { frame, thresh }`);
        assertFrame(r.frame, refs[i], 'gray', `${c.name} (${form})`);
        if (c.opts.otsu) assert.equal(r.thresh, refs[i].extra, `${c.name} (${form}): returned Otsu thresh`);
        else assert.ok(r.thresh === refs[i].extra || r.thresh === c.opts.thresh, `${c.name} (${form}): returned thresh ${r.thresh}, cv2 ${refs[i].extra}`);
      }
    }, T);
  }
});

describe('adaptiveThreshold matches cv2.adaptiveThreshold', () => {
  const cases = [];
  for (const [method, m] of [['mean', 'ADAPTIVE_THRESH_MEAN_C'], ['gaussian', 'ADAPTIVE_THRESH_GAUSSIAN_C']]) {
    for (const [type, ty] of [['binary', 'THRESH_BINARY'], ['binary_inv', 'THRESH_BINARY_INV']]) {
      for (const [blockSize, C, maxValue] of [[5, 2, 255], [11, -3, 200], [3, 0.5, 255]]) {
        cases.push(opCase(`${method} ${type} block ${blockSize} C ${C} max ${maxValue}`, 'adaptiveThreshold',
          [gray, { maxValue, method, type, blockSize, C }],
          `out = cv2.adaptiveThreshold(a[0], ${maxValue}, cv2.${m}, cv2.${ty}, ${blockSize}, ${C})`, [gray]));
      }
    }
  }
  caseTests(cases, T);
  test('even blockSize -> RangeError', async () => {
    await assertOpFails('adaptiveThreshold', [gray, { maxValue: 255, method: 'mean', type: 'binary', blockSize: 4, C: 2 }], RangeError, 'blockSize 4');
  }, T);
});

describe('equalizeHist matches cv2.equalizeHist', () => {
  caseTests([
    opCase('equalizeHist gray', 'equalizeHist', [gray], 'out = cv2.equalizeHist(a[0])', [gray]),
    opCase('equalizeHist low contrast', 'equalizeHist', [lowContrast], 'out = cv2.equalizeHist(a[0])', [lowContrast]),
  ], T);
});

describe('dilate and erode match cv2 with getStructuringElement', () => {
  const SHAPES = { rect: 'MORPH_RECT', ellipse: 'MORPH_ELLIPSE', cross: 'MORPH_CROSS' };
  const cases = [];
  for (const op of ['dilate', 'erode']) {
    for (const src of [bgr, gray]) {
      cases.push(opCase(`${op} ${src.format} ksize 3 (defaults)`, op, [src, { ksize: 3 }],
        `out = cv2.${op}(a[0], cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))`, [src]));
      for (const [shape, flag] of Object.entries(SHAPES)) {
        for (const [k, it] of [[5, 1], [3, 2], [4, 1]]) {
          cases.push(opCase(`${op} ${src.format} ${shape} ksize ${k} iterations ${it}`, op, [src, { ksize: k, shape, iterations: it }],
            `out = cv2.${op}(a[0], cv2.getStructuringElement(cv2.${flag}, (${k}, ${k})), iterations=${it})`, [src]));
        }
      }
    }
  }
  caseTests(cases, T);
});

describe('absdiff, addWeighted, bitwise ops match cv2', () => {
  const cases = [];
  for (const [a, b] of [[bgr, bgr2], [gray, gray2]]) {
    const f = a.format;
    cases.push(opCase(`absdiff ${f}`, 'absdiff', [a, b], 'out = cv2.absdiff(a[0], a[1])', [a, b]));
    cases.push(opCase(`addWeighted ${f} 0.6 0.4 10`, 'addWeighted', [a, 0.6, b, 0.4, 10], 'out = cv2.addWeighted(a[0], 0.6, a[1], 0.4, 10)', [a, b]));
    cases.push(opCase(`addWeighted ${f} 1.5 -0.5 3 (saturates)`, 'addWeighted', [a, 1.5, b, -0.5, 3], 'out = cv2.addWeighted(a[0], 1.5, a[1], -0.5, 3)', [a, b]));
    cases.push(opCase(`addWeighted ${f} 0.5 0.5 0 (rounding at .5)`, 'addWeighted', [a, 0.5, b, 0.5, 0], 'out = cv2.addWeighted(a[0], 0.5, a[1], 0.5, 0)', [a, b]));
    cases.push(opCase(`bitwiseAnd ${f}`, 'bitwiseAnd', [a, b], 'out = cv2.bitwise_and(a[0], a[1])', [a, b]));
    cases.push(opCase(`bitwiseOr ${f}`, 'bitwiseOr', [a, b], 'out = cv2.bitwise_or(a[0], a[1])', [a, b]));
    cases.push(opCase(`bitwiseXor ${f}`, 'bitwiseXor', [a, b], 'out = cv2.bitwise_xor(a[0], a[1])', [a, b]));
    cases.push(opCase(`bitwiseNot ${f}`, 'bitwiseNot', [a], 'out = cv2.bitwise_not(a[0])', [a]));
  }
  caseTests(cases, T);
  test('different sizes -> RangeError, different formats -> TypeError', async () => {
    const small = makeFrame(W, H - 1, 'bgr24', 11);
    const wide = makeFrame(W + 1, H, 'bgr24', 12);
    for (const op of ['absdiff', 'bitwiseAnd', 'bitwiseOr', 'bitwiseXor']) {
      await assertOpFails(op, [bgr, small], RangeError, `${op} size`);
      await assertOpFails(op, [bgr, wide], RangeError, `${op} size`);
      await assertOpFails(op, [bgr, rgb], TypeError, `${op} bgr24 vs rgb24`);
      await assertOpFails(op, [bgr, gray], TypeError, `${op} bgr24 vs gray`);
    }
    await assertOpFails('addWeighted', [bgr, 0.5, small, 0.5, 0], RangeError, 'addWeighted size');
    await assertOpFails('addWeighted', [bgr, 0.5, rgb, 0.5, 0], TypeError, 'addWeighted format');
    await assertOpFails('addWeighted', [bgr, Number.NaN, bgr2, 0.5, 0], RangeError, 'addWeighted NaN alpha');
  }, T);
});

describe('inRange matches cv2.inRange and returns a gray mask', () => {
  caseTests([
    opCase('inRange bgr24', 'inRange', [bgr, [50, 60, 70], [200, 180, 220]], 'out = cv2.inRange(a[0], (50, 60, 70), (200, 180, 220))', [bgr], 'gray'),
    opCase('inRange bgr24 inclusive bounds', 'inRange', [bgr, [0, 0, 0], [255, 255, 255]], 'out = cv2.inRange(a[0], (0, 0, 0), (255, 255, 255))', [bgr], 'gray'),
    opCase('inRange gray', 'inRange', [gray, [100], [180]], 'out = cv2.inRange(a[0], (100,), (180,))', [gray], 'gray'),
    opCase('inRange bgra', 'inRange', [bgra, [20, 20, 20, 0], [230, 230, 230, 128]], 'out = cv2.inRange(a[0], (20, 20, 20, 0), (230, 230, 230, 128))', [bgra], 'gray'),
  ], T);
  test('bounds of the wrong length are rejected', async () => {
    let err;
    try { cv.inRangeSync(bgr, [1, 2], [3, 4]); } catch (e) { err = e; }
    assert.ok(err instanceof RangeError || err instanceof TypeError, `expected RangeError/TypeError, got ${err}`);
  }, T);
});

test('plain { data, width, height, format } images are accepted', async () => {
  const plain = { data: bgr.data, width: W, height: H, format: 'bgr24' };
  const want = cv.flipSync(bgr, { axis: 'horizontal' });
  assertBytes(cv.flipSync(plain, { axis: 'horizontal' }).data, want.data, 'flipSync(plain)');
  assertBytes((await cv.flip(plain, { axis: 'horizontal' })).data, want.data, 'flip(plain)');
  const g = cv.gaussianBlurSync({ data: gray.data, width: W, height: H, format: 'gray' }, { ksize: 3 });
  assertBytes(g.data, cv.gaussianBlurSync(gray, { ksize: 3 }).data, 'gaussianBlurSync(plain gray)');
  assert.ok(g instanceof Frame);
  await assertFails(() => cv.flipSync({ data: bgr.data, width: W, height: H + 1, format: 'bgr24' }, { axis: 'both' }), RangeError, 'plain image with too few bytes');
}, T);

test('chw input: a chw Frame is rejected; a plain image saying layout chw is not read as hwc', async () => {
  const chw = bgr.toLayout('chw');
  await assertOpFails('flip', [chw, { axis: 'horizontal' }], TypeError, 'flip(chw Frame)', /chw/);
  const want = cv.flipSync(bgr, { axis: 'horizontal' });
  const plain = { data: chw.data, width: W, height: H, format: 'bgr24', layout: 'chw' };
  let r;
  let err;
  try { r = cv.flipSync(plain, { axis: 'horizontal' }); } catch (e) { err = e; }
  if (err) assert.ok(err instanceof TypeError, `plain chw: expected TypeError, got ${err}`);
  else assertBytes(r.layout === 'chw' ? r.toLayout('hwc').data : r.data, want.data, `flipSync(plain { layout: 'chw' }) returned a ${r.layout} frame`);
}, T);

describe('image codecs: PNG exact, JPEG/WebP same decoder as cv2, quality, rgb24 order, files', () => {
  let pngBgr, pngGray, pngRgb, pngBgra, jpg, jpgLo, jpgHi, webp, webpHi, refs;
  beforeAll(async () => {
    pngBgr = await cv.imencode(bgr, '.png');
    pngGray = await cv.imencode(gray, '.png');
    pngRgb = await cv.imencode(rgb, '.png');
    pngBgra = await cv.imencode(bgra, '.png');
    jpg = await cv.imencode(bgr, '.jpg');
    jpgLo = await cv.imencode(bgr, '.jpg', { quality: 20 });
    jpgHi = await cv.imencode(bgr, '.jpg', { quality: 98 });
    webp = await cv.imencode(bgr, '.webp', { quality: 80 });
    webpHi = await cv.imencode(bgr, '.webp', { quality: 100 });
    for (const [b, name] of [[pngBgr, 'png'], [jpg, 'jpg'], [webp, 'webp']]) assert.ok(b instanceof Uint8Array, `${name} bytes are a Uint8Array`);
    refs = oracle([
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_UNCHANGED)', inputs: [pngBgr] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_UNCHANGED)', inputs: [pngGray] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_COLOR)', inputs: [pngRgb] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_COLOR)', inputs: [jpg] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_COLOR)', inputs: [jpgLo] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_COLOR)', inputs: [webp] },
      { code: 'ok, b = cv2.imencode(".png", a[0]); out = b.tobytes()', inputs: [bgr] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_GRAYSCALE)', inputs: [jpg] },
      { code: 'out = cv2.imdecode(a[0], cv2.IMREAD_UNCHANGED)', inputs: [pngBgra] },
    ]);
  }, T);
  test('PNG magic, JPEG magic, WebP magic', () => {
    assert.deepEqual([...pngBgr.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.deepEqual([...jpg.subarray(0, 2)], [0xff, 0xd8]);
    assert.equal(Buffer.from(webp.subarray(8, 12)).toString('latin1'), 'WEBP');
  }, T);
  test('PNG round trip is exact (bgr24 and gray), both forms', async () => {
    const d = await cv.imdecode(pngBgr);
    assert.equal(d.format, 'bgr24');
    assert.equal(d.width, W);
    assert.equal(d.height, H);
    assertBytes(d.data, bgr.data, 'imdecode(imencode(bgr png))');
    assertBytes(cv.imdecodeSync(cv.imencodeSync(bgr, '.png')).data, bgr.data, 'imdecodeSync(imencodeSync(bgr png))');
    const g = await cv.imdecode(pngGray, { format: 'gray' });
    assert.equal(g.format, 'gray');
    assertBytes(g.data, gray.data, 'imdecode(imencode(gray png), gray)');
  }, T);
  test('cv2 decodes our PNG to the same pixels', () => {
    assertFrame(bgr, refs[0], 'bgr24', 'cv2.imdecode(our bgr png)');
    assertFrame(gray, refs[1], 'gray', 'cv2.imdecode(our gray png)');
  }, T);
  test('rgb24 -> PNG: cv2 sees the right colours', () => {
    assertBytes(refs[2].data, rgbAsBgr, 'cv2.imdecode(our rgb png)');
  }, T);
  test('imencode / imwrite do not modify their input (rgb24, rgba)', async () => {
    const bad = [];
    for (const format of ['rgb24', 'rgba']) {
      for (const [name, fn] of [
        ['imencodeSync .png', (f) => cv.imencodeSync(f, '.png')],
        ['imencode .jpg', (f) => cv.imencode(f, '.jpg')],
        ['imwrite .png', (f) => cv.imwrite(join(dir, `m-${format}.png`), f)],
      ]) {
        const f = makeFrame(W, H, format, 21);
        const before = Buffer.from(f.data);
        await fn(f);
        if (!before.equals(Buffer.from(f.data))) bad.push(`${name} ${format}`);
      }
    }
    assert.deepEqual(bad, [], 'these calls changed the caller\'s frame');
  }, T);
  test('bgra -> PNG keeps alpha for cv2', () => {
    assertBytes(refs[8].data, bgra.data, 'cv2.imdecode(our bgra png, UNCHANGED)');
  }, T);
  test('we decode cv2\'s PNG exactly', async () => {
    const d = await cv.imdecode(new Uint8Array(refs[6].data));
    assertBytes(d.data, bgr.data, 'imdecode(cv2 png)');
  }, T);
  test('JPEG and WebP decode like cv2.imdecode', async () => {
    assertFrame(await cv.imdecode(jpg), refs[3], 'bgr24', 'imdecode(jpg)');
    assertFrame(cv.imdecodeSync(jpgLo), refs[4], 'bgr24', 'imdecodeSync(jpg q20)');
    assertFrame(await cv.imdecode(webp), refs[5], 'bgr24', 'imdecode(webp)');
    assertFrame(await cv.imdecode(jpg, { format: 'gray' }), refs[7], 'gray', 'imdecode(jpg, gray)');
  }, T);
  test('quality: higher is larger', () => {
    assert.ok(jpgHi.byteLength > jpg.byteLength && jpg.byteLength > jpgLo.byteLength,
      `jpg sizes q20 ${jpgLo.byteLength}, default ${jpg.byteLength}, q98 ${jpgHi.byteLength}`);
    assert.ok(webpHi.byteLength > webp.byteLength, `webp sizes q80 ${webp.byteLength}, q100 ${webpHi.byteLength}`);
  }, T);
  test('imwrite / imread', async () => {
    const p = join(dir, 'a.png');
    await cv.imwrite(p, bgr);
    assert.ok(existsSync(p));
    const [ref] = oracle([{ code: `out = cv2.imread(${JSON.stringify(p)}, cv2.IMREAD_UNCHANGED)` }]);
    assertFrame(bgr, ref, 'bgr24', 'cv2.imread(our png file)');
    assertBytes((await cv.imread(p)).data, bgr.data, 'imread(png)');
    const pj = join(dir, 'b.jpg');
    await cv.imwrite(pj, bgr, { quality: 90 });
    assertBytes((await cv.imread(pj)).data, cv.imdecodeSync(new Uint8Array(readFileSync(pj))).data, 'imread(jpg) = imdecode(file bytes)');
    const pg = join(dir, 'g.png');
    await cv.imwrite(pg, gray);
    assertBytes((await cv.imread(pg, { format: 'gray' })).data, gray.data, 'imread(gray png, gray)');
  }, T);
  test('imwriteSync / imreadSync', () => {
    const p = join(dir, 's.png');
    cv.imwriteSync(p, bgr);
    assertBytes(cv.imreadSync(p).data, bgr.data, 'imreadSync(imwriteSync(png))');
  }, T);
  test('bad inputs fail', async () => {
    await assertFails(() => cv.imdecode(new Uint8Array([1, 2, 3, 4, 5])), Error, 'imdecode(garbage)');
    await assertFails(() => cv.imdecodeSync(new Uint8Array(0)), Error, 'imdecodeSync(empty)');
    await assertFails(() => cv.imread(join(dir, 'missing.png')), Error, 'imread(missing)');
    await assertFails(() => cv.imencode(bgr, '.xyz'), Error, 'imencode(.xyz)');
    await assertFails(() => cv.imencode(bgr, '.jpg', { quality: 500 }), RangeError, 'imencode quality 500');
    await assertFails(() => cv.imencode(bgr, '.jpg', { qualty: 50 }), TypeError, 'imencode unknown option');
  }, T);
});

describe('parameter errors: RangeError / TypeError', () => {
  test('even or non-positive ksize -> RangeError', async () => {
    await assertOpFails('gaussianBlur', [bgr, { ksize: 4 }], RangeError, 'gaussianBlur ksize 4');
    await assertOpFails('gaussianBlur', [bgr, { ksize: [3, 4] }], RangeError, 'gaussianBlur ksize [3, 4]');
    await assertOpFails('gaussianBlur', [bgr, { ksize: -3 }], RangeError, 'gaussianBlur ksize -3');
    await assertOpFails('medianBlur', [bgr, { ksize: 4 }], RangeError, 'medianBlur ksize 4');
    await assertOpFails('medianBlur', [bgr, { ksize: 0 }], RangeError, 'medianBlur ksize 0');
    await assertOpFails('medianBlur', [bgr, { ksize: 2.5 }], RangeError, 'medianBlur ksize 2.5');
    await assertOpFails('boxFilter', [bgr, { ksize: 0 }], RangeError, 'boxFilter ksize 0');
    await assertOpFails('dilate', [bgr, { ksize: 0 }], RangeError, 'dilate ksize 0');
  }, T);
  test('NaN parameters -> RangeError', async () => {
    const N = Number.NaN;
    const checks = [
      ['gaussianBlur', [bgr, { ksize: 5, sigmaX: N }]],
      ['gaussianBlur', [bgr, { ksize: 5, sigmaY: N }]],
      ['resize', [bgr, { width: N, height: 10 }]],
      ['resize', [bgr, { width: 10, height: N }]],
      ['crop', [bgr, { x: N, y: 0, width: 5, height: 5 }]],
      ['medianBlur', [bgr, { ksize: N }]],
      ['boxFilter', [bgr, { ksize: N }]],
      ['dilate', [bgr, { ksize: 3, iterations: N }]],
      ['threshold', [gray, { thresh: N, maxval: 255, type: 'binary' }]],
      ['adaptiveThreshold', [gray, { maxValue: 255, method: 'mean', type: 'binary', blockSize: 3, C: N }]],
      ['bilateralFilter', [bgr, { d: 5, sigmaColor: N, sigmaSpace: 50 }]],
      ['bilateralFilter', [bgr, { d: N, sigmaColor: 50, sigmaSpace: 50 }]],
      ['canny', [gray, { threshold1: N, threshold2: 100 }]],
      ['rotate', [bgr, { angle: N }]],
      ['addWeighted', [bgr, 0.5, bgr2, N, 0]],
      ['inRange', [gray, [N], [200]]],
      ['imencode', [bgr, '.jpg', { quality: N }]],
    ];
    const bad = [];
    for (const [op, args] of checks) {
      for (const fn of [cv[op], cv[`${op}Sync`]]) {
        if (typeof fn !== 'function') continue;
        try {
          await fn(...args);
          bad.push(`${fn.name || op}: no error`);
        } catch (e) {
          if (!(e instanceof RangeError)) bad.push(`${op}${fn === cv[op] ? '' : 'Sync'} ${JSON.stringify(args[1], (k, v) => (Number.isNaN(v) ? 'NaN' : v))}: ${e.constructor.name}: ${e.message}`);
        }
      }
    }
    assert.deepEqual(bad, [], 'NaN must give a RangeError');
  }, T);
  test('bad sizes / enum values', async () => {
    await assertOpFails('resize', [bgr, { width: 0, height: 10 }], RangeError, 'resize width 0');
    await assertOpFails('rotate', [bgr, { angle: 45 }], RangeError, 'rotate 45');
    let err;
    try { cv.flipSync(bgr, { axis: 'diagonal' }); } catch (e) { err = e; }
    assert.ok(err instanceof TypeError || err instanceof RangeError, `flip axis 'diagonal': got ${err}`);
    err = undefined;
    try { cv.resizeSync(bgr, { width: 5, height: 5, interpolation: 'cubic-ish' }); } catch (e) { err = e; }
    assert.ok(err instanceof TypeError || err instanceof RangeError, `resize interpolation 'cubic-ish': got ${err}`);
  }, T);
  test('unknown option -> TypeError', async () => {
    await assertOpFails('gaussianBlur', [bgr, { ksize: 5, sigma: 1 }], TypeError, 'gaussianBlur sigma', /sigma/);
    await assertOpFails('resize', [bgr, { width: 5, height: 5, interp: 'area' }], TypeError, 'resize interp', /interp/);
    await assertOpFails('flip', [bgr, { axis: 'both', extra: 1 }], TypeError, 'flip extra', /extra/);
    await assertOpFails('medianBlur', [bgr, { ksize: 3, k: 3 }], TypeError, 'medianBlur k');
  }, T);
  test('unsupported format -> TypeError naming it', async () => {
    await assertOpFails('gaussianBlur', [yuv, { ksize: 5 }], TypeError, 'gaussianBlur yuv420p', /yuv420p/);
    await assertOpFails('medianBlur', [nv12, { ksize: 3 }], TypeError, 'medianBlur nv12', /nv12/);
    await assertOpFails('equalizeHist', [bgr], TypeError, 'equalizeHist bgr24', /bgr24/);
  }, T);
  test('not a frame -> TypeError', async () => {
    await assertOpFails('flip', [null, { axis: 'both' }], TypeError, 'flip(null)');
    await assertOpFails('flip', [{ data: [1, 2, 3], width: 1, height: 1, format: 'bgr24' }, { axis: 'both' }], TypeError, 'flip(data array)');
  }, T);
});

test('inputs are never modified', () => {
  const after = snapshot(all);
  for (const [i, b] of inputsBefore.entries()) assertBytes(after[i], b, `input ${i} (${all[i].format})`);
}, T);

test('async results under concurrency equal the Sync ones', async () => {
  const srcs = Array.from({ length: 8 }, (_, i) => makeFrame(61, 47, i % 2 ? 'gray' : 'bgr24', 100 + i));
  const ops = [
    (f) => ['gaussianBlur', [f, { ksize: 7, sigmaX: 1.2 }]],
    (f) => ['resize', [f, { width: 80, height: 33, interpolation: 'lanczos' }]],
    (f) => ['medianBlur', [f, { ksize: 5 }]],
    (f) => ['bilateralFilter', [f, { d: 7, sigmaColor: 40, sigmaSpace: 40 }]],
  ];
  const jobs = srcs.flatMap((f) => ops.map((o) => o(f)));
  const got = await Promise.all(jobs.map(([op, args]) => cv[op](...args)));
  for (const [i, [op, args]] of jobs.entries()) assertBytes(got[i].data, cv[`${op}Sync`](...args).data, `${op} #${i}`);
}, T);

let bigFrame;
const big1080 = () => (bigFrame ??= Frame.from(makePixels(1920, 1080, 3, 42), { width: 1920, height: 1080, format: 'bgr24' }));

/** Runs fn() while a 1 ms interval ticks; returns { value, took, maxGap, ticks }. */
async function withTicker(fn) {
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 1);
  const t0 = performance.now();
  let value;
  try {
    value = await fn();
  } finally {
    clearInterval(timer);
  }
  const took = performance.now() - t0;
  maxGap = Math.max(maxGap, performance.now() - last);
  return { value, took, maxGap, ticks };
}

test('async form does not block the event loop (4 x bilateralFilter 1080p)', async () => {
  const big = big1080();
  const opts = { d: 9, sigmaColor: 50, sigmaSpace: 50 };
  const { value: results, took, maxGap, ticks } = await withTicker(() => Promise.all([0, 1, 2, 3].map(() => cv.bilateralFilter(big, opts))));
  const ts = performance.now();
  const want = cv.bilateralFilterSync(big, opts);
  const syncTook = performance.now() - ts;
  console.log(`# 4 x bilateralFilter 1920x1080: ${took.toFixed(0)} ms async (one Sync: ${syncTook.toFixed(0)} ms), ${ticks} ticks, max gap ${maxGap.toFixed(1)} ms`);
  for (const r of results) assertBytes(r.data, want.data, 'async bilateral 1080p = Sync');
  // Run on the main thread, the four calls would finish before a single 1 ms
  // tick (they start in one tick); off it, the loop ticks all along. A tenth
  // of the ticks possible leaves room for garbage collection pauses (up to
  // ~110 ms seen on Node 24 on a loaded 2-core machine), which are not the
  // operation blocking the loop.
  assert.ok(ticks >= took / 10, `event loop blocked: ${ticks} ticks in ${took.toFixed(0)} ms, max gap ${maxGap.toFixed(1)} ms`);
}, T);

test('async imencode / imdecode do not block the event loop (4 x 1080p PNG)', async () => {
  const big = big1080();
  const enc = await withTicker(() => Promise.all([0, 1, 2, 3].map(() => cv.imencode(big, '.png'))));
  const dec = await withTicker(() => Promise.all(enc.value.map((b) => cv.imdecode(b))));
  console.log(`# 4 x imencode png 1920x1080: ${enc.took.toFixed(0)} ms, max gap ${enc.maxGap.toFixed(1)} ms; 4 x imdecode: ${dec.took.toFixed(0)} ms, max gap ${dec.maxGap.toFixed(1)} ms`);
  for (const f of dec.value) assertBytes(f.data, big.data, 'imdecode(imencode(1080p png))');
  // as above: blocking calls would leave no tick at all
  assert.ok(enc.ticks >= enc.took / 10, `imencode blocked the event loop: ${enc.ticks} ticks in ${enc.took.toFixed(0)} ms, max gap ${enc.maxGap.toFixed(1)} ms`);
  assert.ok(dec.ticks >= dec.took / 10, `imdecode blocked the event loop: ${dec.ticks} ticks in ${dec.took.toFixed(0)} ms, max gap ${dec.maxGap.toFixed(1)} ms`);
}, T);
