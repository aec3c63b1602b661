import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromNative } from './errors';
import { Frame, holdMemory } from './frame';
import { CV_INTERPOLATION_NAMES, PIXEL_FORMATS, byteLength, channelsOf, defaultLayout, type PixelFormat } from './formats';
import { ioError, writeAtomic, writeAtomicSync } from './files';
import { native } from './native';
import { checkKeys, describe, int as intStrict, isObject, oneOf } from './validate';

/** Integer check for cv: NaN is a bad value (RangeError), not a bad type. */
function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v === 'number' && Number.isNaN(v)) throw new RangeError(`${name} must be an integer in ${min}..${max}; got NaN`);
  return intStrict(name, v, min, max);
}

/** A Frame, or a plain image with the same fields (hwc). */
export type Image = Frame | {
  /** The pixels: exactly width * height * channels bytes (yuv420p/nv12: width * height * 3/2), hwc. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The pixel format of `data`. */
  format: PixelFormat;
};

interface Planned {
  inputs: Image[];
  out: { width: number; height: number; format: PixelFormat };
  args: Record<string, unknown>;
  /** write here instead of a new frame (checked against out) */
  dst?: unknown;
}

/**
 * Every operation takes `dst`: a frame of exactly the output's size and format to write into (no allocation).
 */
export interface DstOption {
  /** The frame to write the result into: exactly the output's size and format (no allocation); it is also returned. */
  dst?: Image;
}

const PACKED: readonly PixelFormat[] = ['bgr24', 'rgb24', 'bgra', 'rgba', 'gray'];

