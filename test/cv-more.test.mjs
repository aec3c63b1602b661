// cv namespace, second batch: warpAffine, filter2D, sobel, morphologyEx,
// findContours, drawContours and the drawing ops (rectangle, line, circle,
// putText), each checked byte for byte against Debian's python3-opencv (cv2 4.6
// + numpy, the same OpenCV build the addon links) on small deterministic images
// (W != H), in both the async and the Sync form; drawing ops return a new frame
// unless dst is given (dst may be the input: in place); parameter errors.
// The oracle, image generators and comparison helpers live in test/cv-oracle.mjs.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { cv, Frame } from '../dist/index.mjs';

const T = 60_000;

import { oracle, makePixels, makeFrame, assertBytes, caseTests, opCase, assertOpFails, caught } from './cv-oracle.mjs';


// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------
const W = 37;
const H = 23;
const bgr = makeFrame(W, H, 'bgr24', 1);
const gray = makeFrame(W, H, 'gray', 2);
const bgra = makeFrame(W, H, 'bgra', 5);

/** A binary (0/255) gray image: filled rectangles and circles, a ring with a blob inside it (nesting), shapes touching the border. */
function makeBinary(w, h) {
  const d = new Uint8Array(w * h);
  const set = (x, y, v) => { if (x >= 0 && y >= 0 && x < w && y < h) d[y * w + x] = v; };
  const rect = (x0, y0, rw, rh, v = 255) => { for (let y = y0; y < y0 + rh; y++) for (let x = x0; x < x0 + rw; x++) set(x, y, v); };
  const disc = (cx, cy, r, v = 255) => { for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) set(x, y, v); };
  rect(3, 4, 12, 8);          // plain rectangle
  rect(6, 6, 4, 3, 0);        // with a hole
  disc(28, 10, 7);            // ring ...
  disc(28, 10, 4, 0);
  disc(28, 10, 1);            // ... with a blob in the hole
  rect(0, h - 6, 9, 6);       // touches the left and bottom border
  disc(50, 30, 5);            // a circle
  rect(40, 3, 14, 5);         // a thin bar ...
  rect(45, 5, 3, 10);         // ... joined to a vertical one (an L/T shape)
  set(20, 30, 255);           // single pixel
  rect(w - 4, 14, 4, 3);      // touches the right border
  rect(14, 22, 9, 2);         // 2-pixel-high strip
  return Frame.from(d, { width: w, height: h, format: 'gray' });
}
const BW = 61;
const BH = 43;
const bin = makeBinary(BW, BH);
const empty = Frame.from(new Uint8Array(BW * BH), { width: BW, height: BH, format: 'gray' });
/** bin painted into a bgr24 frame (for drawing contours on colour). */
const binBgr = Frame.from(makePixels(BW, BH, 3, 31), { width: BW, height: BH, format: 'bgr24' });
const binGrayBg = Frame.from(makePixels(BW, BH, 1, 32), { width: BW, height: BH, format: 'gray' });

const snapshot = (frames) => frames.map((f) => Buffer.from(f.data));
const all = [bgr, gray, bgra, bin, empty, binBgr, binGrayBg];
const inputsBefore = snapshot(all);

const py = (v) => JSON.stringify(v); // JSON arrays/numbers are valid Python literals
const tup = (v) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;
const copyFrame = (f) => Frame.from(new Uint8Array(f.data), { width: f.width, height: f.height, format: f.format });
const INTER = { nearest: 'INTER_NEAREST', bilinear: 'INTER_LINEAR', bicubic: 'INTER_CUBIC', area: 'INTER_AREA', lanczos: 'INTER_LANCZOS4' };
const SHAPES = { rect: 'MORPH_RECT', ellipse: 'MORPH_ELLIPSE', cross: 'MORPH_CROSS' };
const colorFor = (f, i = 0) => ({ gray: [[200], [0], [255]], bgr24: [[0, 255, 128], [250, 10, 40], [255, 255, 255]], bgra: [[10, 200, 90, 255], [0, 0, 255, 128], [1, 2, 3, 4]] }[f.format][i]);

/** A case that also checks the input is untouched (drawing ops must not draw into their input). */
function pureCase(name, op, args, code, inputs, format) {
  const c = opCase(name, op, args, code, inputs, format);
  const src = args[0];
  const before = Buffer.from(src.data);
  const check = (r) => {
    assertBytes(src.data, before, `${name}: the input frame was modified`);
    assert.notEqual(r, src, `${name}: returned the input frame itself`);
    return r;
  };
  return { ...c, run: async () => check(await c.run()), sync: () => check(c.sync()) };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------
test('new ops exist with async and Sync forms', () => {
  const ops = ['warpAffine', 'filter2D', 'sobel', 'morphologyEx', 'findContours', 'drawContours', 'rectangle', 'line', 'circle', 'putText'];
  const missing = ops.flatMap((op) => [op, `${op}Sync`]).filter((k) => typeof cv[k] !== 'function');
  assert.deepEqual(missing, []);
}, T);

describe('warpAffine matches cv2.warpAffine (rotation, translation+scale, every interpolation, size, borderValue)', () => {
  // exact rotation matrices from cv2.getRotationMatrix2D (JSON round trip of Python floats is exact);
  // the cases below are built from them when the file loads, so the oracle runs then
  const [rot] = oracle([{ code: 'out = b""; extra = [cv2.getRotationMatrix2D((18.5, 11.0), 30, 0.9).reshape(-1).tolist(), cv2.getRotationMatrix2D((10.0, 7.0), -75.5, 1.2).reshape(-1).tolist()]' }]);
  const [rot30, rot75] = rot.extra;
  const ts = [1.3, 0, -4.5, 0, 0.8, 3.25];
  const shear = [1, 0.35, -2, -0.2, 1.1, 1.5];
  const cases = [];
  const M = (m) => `np.array(${py(m)}, dtype=np.float64).reshape(2, 3)`;
  for (const src of [bgr, gray, bgra]) {
    const f = src.format;
    const bv = colorFor(src, 1);
    for (const [mname, m] of [['rot30', rot30], ['translate+scale', ts]]) {
      for (const [interp, flag] of Object.entries(INTER)) {
        cases.push(opCase(`${f} ${mname} ${interp}`, 'warpAffine', [src, { matrix: m, interpolation: interp }],
          `out = cv2.warpAffine(a[0], ${M(m)}, (${src.width}, ${src.height}), flags=cv2.${flag}, borderMode=cv2.BORDER_CONSTANT, borderValue=0)`, [src]));
      }
    }
    cases.push(opCase(`${f} rot30 default interpolation (bilinear)`, 'warpAffine', [src, { matrix: rot30 }],
      `out = cv2.warpAffine(a[0], ${M(rot30)}, (${src.width}, ${src.height}))`, [src]));
    cases.push(opCase(`${f} rot-75.5 x1.2 -> 50x31 bicubic borderValue ${bv}`, 'warpAffine', [src, { matrix: rot75, width: 50, height: 31, interpolation: 'bicubic', borderValue: bv }],
      `out = cv2.warpAffine(a[0], ${M(rot75)}, (50, 31), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=${tup(bv)})`, [src]));
    cases.push(opCase(`${f} translate+scale -> 19x40 nearest borderValue ${bv}`, 'warpAffine', [src, { matrix: ts, width: 19, height: 40, interpolation: 'nearest', borderValue: bv }],
      `out = cv2.warpAffine(a[0], ${M(ts)}, (19, 40), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=${tup(bv)})`, [src]));
    cases.push(opCase(`${f} shear bilinear borderValue ${bv}`, 'warpAffine', [src, { matrix: shear, borderValue: bv }],
      `out = cv2.warpAffine(a[0], ${M(shear)}, (${src.width}, ${src.height}), flags=cv2.INTER_LINEAR, borderValue=${tup(bv)})`, [src]));
    cases.push(opCase(`${f} identity is a copy`, 'warpAffine', [src, { matrix: [1, 0, 0, 0, 1, 0] }], 'out = a[0]', [src]));
  }
  caseTests(cases, T);
  test('output size follows width/height', () => {
    const r = cv.warpAffineSync(bgr, { matrix: ts, width: 50, height: 31 });
    assert.equal(r.width, 50);
    assert.equal(r.height, 31);
  }, T);
});

describe('filter2D matches cv2.filter2D (float32 kernel, anchor centre, delta)', () => {
  const sharpen = [0, -1, 0, -1, 5, -1, 0, -1, 0];
  const asym = [1, 2, 0, -1, 0.5, 0, 3, -2, 1, 0, -0.25, 1, 0, 0.75, -1]; // 15 values: 5x3 and 3x5
  const ninth = Array(9).fill(1 / 9); // not exact in float32: the kernel must be float32 like cv2's
  const emboss = [-2, -1, 0, -1, 1, 1, 0, 1, 2];
  const cases = [];
  for (const src of [bgr, gray, bgra]) {
    const f = src.format;
    const k = (kernel, kw, kh, delta) => {
      const o = { kernel, kernelWidth: kw, kernelHeight: kh };
      if (delta !== undefined) o.delta = delta;
      return opCase(`${f} ${kw}x${kh} ${py(kernel.slice(0, 5))}... delta ${delta ?? 'default'}`, 'filter2D', [src, o],
        `out = cv2.filter2D(a[0], -1, np.array(${py(kernel)}, dtype=np.float32).reshape(${kh}, ${kw}), delta=${delta ?? 0})`, [src]);
    };
    cases.push(k(sharpen, 3, 3));
    cases.push(k(sharpen, 3, 3, 10));
    cases.push(k(asym, 3, 5));
    cases.push(k(asym, 5, 3));
    cases.push(k(asym, 5, 3, -20.5));
    cases.push(k(ninth, 3, 3));
    cases.push(k(emboss, 3, 3, 128));
    cases.push(k([0.5, 0.5], 2, 1));
    cases.push(k(Array.from({ length: 49 }, (_, i) => ((i * 7) % 11 - 5) / 8), 7, 7)); // 49 taps: just under cv2's DFT threshold for 8-bit (50 taps), spatial path
    cases.push(k(Array.from({ length: 169 }, (_, i) => ((i * 5) % 13 - 6) / 32), 13, 13)); // 169 taps: cv2's DFT-based path
  }
  caseTests(cases, T);
});

describe('sobel matches cv2.Sobel(img, -1, ...) (8-bit saturated, same format)', () => {
  const cases = [];
  for (const src of [gray, bgr, bgra]) {
    const f = src.format;
    for (const [dx, dy] of [[1, 0], [0, 1], [1, 1], [2, 0]]) {
      for (const ksize of [3, 5]) {
        cases.push(opCase(`${f} dx=${dx} dy=${dy} ksize ${ksize}`, 'sobel', [src, { dx, dy, ksize }],
          `out = cv2.Sobel(a[0], -1, ${dx}, ${dy}, ksize=${ksize}, scale=1, delta=0)`, [src]));
      }
    }
    cases.push(opCase(`${f} dx=1 dy=0 defaults`, 'sobel', [src, { dx: 1, dy: 0 }], 'out = cv2.Sobel(a[0], -1, 1, 0)', [src]));
    cases.push(opCase(`${f} dx=0 dy=1 ksize 3 scale 0.5 delta 128`, 'sobel', [src, { dx: 0, dy: 1, ksize: 3, scale: 0.5, delta: 128 }],
      'out = cv2.Sobel(a[0], -1, 0, 1, ksize=3, scale=0.5, delta=128)', [src]));
    cases.push(opCase(`${f} dx=1 dy=0 ksize 7 scale 0.01 delta 3`, 'sobel', [src, { dx: 1, dy: 0, ksize: 7, scale: 0.01, delta: 3 }],
      'out = cv2.Sobel(a[0], -1, 1, 0, ksize=7, scale=0.01, delta=3)', [src]));
    cases.push(opCase(`${f} dx=1 dy=0 ksize 1`, 'sobel', [src, { dx: 1, dy: 0, ksize: 1 }], 'out = cv2.Sobel(a[0], -1, 1, 0, ksize=1)', [src]));
  }
  caseTests(cases, T);
  test('output keeps the input format and size', () => {
    const r = cv.sobelSync(bgr, { dx: 1, dy: 0 });
    assert.equal(r.format, 'bgr24');
    assert.equal(r.width, W);
    assert.equal(r.height, H);
  }, T);
});

describe('morphologyEx matches cv2.morphologyEx with getStructuringElement', () => {
  const OPS = { open: 'MORPH_OPEN', close: 'MORPH_CLOSE', gradient: 'MORPH_GRADIENT', tophat: 'MORPH_TOPHAT', blackhat: 'MORPH_BLACKHAT' };
  const cases = [];
  for (const src of [gray, bgr, bin]) {
    const f = `${src.format} ${src.width}x${src.height}`;
    for (const [op, flag] of Object.entries(OPS)) {
      cases.push(opCase(`${f} ${op} defaults (rect 3, 1 iteration)`, 'morphologyEx', [src, { op }],
        `out = cv2.morphologyEx(a[0], cv2.${flag}, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))`, [src]));
      for (const [shape, sflag] of Object.entries(SHAPES)) {
        for (const [k, it] of [[5, 1], [3, 2]]) {
          cases.push(opCase(`${f} ${op} ${shape} ksize ${k} iterations ${it}`, 'morphologyEx', [src, { op, ksize: k, shape, iterations: it }],
            `out = cv2.morphologyEx(a[0], cv2.${flag}, cv2.getStructuringElement(cv2.${sflag}, (${k}, ${k})), iterations=${it})`, [src]));
        }
      }
    }
  }
  cases.push(opCase('bgra close ellipse 4 (even ksize)', 'morphologyEx', [bgra, { op: 'close', ksize: 4, shape: 'ellipse' }],
    'out = cv2.morphologyEx(a[0], cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4, 4)))', [bgra]));
  cases.push(opCase('gray gradient cross 7 iterations 3', 'morphologyEx', [gray, { op: 'gradient', ksize: 7, shape: 'cross', iterations: 3 }],
    'out = cv2.morphologyEx(a[0], cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_CROSS, (7, 7)), iterations=3)', [gray]));
  caseTests(cases, T);
});

// ---------------------------------------------------------------------------
// Contours
// ---------------------------------------------------------------------------
const RETR = { external: 'RETR_EXTERNAL', list: 'RETR_LIST', ccomp: 'RETR_CCOMP', tree: 'RETR_TREE' };
const CHAIN = { none: 'CHAIN_APPROX_NONE', simple: 'CHAIN_APPROX_SIMPLE' };
const contoursCode = (mode, method) =>
  `cs, hi = cv2.findContours(a[0], cv2.${RETR[mode]}, cv2.${CHAIN[method]}); out = b""; ` +
  'extra = {"contours": [c.reshape(-1).tolist() for c in cs], "hierarchy": [] if hi is None else hi.reshape(-1).tolist()}';

function assertContours(r, ref, label) {
  assert.ok(r && typeof r === 'object' && Array.isArray(r.contours), `${label}: result is { contours: [...], hierarchy }`);
  assert.ok(r.hierarchy instanceof Int32Array, `${label}: hierarchy is an Int32Array (got ${r.hierarchy?.constructor?.name})`);
  assert.equal(r.contours.length, ref.contours.length, `${label}: number of contours`);
  for (const [i, c] of r.contours.entries()) {
    assert.ok(c instanceof Int32Array, `${label}: contour ${i} is an Int32Array (got ${c?.constructor?.name})`);
    assert.deepEqual([...c], ref.contours[i], `${label}: contour ${i} points`);
  }
  assert.deepEqual([...r.hierarchy], ref.hierarchy, `${label}: hierarchy [next, prev, firstChild, parent]`);
}

describe('findContours matches cv2.findContours (points, order, hierarchy)', () => {
  const cases = [];
  for (const [iname, img] of [['binary', bin], ['gray (nonzero = 1)', gray], ['empty', empty]]) {
    for (const mode of Object.keys(RETR)) {
      for (const method of Object.keys(CHAIN)) cases.push({ name: `${iname} ${mode} ${method}`, img, o: { mode, method }, code: contoursCode(mode, method) });
    }
  }
  cases.push({ name: 'binary defaults (external, simple)', img: bin, o: undefined, code: contoursCode('external', 'simple') });
  cases.push({ name: 'binary {} (external, simple)', img: bin, o: {}, code: contoursCode('external', 'simple') });
  let refs;
  beforeAll(() => {
    refs = oracle(cases.map((c) => ({ code: c.code, inputs: [c.img] })));
  }, T);
  test('test image sanity: tree has nesting, several contours', () => {
    const ref = refs[cases.findIndex((c) => c.name === 'binary tree simple')].extra;
    assert.ok(ref.contours.length >= 8, `only ${ref.contours.length} contours`);
    assert.ok(ref.hierarchy.some((v, i) => i % 4 === 3 && v >= 0), 'no nested contour');
  }, T);
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      const args = c.o === undefined ? [c.img] : [c.img, c.o];
      const before = Buffer.from(c.img.data);
      const p = cv.findContours(...args);
      assert.ok(p instanceof Promise, 'findContours returns a Promise');
      assertContours(await p, refs[i].extra, `${c.name} (async)`);
      assertContours(cv.findContoursSync(...args), refs[i].extra, `${c.name} (Sync)`);
      assertBytes(c.img.data, before, `${c.name}: findContours modified its input`);
    }, T);
  }
});

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------
const csPy = (contours) => `[np.array(c, dtype=np.int32).reshape(-1, 1, 2) for c in ${py(contours.map((c) => [...c]))}]`;