function asImage(name: string, v: unknown, allowed: readonly PixelFormat[] = PACKED, op = ''): Image {
  if (!isObject(v) || !((v as { data?: unknown }).data instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Frame or {data, width, height, format}; got ${describe(v)}`);
  }
  const img = v as unknown as Image;
  const format = oneOf(`${name}.format`, img.format, PIXEL_FORMATS);
  if ((img as { layout?: unknown }).layout === 'chw' && format !== 'gray') {
    throw new TypeError(`cv.${op} takes hwc frames; ${name} is chw (use frame.toLayout('hwc'))`);
  }
  if (!allowed.includes(format)) {
    throw new TypeError(`cv.${op} needs ${allowed.map((f) => `'${f}'`).join(' or ')} frames; ${name} is '${format}'` +
      (allowed.length === 1 && allowed[0] === 'gray' ? " (convert with cv.cvtColor(frame, 'gray'))" : ''));
  }
  int(`${name}.width`, img.width, 1, 16384);
  int(`${name}.height`, img.height, 1, 16384);
  const need = byteLength(format, format === 'yuv420p' || format === 'nv12' ? 'planar' : 'hwc', img.width, img.height);
  if (img.data.byteLength !== need) throw new RangeError(`${name} has ${img.data.byteLength} bytes; ${img.width}x${img.height} ${format} needs ${need}`);
  return img;
}

function num(name: string, v: unknown, def?: number, min = -Infinity, max = Infinity): number {
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number; got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min || v > max) throw new RangeError(`${name} must be a finite number in ${min}..${max}; got ${v}`);
  return v;
}

function ksize(v: unknown, def: number, odd: boolean, min = 1): [number, number] {
  const pair = Array.isArray(v) ? v : [v ?? def, v ?? def];
  if (pair.length !== 2) throw new TypeError(`ksize must be a number or [width, height]; got ${describe(v)}`);
  const [w, h] = pair.map((k, i) => int(`ksize${Array.isArray(v) ? `[${i}]` : ''}`, k, min, 255));
  if (odd && (w % 2 === 0 || h % 2 === 0)) throw new RangeError(`ksize must be odd; got ${Array.isArray(v) ? `[${w}, ${h}]` : w}`);
  return [w, h];
}

function opts(op: string, o: unknown, keys: readonly string[]): Record<string, unknown> {
  if (o === undefined) return {};
  if (!isObject(o)) throw new TypeError(`cv.${op}: options must be an object`);
  checkKeys(`cv.${op}`, o, [...keys, 'dst']);
  return o;
}

function sameShape(op: string, a: Image, b: Image): void {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`cv.${op}: images differ in size (${a.width}x${a.height} vs ${b.width}x${b.height})`);
  if (a.format !== b.format) throw new TypeError(`cv.${op}: images differ in format ('${a.format}' vs '${b.format}')`);
}

const same = (img: Image) => ({ width: img.width, height: img.height, format: img.format });
const grayOut = (img: Image) => ({ width: img.width, height: img.height, format: 'gray' as PixelFormat });

// Each op: validate, then say what the output is and what the native side gets.
const PLANS = {
  cvtColor(frame: Image, to: PixelFormat, o?: DstOption): Planned {
    opts('cvtColor', o, []);
    const img = asImage('frame', frame, PIXEL_FORMATS, 'cvtColor');
    const target = oneOf('to', to, PIXEL_FORMATS);
    if ((target === 'yuv420p' || target === 'nv12') && (img.width % 2 || img.height % 2)) throw new RangeError(`${target} needs an even width and height`);
    return { inputs: [img], out: { width: img.width, height: img.height, format: target }, args: {} };
  },
  resize(frame: Image, o: { width: number; height: number; interpolation?: string } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'resize');
    const p = opts('resize', o, ['width', 'height', 'interpolation']);
    const width = int('width', p.width, 1, 16384);
    const height = int('height', p.height, 1, 16384);
    const interpolation = p.interpolation === undefined ? 'bilinear' : oneOf('interpolation', p.interpolation, CV_INTERPOLATION_NAMES);
    return { inputs: [img], out: { width, height, format: img.format }, args: { interpolation } };
  },
  flip(frame: Image, o: { axis: 'horizontal' | 'vertical' | 'both' } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'flip');
    const p = opts('flip', o, ['axis']);
    return { inputs: [img], out: same(img), args: { axis: oneOf('axis', p.axis, ['horizontal', 'vertical', 'both'] as const) } };
  },
  rotate(frame: Image, o: { angle: 90 | 180 | 270 } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'rotate');
    const p = opts('rotate', o, ['angle']);
    if (p.angle !== 90 && p.angle !== 180 && p.angle !== 270) throw new RangeError(`angle must be 90, 180 or 270 (clockwise); got ${describe(p.angle)}`);
    const swap = p.angle !== 180;
    return { inputs: [img], out: { width: swap ? img.height : img.width, height: swap ? img.width : img.height, format: img.format }, args: { angle: p.angle } };
  },
  crop(frame: Image, o: { x: number; y: number; width: number; height: number; view?: boolean } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'crop');
    const p = opts('crop', o, ['x', 'y', 'width', 'height', 'view']);
    const x = int('x', p.x, 0, img.width - 1);
    const y = int('y', p.y, 0, img.height - 1);
    const width = int('width', p.width, 1, img.width - x);
    const height = int('height', p.height, 1, img.height - y);
    return { inputs: [img], out: { width, height, format: img.format }, args: { x, y } };
  },
  gaussianBlur(frame: Image, o: { ksize: number | [number, number]; sigmaX?: number; sigmaY?: number } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'gaussianBlur');
    const p = opts('gaussianBlur', o, ['ksize', 'sigmaX', 'sigmaY']);
    const [kw, kh] = ksize(p.ksize, 3, true);
    return { inputs: [img], out: same(img), args: { ksizeW: kw, ksizeH: kh, sigmaX: num('sigmaX', p.sigmaX, 0, 0), sigmaY: num('sigmaY', p.sigmaY, 0, 0) } };
  },
  medianBlur(frame: Image, o: { ksize: number } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'medianBlur');
    const p = opts('medianBlur', o, ['ksize']);
    const [k] = ksize(p.ksize, 3, true, 3);
    return { inputs: [img], out: same(img), args: { ksize: k } };
  },
  bilateralFilter(frame: Image, o: { d: number; sigmaColor: number; sigmaSpace: number } & DstOption): Planned {
    const img = asImage('frame', frame, ['bgr24', 'rgb24', 'gray'], 'bilateralFilter');
    const p = opts('bilateralFilter', o, ['d', 'sigmaColor', 'sigmaSpace']);
    return { inputs: [img], out: same(img), args: { d: int('d', p.d, -1, 64), sigmaColor: num('sigmaColor', p.sigmaColor, undefined, 0), sigmaSpace: num('sigmaSpace', p.sigmaSpace, undefined, 0) } };
  },
  boxFilter(frame: Image, o: { ksize: number | [number, number]; normalize?: boolean } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'boxFilter');
    const p = opts('boxFilter', o, ['ksize', 'normalize']);
    const [kw, kh] = ksize(p.ksize, 3, false);
    return { inputs: [img], out: same(img), args: { ksizeW: kw, ksizeH: kh, normalize: p.normalize === undefined ? true : Boolean(p.normalize) } };
  },
  canny(frame: Image, o: { threshold1: number; threshold2: number; apertureSize?: number; L2gradient?: boolean } & DstOption): Planned {
    const img = asImage('frame', frame, ['gray'], 'canny');
    const p = opts('canny', o, ['threshold1', 'threshold2', 'apertureSize', 'L2gradient']);
    const ap = p.apertureSize === undefined ? 3 : int('apertureSize', p.apertureSize, 3, 7);
    if (ap % 2 === 0) throw new RangeError(`apertureSize must be 3, 5 or 7; got ${ap}`);
    return { inputs: [img], out: same(img), args: { threshold1: num('threshold1', p.threshold1), threshold2: num('threshold2', p.threshold2), apertureSize: ap, L2gradient: Boolean(p.L2gradient) } };
  },
  threshold(frame: Image, o: { thresh: number; maxval: number; type?: string; otsu?: boolean } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'threshold');
    const p = opts('threshold', o, ['thresh', 'maxval', 'type', 'otsu']);
    if (p.otsu && img.format !== 'gray') throw new TypeError(`cv.threshold with otsu needs a 'gray' frame; frame is '${img.format}'`);
    return { inputs: [img], out: same(img), args: { thresh: num('thresh', p.thresh, p.otsu ? 0 : undefined), maxval: num('maxval', p.maxval, 255), type: p.type === undefined ? 'binary' : oneOf('type', p.type, ['binary', 'binary_inv', 'trunc', 'tozero', 'tozero_inv'] as const), otsu: Boolean(p.otsu) } };
  },
  adaptiveThreshold(frame: Image, o: { maxValue: number; method: 'mean' | 'gaussian'; type?: 'binary' | 'binary_inv'; blockSize: number; C: number } & DstOption): Planned {
    const img = asImage('frame', frame, ['gray'], 'adaptiveThreshold');
    const p = opts('adaptiveThreshold', o, ['maxValue', 'method', 'type', 'blockSize', 'C']);
    const bs = int('blockSize', p.blockSize, 3, 255);
    if (bs % 2 === 0) throw new RangeError(`blockSize must be odd; got ${bs}`);
    return { inputs: [img], out: same(img), args: { maxValue: num('maxValue', p.maxValue, 255), method: oneOf('method', p.method, ['mean', 'gaussian'] as const), type: p.type === undefined ? 'binary' : oneOf('type', p.type, ['binary', 'binary_inv'] as const), blockSize: bs, C: num('C', p.C, 0) } };
  },
  equalizeHist(frame: Image, o?: DstOption): Planned {
    opts('equalizeHist', o, []);
    const img = asImage('frame', frame, ['gray'], 'equalizeHist');
    return { inputs: [img], out: same(img), args: {} };
  },
  dilate(frame: Image, o: { ksize?: number | [number, number]; shape?: string; iterations?: number } & DstOption = {}): Planned {
    return morph('dilate', frame, o);
  },
  erode(frame: Image, o: { ksize?: number | [number, number]; shape?: string; iterations?: number } & DstOption = {}): Planned {
    return morph('erode', frame, o);
  },
  absdiff(a: Image, b: Image, o?: DstOption): Planned { opts('absdiff', o, []); return binary('absdiff', a, b); },
  bitwiseAnd(a: Image, b: Image, o?: DstOption): Planned { opts('bitwiseAnd', o, []); return binary('bitwiseAnd', a, b); },
  bitwiseOr(a: Image, b: Image, o?: DstOption): Planned { opts('bitwiseOr', o, []); return binary('bitwiseOr', a, b); },
  bitwiseXor(a: Image, b: Image, o?: DstOption): Planned { opts('bitwiseXor', o, []); return binary('bitwiseXor', a, b); },
  bitwiseNot(a: Image, o?: DstOption): Planned {
    opts('bitwiseNot', o, []);
    const img = asImage('a', a, PACKED, 'bitwiseNot');
    return { inputs: [img], out: same(img), args: {} };
  },
  addWeighted(a: Image, alpha: number, b: Image, beta: number, gamma = 0, o?: DstOption): Planned {
    opts('addWeighted', o, []);
    const p = binary('addWeighted', a, b);
    p.args = { alpha: num('alpha', alpha), beta: num('beta', beta), gamma: num('gamma', gamma) };
    return p;
  },
  warpAffine(frame: Image, o: { matrix: number[]; width?: number; height?: number; interpolation?: string; borderValue?: number[] } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'warpAffine');
    const p = opts('warpAffine', o, ['matrix', 'width', 'height', 'interpolation', 'borderValue']);
    const mat = ArrayBuffer.isView(p.matrix) ? Array.from(p.matrix as unknown as ArrayLike<number>) : p.matrix;
    if (!Array.isArray(mat) || mat.length !== 6) throw new TypeError(`matrix must be 6 numbers (2x3, row-major); got ${describe(p.matrix)}`);
    const matrix = mat.map((x, i) => num(`matrix[${i}]`, x));
    const width = p.width === undefined ? img.width : int('width', p.width, 1, 16384);
    const height = p.height === undefined ? img.height : int('height', p.height, 1, 16384);
    const interpolation = p.interpolation === undefined ? 'bilinear' : oneOf('interpolation', p.interpolation, CV_INTERPOLATION_NAMES);
    const borderValue = p.borderValue === undefined ? [0, 0, 0, 0] : colorArg(img, p.borderValue, 'borderValue');
    return { inputs: [img], out: { width, height, format: img.format }, args: { matrix, interpolation, borderValue } };
  },
  filter2D(frame: Image, o: { kernel: number[]; kernelWidth: number; kernelHeight: number; delta?: number } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'filter2D');
    const p = opts('filter2D', o, ['kernel', 'kernelWidth', 'kernelHeight', 'delta']);
    const kw = int('kernelWidth', p.kernelWidth, 1, 255);
    const kh = int('kernelHeight', p.kernelHeight, 1, 255);
    const kernel = ArrayBuffer.isView(p.kernel) ? Array.from(p.kernel as unknown as ArrayLike<number>) : p.kernel;
    if (!Array.isArray(kernel)) throw new TypeError(`kernel must be an array of numbers; got ${describe(p.kernel)}`);
    if (kernel.length !== kw * kh) throw new RangeError(`kernel has ${kernel.length} numbers; kernelWidth x kernelHeight is ${kw * kh}`);
    return { inputs: [img], out: same(img), args: { kernel: kernel.map((x, i) => num(`kernel[${i}]`, x)), kernelWidth: kw, kernelHeight: kh, delta: num('delta', p.delta, 0) } };
  },
  sobel(frame: Image, o: { dx: number; dy: number; ksize?: number; scale?: number; delta?: number } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'sobel');
    const p = opts('sobel', o, ['dx', 'dy', 'ksize', 'scale', 'delta']);
    const dx = int('dx', p.dx, 0, 2);
    const dy = int('dy', p.dy, 0, 2);
    if (dx + dy === 0) throw new RangeError('sobel needs dx or dy > 0');
    const k = p.ksize === undefined ? 3 : int('ksize', p.ksize, 1, 7);
    if (k % 2 === 0) throw new RangeError(`ksize must be 1, 3, 5 or 7; got ${k}`);
    return { inputs: [img], out: same(img), args: { dx, dy, ksize: k, scale: num('scale', p.scale, 1), delta: num('delta', p.delta, 0) } };
  },
  morphologyEx(frame: Image, o: { op: string; ksize?: number | [number, number]; shape?: string; iterations?: number } & DstOption): Planned {
    const img = asImage('frame', frame, PACKED, 'morphologyEx');
    const p = opts('morphologyEx', o, ['op', 'ksize', 'shape', 'iterations']);
    const [kw, kh] = ksize(p.ksize, 3, false);
    return { inputs: [img], out: same(img), args: { op: oneOf('op', p.op, ['open', 'close', 'gradient', 'tophat', 'blackhat'] as const), ksizeW: kw, ksizeH: kh, shape: p.shape === undefined ? 'rect' : oneOf('shape', p.shape, ['rect', 'ellipse', 'cross'] as const), iterations: p.iterations === undefined ? 1 : int('iterations', p.iterations, 1, 100) } };
  },
  rectangle(frame: Image, o: { x: number; y: number; width: number; height: number; color: number[]; thickness?: number } & DstOption): Planned {
    return drawPlan('rectangle', frame, o, ['x', 'y', 'width', 'height'], (p) => ({
      x: int('x', p.x, -32768, 32767), y: int('y', p.y, -32768, 32767), width: int('width', p.width, 1, 32767), height: int('height', p.height, 1, 32767),
    }));
  },
  line(frame: Image, o: { x1: number; y1: number; x2: number; y2: number; color: number[]; thickness?: number } & DstOption): Planned {
    return drawPlan('line', frame, o, ['x1', 'y1', 'x2', 'y2'], (p) => ({
      x1: int('x1', p.x1, -32768, 32767), y1: int('y1', p.y1, -32768, 32767), x2: int('x2', p.x2, -32768, 32767), y2: int('y2', p.y2, -32768, 32767),
    }));
  },
  circle(frame: Image, o: { x: number; y: number; radius: number; color: number[]; thickness?: number } & DstOption): Planned {
    return drawPlan('circle', frame, o, ['x', 'y', 'radius'], (p) => ({
      x: int('x', p.x, -32768, 32767), y: int('y', p.y, -32768, 32767), radius: int('radius', p.radius, 0, 32767),
    }));
  },
  putText(frame: Image, text: string, o: { x: number; y: number; color: number[]; fontScale?: number; thickness?: number; font?: string } & DstOption): Planned {
    if (typeof text !== 'string') throw new TypeError(`text must be a string; got ${describe(text)}`);
    return drawPlan('putText', frame, o, ['x', 'y', 'fontScale', 'font'], (p) => ({
      text, x: int('x', p.x, -32768, 32767), y: int('y', p.y, -32768, 32767), fontScale: num('fontScale', p.fontScale, 1, 0.01, 100),
      font: p.font === undefined ? 'simplex' : oneOf('font', p.font, ['simplex', 'plain', 'duplex', 'complex', 'triplex', 'script_simplex', 'script_complex'] as const),
    }));
  },
  drawContours(frame: Image, contours: ArrayLike<number>[], o: { index?: number; color: number[]; thickness?: number } & DstOption): Planned {
    if (!Array.isArray(contours) || !contours.every((c) => c instanceof Int32Array || Array.isArray(c))) {
      throw new TypeError('contours must be an array of Int32Array (x0, y0, x1, y1, ...), as findContours returns');
    }
    const counts = contours.map((c, i) => {
      if (c.length === 0) throw new RangeError(`contours[${i}] is empty`);
      if (c.length % 2) throw new RangeError(`contours[${i}] has an odd number of coordinates`);
      if (!(c instanceof Int32Array)) {
        for (let j = 0; j < c.length; j++) int(`contours[${i}][${j}]`, c[j], -(2 ** 31), 2 ** 31 - 1);
      }
      return c.length / 2;
    });
    const points = new Int32Array(counts.reduce((a, b) => a + b, 0) * 2);
    let off = 0;
    for (const c of contours) {
      points.set(c as ArrayLike<number>, off);
      off += c.length;
    }
    return drawPlan('drawContours', frame, o, ['index'], (p) => ({
      points, counts, index: p.index === undefined ? -1 : int('index', p.index, -1, contours.length - 1),
    }));
  },
  inRange(frame: Image, lower: number[], upper: number[], o?: DstOption): Planned {
    opts('inRange', o, []);
    const img = asImage('frame', frame, PACKED, 'inRange');
    const c = channelsOf(img.format);
    for (const [n, v] of [['lower', lower], ['upper', upper]] as const) {
      if (!Array.isArray(v) || v.length !== c) throw new TypeError(`${n} must be an array of ${c} numbers for '${img.format}'; got ${describe(v)}`);
      v.forEach((x, i) => num(`${n}[${i}]`, x));
    }
    return { inputs: [img], out: grayOut(img), args: { lower, upper } };
  },
};

function colorArg(img: Image, v: unknown, name = 'color'): number[] {
  const c = channelsOf(img.format);
  if (!Array.isArray(v) || (v.length !== c && !(c === 4 && v.length === 3))) {
    throw new TypeError(`${name} must be an array of ${c} numbers in the frame's channel order ('${img.format}'); got ${describe(v)}`);
  }
  return v.map((x, i) => num(`${name}[${i}]`, x, undefined, 0, 255));
}

function drawPlan(op: string, frame: Image, o: unknown, keys: readonly string[], extra: (p: Record<string, unknown>, img: Image) => Record<string, unknown>): Planned {
  const img = asImage('frame', frame, PACKED, op);
  const p = opts(op, o, [...keys, 'color', 'thickness']);
  // -1 fills; only closed shapes can be filled (OpenCV asserts otherwise)
  const fillable = op === 'rectangle' || op === 'circle' || op === 'drawContours';
  const thickness = p.thickness === undefined ? 1 : int('thickness', p.thickness, fillable ? -1 : 1, 1000);
  if (thickness === 0) throw new RangeError('thickness must be positive, or -1 to fill');
  return { inputs: [img], out: same(img), args: { ...extra(p, img), color: colorArg(img, p.color), thickness } };
}

function morph(op: 'dilate' | 'erode', frame: Image, o: unknown): Planned {
  const img = asImage('frame', frame, PACKED, op);
  const p = opts(op, o, ['ksize', 'shape', 'iterations']);
  const [kw, kh] = ksize(p.ksize, 3, false);
  return { inputs: [img], out: same(img), args: { ksizeW: kw, ksizeH: kh, shape: p.shape === undefined ? 'rect' : oneOf('shape', p.shape, ['rect', 'ellipse', 'cross'] as const), iterations: p.iterations === undefined ? 1 : int('iterations', p.iterations, 1, 100) } };
}

function binary(op: string, a: Image, b: Image): Planned {
  const x = asImage('a', a, PACKED, op);
  const y = asImage('b', b, PACKED, op);
  sameShape(op, x, y);
  return { inputs: [x, y], out: same(x), args: {} };
}

function allocOut(o: Planned['out']): Frame {
  const bytes = byteLength(o.format, defaultLayout(o.format), o.width, o.height);
  const buf = Buffer.allocUnsafeSlow(bytes + native().padding);
  return new Frame({ data: new Uint8Array(buf.buffer, buf.byteOffset, bytes), width: o.width, height: o.height, format: o.format });
}

const plain = (i: Image) => ({ data: i.data, width: i.width, height: i.height, format: i.format });

function outFrame(op: string, p: Planned): Frame {
  if (p.dst === undefined) return allocOut(p.out);
  const d = asImage('dst', p.dst, PIXEL_FORMATS, op);
  if (d.width !== p.out.width || d.height !== p.out.height) throw new RangeError(`cv.${op}: dst is ${d.width}x${d.height}; the output is ${p.out.width}x${p.out.height}`);
  if (d.format !== p.out.format) throw new TypeError(`cv.${op}: dst is '${d.format}'; the output is '${p.out.format}'`);
  return d instanceof Frame ? d : new Frame({ data: d.data, width: d.width, height: d.height, format: d.format });
}

function runSync(op: string, p: Planned): { frame: Frame; value: number } {
  const frame = outFrame(op, p);
  try {
    const value = native().cvRun(op, p.inputs.map(plain), plain(frame), p.args, false) as number;
    return { frame, value };
  } catch (err) {
    throw fromNative(err);
  }
}

async function runAsync(op: string, p: Planned): Promise<{ frame: Frame; value: number }> {
  const frame = outFrame(op, p);
  const inputs = p.inputs.map(plain);
  const out = plain(frame);
  // a release() of an input or of the dst frame meanwhile waits for the operation
  const done = [...inputs, out].map((i) => holdMemory(i.data));
  try {
    const value = await (native().cvRun(op, inputs, out, p.args, true) as Promise<number>);
    return { frame, value };
  } catch (err) {
    throw fromNative(err);
  } finally {
    for (const d of done) d();
  }
}

type Plans = typeof PLANS;
type Async = { [K in keyof Plans]: K extends 'threshold' ? (...a: Parameters<Plans[K]>) => Promise<{
  /** The thresholded frame. */
  frame: Frame;
  /** The threshold level used (Otsu's choice with `otsu`). */
  thresh: number;
}> : (...a: Parameters<Plans[K]>) => Promise<Frame> };
type Sync = { [K in keyof Plans as `${K}Sync`]: K extends 'threshold' ? (...a: Parameters<Plans[K]>) => {
  /** The thresholded frame. */
  frame: Frame;
  /** The threshold level used (Otsu's choice with `otsu`). */
  thresh: number;
} : (...a: Parameters<Plans[K]>) => Frame };

/**
 * The type of {@link cv}: every operation in an async form (run on the libuv
 * pool, off the event loop) and a `…Sync` form (on the calling thread).
 * Operations take hwc frames (gray may be either layout) or plain images
 * (see {@link Image}); each returns a new frame unless the last argument's
 * `dst` names a frame of exactly the output's size and format to write into.
 * Gray-only operations throw a TypeError naming the frame's format.
 *
 * @property cvtColor Converts `frame` from its own format to the pixel format `to` (any of the seven; yuv420p and nv12 need an even size). Options: `dst`.
 * @property resize Resizes to `width` x `height` pixels; `interpolation` 'nearest', 'bilinear' (default), 'bicubic', 'area' or 'lanczos'. Packed formats (bgr24, rgb24, bgra, rgba, gray), as for every operation but cvtColor.
 * @property flip Mirrors the frame: `axis` 'horizontal' (left-right), 'vertical' (top-bottom) or 'both'.
 * @property rotate Rotates by `angle` 90, 180 or 270 degrees clockwise (90 and 270 swap width and height).
 * @property crop The rectangle `x`, `y`, `width`, `height` (pixels) as a new frame (a copy); `view: true` returns a frame sharing the source's memory instead, for whole rows only (x 0, the full width: else a RangeError), with no `dst`.
 * @property gaussianBlur Gaussian blur: `ksize` an odd kernel size (or [width, height], 1..255), `sigmaX`/`sigmaY` in pixels (default 0: from ksize).
 * @property medianBlur Median filter over an odd `ksize` x `ksize` window (3..255).
 * @property bilateralFilter Edge-preserving smoothing (bgr24, rgb24 or gray): `d` the neighbourhood's diameter (-1..64; -1: from sigmaSpace), `sigmaColor` and `sigmaSpace` as OpenCV's.
 * @property boxFilter Box filter over `ksize` (a number or [width, height]): the mean (`normalize` true, the default) or the sum, saturated to 0..255.
 * @property canny Canny edges of a gray frame (a TypeError otherwise): `threshold1`, `threshold2` (hysteresis), `apertureSize` 3 (default), 5 or 7, `L2gradient` (default false). The result is gray, 0 or 255.
 * @property threshold Fixed-level threshold: `thresh`, `maxval`, `type` 'binary' (default), 'binary_inv', 'trunc', 'tozero' or 'tozero_inv'; `otsu: true` (gray frames) picks the level itself. Resolves to `{ frame, thresh }`, thresh the level used.
 * @property adaptiveThreshold Threshold against each pixel's neighbourhood (gray frames): `maxValue`, `method` 'mean' or 'gaussian', `type` 'binary' (default) or 'binary_inv', `blockSize` odd (3..255), `C` subtracted from the mean.
 * @property equalizeHist Histogram equalisation of a gray frame.
 * @property dilate Dilation: `ksize` (default 3, or [width, height]), `shape` 'rect' (default), 'ellipse' or 'cross', `iterations` 1..100 (default 1).
 * @property erode Erosion, with the options of dilate.
 * @property absdiff |a - b| per byte of two frames of the same size and format.
 * @property bitwiseAnd a AND b per byte (same size and format).
 * @property bitwiseOr a OR b per byte (same size and format).
 * @property bitwiseXor a XOR b per byte (same size and format).
 * @property bitwiseNot NOT a per byte.
 * @property addWeighted a * alpha + b * beta + gamma per byte (gamma default 0), saturated to 0..255; `(a, alpha, b, beta, gamma?, { dst }?)`.
 * @property warpAffine Affine warp: `matrix` the 2x3 transform from source to output, row-major (6 numbers); `width`/`height` of the output (default the input's), `interpolation` (default 'bilinear'), `borderValue` the colour outside the source (default 0s, in the frame's channel order).
 * @property filter2D Convolution with `kernel` (kernelWidth x kernelHeight numbers, row-major, anchored at its centre), plus `delta`; saturated to 0..255.
 * @property sobel Sobel derivative: order `dx` and `dy` (0..2, not both 0), `ksize` 1, 3 (default), 5 or 7, `scale` (default 1), `delta` (default 0). The output keeps 8 bits: negative values become 0.
 * @property morphologyEx Morphological operation `op` 'open', 'close', 'gradient', 'tophat' or 'blackhat', with the kernel options of dilate.
 * @property rectangle Draws a rectangle at `x`, `y` of `width` x `height` pixels in `color` (the frame's channel order), `thickness` (default 1; -1 fills), on a copy (pass `dst: frame` to draw in place).
 * @property line Draws a line from `x1`, `y1` to `x2`, `y2` in `color`, `thickness` (default 1), on a copy (`dst: frame` draws in place).
 * @property circle Draws a circle at `x`, `y` of `radius` pixels in `color`, `thickness` (default 1; -1 fills), on a copy (`dst: frame` draws in place).
 * @property putText Draws `text` with its baseline starting at `x`, `y`: `color`, `fontScale` (default 1), `thickness` (default 1), `font` 'simplex' (default), 'plain', 'duplex', 'complex', 'triplex', 'script_simplex' or 'script_complex' (OpenCV's Hershey fonts), on a copy (`dst: frame` draws in place).
 * @property drawContours Draws contours (Int32Arrays of x0, y0, x1, y1, ..., as findContours gives them): `index` the one to draw (default -1: all), `color`, `thickness` (default 1; -1 fills), on a copy (`dst: frame` draws in place).
 * @property inRange A gray mask: 255 where every channel lies within `lower`..`upper` (arrays of one value per channel, inclusive), else 0.
 * @property cvtColorSync As `cvtColor`, on the calling thread.
 * @property resizeSync As `resize`, on the calling thread.
 * @property flipSync As `flip`, on the calling thread.
 * @property rotateSync As `rotate`, on the calling thread.
 * @property cropSync As `crop`, on the calling thread.
 * @property gaussianBlurSync As `gaussianBlur`, on the calling thread.
 * @property medianBlurSync As `medianBlur`, on the calling thread.
 * @property bilateralFilterSync As `bilateralFilter`, on the calling thread.
 * @property boxFilterSync As `boxFilter`, on the calling thread.
 * @property cannySync As `canny`, on the calling thread.
 * @property thresholdSync As `threshold`, on the calling thread.
 * @property adaptiveThresholdSync As `adaptiveThreshold`, on the calling thread.
 * @property equalizeHistSync As `equalizeHist`, on the calling thread.
 * @property dilateSync As `dilate`, on the calling thread.
 * @property erodeSync As `erode`, on the calling thread.
 * @property absdiffSync As `absdiff`, on the calling thread.
 * @property bitwiseAndSync As `bitwiseAnd`, on the calling thread.
 * @property bitwiseOrSync As `bitwiseOr`, on the calling thread.
 * @property bitwiseXorSync As `bitwiseXor`, on the calling thread.
 * @property bitwiseNotSync As `bitwiseNot`, on the calling thread.
 * @property addWeightedSync As `addWeighted`, on the calling thread.
 * @property warpAffineSync As `warpAffine`, on the calling thread.
 * @property filter2DSync As `filter2D`, on the calling thread.
 * @property sobelSync As `sobel`, on the calling thread.
 * @property morphologyExSync As `morphologyEx`, on the calling thread.
 * @property rectangleSync As `rectangle`, on the calling thread.
 * @property lineSync As `line`, on the calling thread.
 * @property circleSync As `circle`, on the calling thread.
 * @property putTextSync As `putText`, on the calling thread.
 * @property drawContoursSync As `drawContours`, on the calling thread.
 * @property inRangeSync As `inRange`, on the calling thread.
 */
export interface CvNamespace extends Async, Sync {
  /**
   * Contours of a binary gray image: each an Int32Array of x0, y0, x1, y1, ...;
   * hierarchy holds next, prev, firstChild, parent per contour (OpenCV's order).
   * Nonzero pixels are the foreground. `mode` 'external' (default: outer
   * contours only), 'list', 'ccomp' or 'tree'; `method` 'simple' (default:
   * straight runs compressed to their ends) or 'none' (every point).
   */
  findContours(frame: Image, options?: { mode?: 'external' | 'list' | 'ccomp' | 'tree'; method?: 'none' | 'simple' }): Promise<{
    /** One Int32Array per contour: x0, y0, x1, y1, ... */
    contours: Int32Array[];
    /** Four values per contour: next, previous, first child, parent (-1: none). */
    hierarchy: Int32Array;
  }>;
  /** As `findContours`, on the calling thread. */
  findContoursSync(frame: Image, options?: { mode?: 'external' | 'list' | 'ccomp' | 'tree'; method?: 'none' | 'simple' }): {
    /** One Int32Array per contour: x0, y0, x1, y1, ... */
    contours: Int32Array[];
    /** Four values per contour: next, previous, first child, parent (-1: none). */
    hierarchy: Int32Array;
  };
  /** Encodes to PNG/JPEG/WebP. quality: JPEG/WebP 0..100, PNG compression 0..9. */
  imencode(frame: Image, ext: '.png' | '.jpg' | '.jpeg' | '.webp', options?: { quality?: number }): Promise<Uint8Array>;
  /** As `imencode`, on the calling thread. */
  imencodeSync(frame: Image, ext: '.png' | '.jpg' | '.jpeg' | '.webp', options?: { quality?: number }): Uint8Array;
  /** Decodes PNG/JPEG/WebP bytes to a bgr24 (or gray) frame. */
  imdecode(bytes: Uint8Array, options?: { format?: 'bgr24' | 'gray' }): Promise<Frame>;
  /** As `imdecode`, on the calling thread. */
  imdecodeSync(bytes: Uint8Array, options?: { format?: 'bgr24' | 'gray' }): Frame;
  /** Reads and decodes a PNG/JPEG/WebP file to a bgr24 (default) or gray frame. */
  imread(file: string, options?: { format?: 'bgr24' | 'gray' }): Promise<Frame>;
  /** As `imread`, on the calling thread. */
  imreadSync(file: string, options?: { format?: 'bgr24' | 'gray' }): Frame;
  /** As `imwrite`, on the calling thread (still atomic). */
  imwriteSync(file: string, frame: Image, options?: { quality?: number }): void;
  /** Writes atomically (temp file + rename); the format follows the extension. */
  imwrite(file: string, frame: Image, options?: { quality?: number }): Promise<void>;
}

function encodeArgs(frame: Image, ext: unknown, options: unknown) {
  const img = asImage('frame', frame, PACKED, 'imencode');
  const e = oneOf('ext', ext, ['.png', '.jpg', '.jpeg', '.webp'] as const);
  const p = opts('imencode', options, ['quality']);
  const args: Record<string, unknown> = {};
  if (p.quality !== undefined) args.quality = int('quality', p.quality, 0, e === '.png' ? 9 : 100);
  return { img, e, args };
}

function decodeArgs(bytes: unknown, options: unknown): { bytes: Uint8Array; format: 'bgr24' | 'gray' } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array; got ${describe(bytes)}`);
  const p = opts('imdecode', options, ['format']);
  const format = p.format === undefined ? 'bgr24' : oneOf('format', p.format, ['bgr24', 'gray'] as const);
  return { bytes, format };
}

type Decoded = { data: Uint8Array; width: number; height: number };
const toFrame = (d: Decoded, format: PixelFormat) => new Frame({ data: d.data, width: d.width, height: d.height, format });

function decodeSync(bytes: Uint8Array, options: unknown): Frame {
  const a = decodeArgs(bytes, options);
  try {
    return toFrame(native().imdecode(a.bytes, a.format === 'gray', false) as Decoded, a.format);
  } catch (err) {
    throw fromNative(err);
  }
}

async function decodeAsync(bytes: Uint8Array, options: unknown): Promise<Frame> {
  const a = decodeArgs(bytes, options);
  try {
    return toFrame(await (native().imdecode(a.bytes, a.format === 'gray', true) as Promise<Decoded>), a.format);
  } catch (err) {
    throw fromNative(err);
  }
}

function fileArg(file: unknown): string {
  if (typeof file !== 'string' || !file) throw new TypeError(`file must be a path; got ${describe(file)}`);
  return file;
}

/**
 * crop(frame, { ..., view: true }): a Frame sharing the source's memory. Frames
 * have no stride, so a view must span whole rows (x 0, full width); anything
 * else is a RangeError saying so (use a copy).
 */
function cropView(args: unknown[]): Frame | undefined {
  const o = args[1];
  if (!isObject(o) || !o.view) return undefined;
  const p = PLANS.crop(args[0] as Image, o as unknown as Parameters<typeof PLANS.crop>[1]);
  const img = p.inputs[0];
  if (o.dst !== undefined) throw new TypeError('cv.crop: a view takes no dst');
  if ((o.x as number) !== 0 || p.out.width !== img.width) {
    throw new RangeError(`cv.crop: a view must span whole rows (x 0, width ${img.width}); frames have no stride, so use a copy (view: false)`);
  }
  const row = img.data.byteLength / img.height;
  const y = o.y as number;
  return new Frame({ data: img.data.subarray(y * row, (y + p.out.height) * row), width: p.out.width, height: p.out.height, format: img.format });
}

function build(): CvNamespace {
  const ns: Record<string, unknown> = {};
  for (const [name, plan] of Object.entries(PLANS) as Array<[string, (...a: unknown[]) => Planned]>) {
    const post = (r: { frame: Frame; value: number }) => (name === 'threshold' ? { frame: r.frame, thresh: r.value } : r.frame);
    const planned = (args: unknown[]) => {
      const p = plan(...args);
      const last = args[args.length - 1];
      if (isObject(last) && 'dst' in last && !(last instanceof Frame)) p.dst = last.dst;
      return p;
    };
    ns[name] = async (...args: unknown[]) => (name === 'crop' ? cropView(args) : undefined) ?? post(await runAsync(name, planned(args)));
    ns[`${name}Sync`] = (...args: unknown[]) => (name === 'crop' ? cropView(args) : undefined) ?? post(runSync(name, planned(args)));
  }
  const encodeSync = (frame: Image, ext: string, options?: unknown): Uint8Array => {
    const { img, e, args } = encodeArgs(frame, ext, options);
    try {
      return native().imencode(plain(img), e, args, false) as Uint8Array;
    } catch (err) {
      throw fromNative(err);
    }
  };
  const encodeAsync = async (frame: Image, ext: string, options?: unknown): Promise<Uint8Array> => {
    const { img, e, args } = encodeArgs(frame, ext, options);
    const image = plain(img);
    const done = holdMemory(image.data);
    try {
      return await (native().imencode(image, e, args, true) as Promise<Uint8Array>);
    } catch (err) {
      throw fromNative(err);
    } finally {
      done();
    }
  };
  const contoursArgs = (frame: Image, options: unknown) => {
    const img = asImage('frame', frame, ['gray'], 'findContours');
    if (options !== undefined && !isObject(options)) throw new TypeError('cv.findContours: options must be an object');
    const p = (options ?? {}) as Record<string, unknown>;
    checkKeys('cv.findContours', p, ['mode', 'method']);
    const mode = p.mode === undefined ? 'external' : oneOf('mode', p.mode, ['external', 'list', 'ccomp', 'tree'] as const);
    const method = p.method === undefined ? 'simple' : oneOf('method', p.method, ['none', 'simple'] as const);
    return { img, mode, method };
  };
  type ContoursResult = { contours: Int32Array[]; hierarchy: Int32Array };
  ns.findContoursSync = (frame: Image, options?: unknown) => {
    const a = contoursArgs(frame, options);
    try {
      return native().findContours(plain(a.img), a.mode, a.method, false) as ContoursResult;
    } catch (err) {
      throw fromNative(err);
    }
  };
  ns.findContours = async (frame: Image, options?: unknown) => {
    const a = contoursArgs(frame, options);
    try {
      return await (native().findContours(plain(a.img), a.mode, a.method, true) as Promise<ContoursResult>);
    } catch (err) {
      throw fromNative(err);
    }
  };
  ns.imencodeSync = encodeSync;
  ns.imencode = encodeAsync;  // on the libuv pool
  ns.imdecodeSync = decodeSync;
  ns.imdecode = decodeAsync;  // on the libuv pool
  ns.imreadSync = (file: string, options?: unknown) => {
    const f = fileArg(file);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(f);
    } catch (err) {
      throw ioError(err, 'read', f);
    }
    return decodeSync(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  };
  ns.imread = async (file: string, options?: unknown) => {
    const f = fileArg(file);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(f);
    } catch (err) {
      throw ioError(err, 'read', f);
    }
    return decodeAsync(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  };
  ns.imwriteSync = (file: string, frame: Image, options?: unknown) => {
    const f = fileArg(file);
    const bytes = encodeSync(frame, path.extname(f).toLowerCase(), options);
    writeAtomicSync(f, bytes, 'write');
  };
  ns.imwrite = async (file: string, frame: Image, options?: unknown) => {
    const f = fileArg(file);
    const bytes = await encodeAsync(frame, path.extname(f).toLowerCase(), options);
    await writeAtomic(f, bytes, 'write');
  };
  return Object.freeze(ns) as unknown as CvNamespace;
}

/**
 * OpenCV operations on frames: async forms run off the event loop, Sync forms
 * on the caller's thread. Inputs and outputs are wrapped in cv::Mat headers,
 * with no copy in or out; see {@link CvNamespace} for every operation.
 *
 * @example
 * ```ts
 * import { cv } from 'avcv';
 * const blurred = await cv.gaussianBlur(frame, { ksize: 5 });          // off the event loop
 * const gray = cv.cvtColorSync(frame, 'gray');                         // from frame.format
 * const edges = await cv.canny(gray, { threshold1: 50, threshold2: 150 });
 * const small = cv.resizeSync(frame, { width: 640, height: 360 });
 * cv.rectangleSync(small, { x: 10, y: 10, width: 100, height: 50, color: [0, 255, 0], thickness: 2, dst: small });  // in place
 * await cv.imwrite('edges.png', edges);                                // PNG from the extension, atomic
 * ```
 */
export const cv: CvNamespace = build();