describe('drawContours matches cv2.drawContours (new frame; dst; in place)', () => {
  // the contours drawn: the cases below are built from them when the file loads
  const tree = cv.findContoursSync(bin, { mode: 'tree', method: 'simple' }).contours;
  const ext = cv.findContoursSync(bin, { mode: 'external', method: 'none' }).contours;
  test('findContoursSync finds the contours to draw', () => {
    assert.ok(tree.length >= 5, `findContoursSync gave ${tree.length} contours`);
  }, T);
  const cases = [];
  for (const src of [binBgr, binGrayBg, bin]) {
    const f = src.format;
    for (const [cname, cs] of [['tree/simple', tree], ['external/none', ext]]) {
      const CS = csPy(cs);
      const draw = (index, thickness, ci) => {
        const o = { color: colorFor(src, ci) };
        if (index !== undefined) o.index = index;
        if (thickness !== undefined) o.thickness = thickness;
        return pureCase(`${f} ${cname} index ${index ?? 'default'} thickness ${thickness ?? 'default'}`, 'drawContours', [src, cs, o],
          `out = cv2.drawContours(a[0].copy(), ${CS}, ${index ?? -1}, ${tup(o.color)}, ${thickness ?? 1})`, [src]);
      };
      cases.push(draw(undefined, undefined, 0));
      cases.push(draw(-1, 2, 1));
      cases.push(draw(-1, -1, 0));
      cases.push(draw(2, 1, 1));
      cases.push(draw(1, -1, 2));
      cases.push(draw(0, 3, 0));
    }
  }
  caseTests(cases, T);
  test('dst: draws into dst (returned) and leaves the input alone; dst = input draws in place', async () => {
    const o = { color: [0, 0, 255], thickness: 2 };
    const [ref] = oracle([{ code: `out = cv2.drawContours(a[0].copy(), ${csPy(tree)}, -1, (0, 0, 255), 2)`, inputs: [binBgr] }]);
    for (const form of ['async', 'Sync']) {
      const run = (...a) => (form === 'async' ? cv.drawContours(...a) : cv.drawContoursSync(...a));
      const dst = copyFrame(binBgr);
      const r = await run(binBgr, tree, { ...o, dst });
      assert.equal(r, dst, `${form}: returns dst`);
      assertBytes(dst.data, ref.data, `${form}: drawn into dst`);
      const self = copyFrame(binBgr);
      const r2 = await run(self, tree, { ...o, dst: self });
      assert.equal(r2, self, `${form}: in place returns the frame`);
      assertBytes(self.data, ref.data, `${form}: drawn in place`);
    }
  }, T);
  test('index out of range -> RangeError', async () => {
    await assertOpFails('drawContours', [binBgr, tree, { index: tree.length, color: [1, 2, 3] }], RangeError, 'index = length');
  }, T);
  test('an empty contour list leaves the pixels unchanged', async () => {
    const r = cv.drawContoursSync(binBgr, [], { color: [1, 2, 3] });
    assertBytes(r.data, binBgr.data, 'drawContours([])');
  }, T);
});

describe('rectangle, line, circle, putText match cv2 and return a new frame', () => {
  const cases = [];
  for (const src of [bgr, gray, bgra]) {
    const f = src.format;
    const c0 = colorFor(src, 0);
    const c1 = colorFor(src, 1);
    // rectangle: (x, y, width, height) -> cv2 corners (x, y), (x + w - 1, y + h - 1)
    for (const [x, y, w, h, th, c] of [[3, 4, 20, 10, undefined, c0], [5, 2, 12, 15, 2, c1], [10, 6, 9, 7, -1, c0], [-5, 15, 20, 20, 3, c1], [0, 0, W, H, 1, c0], [30, 2, 1, 1, 1, c1]]) {
      const o = { x, y, width: w, height: h, color: c };
      if (th !== undefined) o.thickness = th;
      cases.push(pureCase(`rectangle ${f} ${x},${y} ${w}x${h} thickness ${th ?? 'default'}`, 'rectangle', [src, o],
        `out = cv2.rectangle(a[0].copy(), (${x}, ${y}), (${x + w - 1}, ${y + h - 1}), ${tup(c)}, ${th ?? 1})`, [src]));
    }
    for (const [x1, y1, x2, y2, th, c] of [[0, 0, 36, 22, undefined, c0], [2, 20, 30, 3, 1, c1], [5, 5, 5, 18, 3, c0], [-10, 12, 50, 8, 2, c1], [12, 7, 25, 7, 4, c0], [33, 1, 33, 1, 1, c1]]) {
      const o = { x1, y1, x2, y2, color: c };
      if (th !== undefined) o.thickness = th;
      cases.push(pureCase(`line ${f} ${x1},${y1} -> ${x2},${y2} thickness ${th ?? 'default'}`, 'line', [src, o],
        `out = cv2.line(a[0].copy(), (${x1}, ${y1}), (${x2}, ${y2}), ${tup(c)}, ${th ?? 1})`, [src]));
    }
    for (const [x, y, r, th, c] of [[18, 11, 8, undefined, c0], [10, 10, 5, 2, c1], [25, 12, 6, -1, c0], [35, 20, 12, 3, c1], [3, 3, 0, 1, c0], [18, 11, 30, 1, c1]]) {
      const o = { x, y, radius: r, color: c };
      if (th !== undefined) o.thickness = th;
      cases.push(pureCase(`circle ${f} ${x},${y} r ${r} thickness ${th ?? 'default'}`, 'circle', [src, o],
        `out = cv2.circle(a[0].copy(), (${x}, ${y}), ${r}, ${tup(c)}, ${th ?? 1})`, [src]));
    }
    const FONTS = { simplex: 'FONT_HERSHEY_SIMPLEX', plain: 'FONT_HERSHEY_PLAIN', duplex: 'FONT_HERSHEY_DUPLEX', complex: 'FONT_HERSHEY_COMPLEX',
      triplex: 'FONT_HERSHEY_TRIPLEX', script_simplex: 'FONT_HERSHEY_SCRIPT_SIMPLEX', script_complex: 'FONT_HERSHEY_SCRIPT_COMPLEX' };
    for (const [font, flag] of Object.entries(FONTS)) {
      cases.push(pureCase(`putText ${f} ${font} 0.5`, 'putText', [src, 'Ag 42', { x: 1, y: 15, fontScale: 0.5, color: c0, font }],
        `out = cv2.putText(a[0].copy(), "Ag 42", (1, 15), cv2.${flag}, 0.5, ${tup(c0)}, 1)`, [src]));
    }
    cases.push(pureCase(`putText ${f} defaults (simplex, scale 1, thickness 1)`, 'putText', [src, 'Hi', { x: 2, y: 20, color: c1 }],
      `out = cv2.putText(a[0].copy(), "Hi", (2, 20), cv2.FONT_HERSHEY_SIMPLEX, 1, ${tup(c1)}, 1)`, [src]));
    cases.push(pureCase(`putText ${f} duplex 0.7 thickness 2 partly outside`, 'putText', [src, 'xyz!', { x: -3, y: 8, fontScale: 0.7, color: c1, thickness: 2, font: 'duplex' }],
      `out = cv2.putText(a[0].copy(), "xyz!", (-3, 8), cv2.FONT_HERSHEY_DUPLEX, 0.7, ${tup(c1)}, 2)`, [src]));
    cases.push(pureCase(`putText ${f} empty string`, 'putText', [src, '', { x: 2, y: 20, color: c1 }],
      `out = cv2.putText(a[0].copy(), "", (2, 20), cv2.FONT_HERSHEY_SIMPLEX, 1, ${tup(c1)}, 1)`, [src]));
  }
  // bgra with a 3-number colour is accepted on purpose (cv2 parity: Scalar(b, g, r) leaves alpha 0)
  cases.push(pureCase('circle bgra 3-number colour (alpha 0 like cv2)', 'circle', [bgra, { x: 18, y: 11, radius: 6, color: [5, 6, 7], thickness: -1 }],
    'out = cv2.circle(a[0].copy(), (18, 11), 6, (5, 6, 7), -1)', [bgra]));
  // non-ASCII text: cv2 gets the UTF-8 bytes too
  cases.push(pureCase('putText bgr24 non-ASCII text', 'putText', [bgr, 'é€a', { x: 1, y: 18, fontScale: 0.6, color: [1, 255, 2] }],
    'out = cv2.putText(a[0].copy(), "\u00e9\u20aca", (1, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (1, 255, 2), 1)', [bgr]));
  caseTests(cases, T);
  test('dst: draws into dst; dst = the frame draws in place (every drawing op)', async () => {
    const calls = [
      ['rectangle', (f, dst) => [f, { x: 3, y: 4, width: 20, height: 10, color: [9, 99, 199], thickness: 2, dst }], 'cv2.rectangle(a[0].copy(), (3, 4), (22, 13), (9, 99, 199), 2)'],
      ['line', (f, dst) => [f, { x1: 0, y1: 3, x2: 30, y2: 20, color: [9, 99, 199], thickness: 2, dst }], 'cv2.line(a[0].copy(), (0, 3), (30, 20), (9, 99, 199), 2)'],
      ['circle', (f, dst) => [f, { x: 18, y: 11, radius: 7, color: [9, 99, 199], thickness: -1, dst }], 'cv2.circle(a[0].copy(), (18, 11), 7, (9, 99, 199), -1)'],
      ['putText', (f, dst) => [f, 'ok', { x: 2, y: 18, fontScale: 0.6, color: [9, 99, 199], font: 'complex', dst }], 'cv2.putText(a[0].copy(), "ok", (2, 18), cv2.FONT_HERSHEY_COMPLEX, 0.6, (9, 99, 199), 1)'],
    ];
    const refs = oracle(calls.map(([, , code]) => ({ code: `out = ${code}`, inputs: [bgr] })));
    for (const [i, [op, args]] of calls.entries()) {
      for (const form of ['async', 'Sync']) {
        const fn = form === 'async' ? cv[op] : cv[`${op}Sync`];
        const dst = copyFrame(bgr);
        const r = await fn(...args(bgr, dst));
        assert.equal(r, dst, `${op} ${form}: returns dst`);
        assertBytes(dst.data, refs[i].data, `${op} ${form}: drawn into dst`);
        const self = copyFrame(bgr);
        const r2 = await fn(...args(self, self));
        assert.equal(r2, self, `${op} ${form}: in place returns the frame`);
        assertBytes(self.data, refs[i].data, `${op} ${form}: drawn in place`);
      }
    }
  }, T);
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------
/** Both forms fail with one of `types`. */
async function assertOpFailsAny(op, args, types, label) {
  for (const [form, fn] of [['async', () => cv[op](...args)], ['Sync', () => cv[`${op}Sync`](...args)]]) {
    const err = await caught(fn);
    assert.ok(err, `${label} (${form}): expected ${types.map((x) => x.name).join('/')}, nothing was thrown`);
    assert.ok(types.some((ty) => err instanceof ty), `${label} (${form}): expected ${types.map((x) => x.name).join('/')}, got ${err?.constructor?.name}: ${err?.message}`);
  }
}
const TR = [TypeError, RangeError];

describe('parameter errors: RangeError / TypeError', () => {
  test('filter2D: kernel length != kernelWidth * kernelHeight -> RangeError', async () => {
    await assertOpFails('filter2D', [bgr, { kernel: [1, 2, 3, 4, 5, 6, 7, 8], kernelWidth: 3, kernelHeight: 3 }], RangeError, 'kernel of 8 for 3x3');
    await assertOpFails('filter2D', [gray, { kernel: Array(16).fill(0), kernelWidth: 3, kernelHeight: 5 }], RangeError, 'kernel of 16 for 3x5');
  }, T);
  test('filter2D: NaN in kernel -> RangeError', async () => {
    await assertOpFails('filter2D', [gray, { kernel: [0, 0, 0, 0, Number.NaN, 0, 0, 0, 0], kernelWidth: 3, kernelHeight: 3 }], RangeError, 'NaN kernel');
  }, T);
  test('sobel: dx = dy = 0 -> RangeError', async () => {
    await assertOpFails('sobel', [gray, { dx: 0, dy: 0 }], RangeError, 'sobel dx=dy=0');
    await assertOpFails('sobel', [bgr, { dx: 0, dy: 0, ksize: 5 }], RangeError, 'sobel bgr dx=dy=0');
  }, T);
  test('sobel: even ksize -> RangeError', async () => {
    await assertOpFails('sobel', [gray, { dx: 1, dy: 0, ksize: 4 }], RangeError, 'sobel ksize 4');
  }, T);
  test('findContours on bgr24 -> TypeError naming the format', async () => {
    await assertOpFails('findContours', [bgr, { mode: 'tree' }], TypeError, 'findContours bgr24', /bgr24/);
    await assertOpFails('findContours', [bgra], TypeError, 'findContours bgra', /bgra/);
  }, T);
  test('findContours bad mode / method -> TypeError or RangeError', async () => {
    await assertOpFailsAny('findContours', [bin, { mode: 'floodfill' }], TR, 'mode floodfill');
    await assertOpFailsAny('findContours', [bin, { method: 'tc89' }], TR, 'method tc89');
  }, T);
  test('warpAffine: matrix of 5 numbers -> TypeError/RangeError', async () => {
    await assertOpFailsAny('warpAffine', [bgr, { matrix: [1, 0, 0, 0, 1] }], TR, 'matrix of 5');
    await assertOpFailsAny('warpAffine', [bgr, { matrix: [1, 0, 0, 0, 1, 0, 0] }], TR, 'matrix of 7');
    await assertOpFails('warpAffine', [bgr, { matrix: [1, 0, Number.NaN, 0, 1, 0] }], RangeError, 'matrix with NaN');
    await assertOpFailsAny('warpAffine', [bgr, { matrix: [1, 0, 0, 0, 1, 0], interpolation: 'cubic-ish' }], TR, 'bad interpolation');
    await assertOpFailsAny('warpAffine', [bgr, { matrix: [1, 0, 0, 0, 1, 0], borderValue: [1, 2] }], TR, 'borderValue of 2 for bgr24');
  }, T);
  test('color with the wrong number of channels -> TypeError/RangeError', async () => {
    await assertOpFailsAny('rectangle', [bgr, { x: 1, y: 1, width: 5, height: 5, color: [1, 2] }], TR, 'rectangle bgr24 color [1, 2]');
    await assertOpFailsAny('rectangle', [gray, { x: 1, y: 1, width: 5, height: 5, color: [1, 2, 3] }], TR, 'rectangle gray color [1, 2, 3]');
    await assertOpFailsAny('line', [bgr, { x1: 1, y1: 1, x2: 5, y2: 5, color: [255] }], TR, 'line bgr24 color [255]');
    await assertOpFailsAny('circle', [bgra, { x: 5, y: 5, radius: 3, color: [1, 2] }], TR, 'circle bgra color [1, 2]');
    await assertOpFailsAny('circle', [bgra, { x: 5, y: 5, radius: 3, color: [1, 2, 3, 4, 5] }], TR, 'circle bgra color of 5');
    await assertOpFailsAny('rectangle', [bgr, { x: 1, y: 1, width: 5, height: 5, color: [1, 2, 3, 4] }], TR, 'rectangle bgr24 color of 4');
    await assertOpFailsAny('putText', [gray, 'x', { x: 1, y: 10, color: [1, 2] }], TR, 'putText gray color [1, 2]');
    const cs = cv.findContoursSync(bin).contours;
    await assertOpFailsAny('drawContours', [binBgr, cs, { color: [1, 2] }], TR, 'drawContours bgr24 color [1, 2]');
  }, T);
  // cv2 rejects these too, but with an OpenCV assertion; avcv validates its parameters up front (RangeError), as elsewhere
  test('line / putText thickness -1 (fill makes no sense) -> RangeError, not a raw OpenCV assertion', async () => {
    await assertOpFails('line', [bgr, { x1: 0, y1: 0, x2: 5, y2: 5, color: [1, 2, 3], thickness: -1 }], RangeError, 'line thickness -1');
    await assertOpFails('putText', [bgr, 'a', { x: 1, y: 10, color: [1, 2, 3], thickness: -1 }], RangeError, 'putText thickness -1');
  }, T);
  test('drawContours: an empty contour -> RangeError, not a raw OpenCV assertion', async () => {
    await assertOpFails('drawContours', [bgr, [new Int32Array(0)], { color: [1, 2, 3] }], RangeError, 'empty contour');
    await assertOpFails('drawContours', [bgr, [new Int32Array([1, 1, 5, 5]), []], { color: [1, 2, 3], thickness: -1 }], RangeError, 'empty plain contour');
  }, T);
  test('drawContours: odd coordinate count -> RangeError; NaN / non-numbers in plain-array contours are rejected', async () => {
    await assertOpFails('drawContours', [bgr, [new Int32Array([1, 1, 5])], { color: [1, 2, 3] }], RangeError, 'odd length');
    await assertOpFails('drawContours', [bgr, [[Number.NaN, 1, 5, 5]], { color: [1, 2, 3] }], RangeError, 'NaN coordinate');
    await assertOpFailsAny('drawContours', [bgr, [['a', 1, 5, 5]], { color: [1, 2, 3] }], TR, 'string coordinate');
    await assertOpFailsAny('drawContours', [bgr, [[1.5, 1, 5, 5]], { color: [1, 2, 3] }], TR, 'fractional coordinate');
  }, T);
  test('drawContours / drawing ops: dst of another size -> RangeError, another format -> TypeError', async () => {
    const cs = cv.findContoursSync(bin).contours;
    await assertOpFails('drawContours', [binBgr, cs, { color: [1, 2, 3], dst: bgr }], RangeError, 'dst size');
    await assertOpFails('rectangle', [bgr, { x: 1, y: 1, width: 3, height: 3, color: [1, 2, 3], dst: gray }], TypeError, 'dst format');
  }, T);
  test('findContours: unknown option (dst) -> TypeError', async () => {
    await assertOpFails('findContours', [bin, { mode: 'tree', dst: bin }], TypeError, 'findContours dst', /dst/);
  }, T);
  test('unknown option / bad enum -> TypeError', async () => {
    await assertOpFails('morphologyEx', [gray, { op: 'open', kernel: 3 }], TypeError, 'morphologyEx unknown option', /kernel/);
    await assertOpFailsAny('morphologyEx', [gray, { op: 'hitmiss-ish' }], TR, 'morphologyEx bad op');
    await assertOpFailsAny('putText', [bgr, 'x', { x: 1, y: 10, color: [1, 2, 3], font: 'comic' }], TR, 'putText bad font');
    await assertOpFails('sobel', [gray, { dx: 1, dy: 0, dz: 1 }], TypeError, 'sobel unknown option', /dz/);
  }, T);
});

describe('dst = the input (in place) for warpAffine, filter2D, sobel, morphologyEx matches cv2', () => {
  // the test names below show the matrix: the oracle gives it when the file loads
  const [rotRef] = oracle([{ code: 'out = b""; extra = cv2.getRotationMatrix2D((18.5, 11.0), 30, 0.9).reshape(-1).tolist()' }]);
  const rot30 = rotRef.extra;
  const calls = [
    ['warpAffine', { matrix: rot30, interpolation: 'bicubic' }, `cv2.warpAffine(a[0], np.array(${py(rot30)}, dtype=np.float64).reshape(2, 3), (${W}, ${H}), flags=cv2.INTER_CUBIC)`],
    ['warpAffine', { matrix: [1, 0, 2, 0, 1, 1], interpolation: 'nearest' }, `cv2.warpAffine(a[0], np.array([[1, 0, 2], [0, 1, 1]], dtype=np.float64), (${W}, ${H}), flags=cv2.INTER_NEAREST)`],
    ['filter2D', { kernel: [0, -1, 0, -1, 5, -1, 0, -1, 0], kernelWidth: 3, kernelHeight: 3 }, 'cv2.filter2D(a[0], -1, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32))'],
    ['sobel', { dx: 1, dy: 0, ksize: 5 }, 'cv2.Sobel(a[0], -1, 1, 0, ksize=5)'],
    ['morphologyEx', { op: 'gradient', ksize: 5, shape: 'ellipse' }, 'cv2.morphologyEx(a[0], cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))'],
    ['morphologyEx', { op: 'tophat', ksize: [3, 5] }, 'cv2.morphologyEx(a[0], cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5)))'],
  ];
  const srcs = [bgr, gray];
  let refs;
  beforeAll(() => {
    refs = oracle(srcs.flatMap((src) => calls.map(([, , code]) => ({ code: `out = ${code}`, inputs: [src] }))));
  }, T);
  let i = 0;
  for (const src of srcs) {
    for (const [op, o] of calls) {
      const k = i++;
      test(`${op} ${src.format} ${JSON.stringify(o).slice(0, 60)}`, async () => {
        const ref = refs[k];
        const a = copyFrame(src);
        assert.equal(await cv[op](a, { ...o, dst: a }), a, 'async returns dst');
        assertBytes(a.data, ref.data, `${op} in place (async)`);
        const b = copyFrame(src);
        assert.equal(cv[`${op}Sync`](b, { ...o, dst: b }), b, 'Sync returns dst');
        assertBytes(b.data, ref.data, `${op} in place (Sync)`);
        const d = copyFrame(src).data.fill(0);
        const dst = Frame.from(d, { width: src.width, height: src.height, format: src.format });
        assert.equal(cv[`${op}Sync`](src, { ...o, dst }), dst, 'Sync returns a separate dst');
        assertBytes(dst.data, ref.data, `${op} into a separate dst`);
      }, T);
    }
  }
});

test('drawContours takes plain number arrays too (cv2\'s points)', async () => {
  const [ref] = oracle([{ code: contoursCode('tree', 'none'), inputs: [bin] }]);
  const plainCs = ref.extra.contours; // number[][]
  const [want] = oracle([{ code: `out = cv2.drawContours(a[0].copy(), ${csPy(plainCs)}, -1, (3, 200, 90), 1)`, inputs: [binBgr] }]);
  assertBytes(cv.drawContoursSync(binBgr, plainCs, { color: [3, 200, 90] }).data, want.data, 'drawContoursSync(number[][])');
  assertBytes((await cv.drawContours(binBgr, plainCs, { color: [3, 200, 90] })).data, want.data, 'drawContours(number[][])');
}, T);

test('async findContours / drawContours under concurrency equal the Sync ones', async () => {
  const imgs = Array.from({ length: 8 }, (_, i) => cv.thresholdSync(makeFrame(161, 97, 'gray', 200 + i), { thresh: 128, maxval: 255, type: 'binary' }).frame);
  const found = await Promise.all(imgs.map((f, i) => cv.findContours(f, { mode: i % 2 ? 'tree' : 'ccomp', method: i % 3 ? 'simple' : 'none' })));
  for (const [i, f] of imgs.entries()) {
    const s = cv.findContoursSync(f, { mode: i % 2 ? 'tree' : 'ccomp', method: i % 3 ? 'simple' : 'none' });
    assert.equal(found[i].contours.length, s.contours.length, `image ${i}: contour count`);
    assert.ok(s.contours.length > 3, `image ${i}: only ${s.contours.length} contours`);
    found[i].contours.forEach((c, k) => assertBytes(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), new Uint8Array(s.contours[k].buffer, s.contours[k].byteOffset, s.contours[k].byteLength), `image ${i} contour ${k}`));
    assert.deepEqual([...found[i].hierarchy], [...s.hierarchy], `image ${i}: hierarchy`);
  }
  const drawn = await Promise.all(imgs.map((f, i) => cv.drawContours(f, found[i].contours, { color: [128], thickness: i % 2 ? -1 : 2 })));
  for (const [i, f] of imgs.entries()) assertBytes(drawn[i].data, cv.drawContoursSync(f, found[i].contours, { color: [128], thickness: i % 2 ? -1 : 2 }).data, `drawContours image ${i}`);
}, T);

test('inputs are never modified', () => {
  const after = snapshot(all);
  for (const [i, b] of inputsBefore.entries()) assertBytes(after[i], b, `input ${i} (${all[i].format})`);
}, T);
