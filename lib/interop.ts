// Interop with @u4/opencv4nodejs (an optional peer dependency, loaded only
// when toMat() needs its Mat class). The rules avcv keeps everywhere hold here
// too: a Mat carries no colour tag, so nothing goes in or comes out without a
// stated pixel format, and OpenCV's BGR convention is the default.
import { AvcvError } from './errors';
import { Frame, holdMemory } from './frame';
import { PIXEL_FORMATS, isPlanarYuv, type PixelFormat } from './formats';
import { bool, checkKeys, describe, isObject, oneOf } from './validate';

/** The part of an opencv4nodejs `Mat` that avcv uses (rows, cols, type, getData). */
export interface OpenCvMat {
  /** Rows: the image's height (H * 3/2 for yuv420p/nv12). */
  readonly rows: number;
  /** Columns: the image's width. */
  readonly cols: number;
  /** OpenCV's type code (CV_8UC1 0, CV_8UC3 16, CV_8UC4 24 are the ones avcv takes). */
  readonly type: number;
  /** Channels per element. */
  readonly channels: number;
  /** Dimensions (2 for an image). */
  readonly dims?: number;
  /** A copy of the Mat's bytes (opencv4nodejs hands them out only as a copy). */
  getData(): Uint8Array;
  /** A continuous copy of the Mat (used for regions, whose getData() fails). */
  copy?(): OpenCvMat;
}

/** The part of the opencv4nodejs module that toMat uses. */
export interface OpenCvModule {
  /** opencv4nodejs's Mat class. */
  Mat:
    /** Mat's constructors: avcv calls `new Mat(data, rows, cols, type)` (a copy) and `new Mat(rows, cols, type, data)` (a view). */
    new (...args: never[]) => OpenCvMat;
}

/** Options of {@link toMat}. */
export interface ToMatOptions {
  /**
   * true (default): the Mat owns a copy of the pixels (one memcpy).
   * false: the Mat is a view of `frame.data` (no copy): writes through either
   * show in both; the frame's memory is kept alive by that Mat object, but NOT
   * by Mats derived from it that share memory (e.g. `getRegion`), so take
   * those with copy: true.
   */
  copy?: boolean;
  /**
   * OpenCV treats 3- and 4-channel Mats as BGR(A). An 'rgb24'/'rgba' frame is
   * refused unless you set this, knowing the Mat will hold RGB(A).
   */
  allowRgb?: boolean;
  /** The opencv4nodejs module to use (default: require('@u4/opencv4nodejs')). */
  module?: OpenCvModule;
}

/** Options of {@link fromMat}. */
export interface FromMatOptions {
  /**
   * The pixel format the Mat holds. Default by type: CV_8UC3 'bgr24',
   * CV_8UC4 'bgra', CV_8UC1 'gray'. Say 'rgb24'/'rgba' for a Mat that holds
   * RGB, and 'yuv420p'/'nv12' for a (H*3/2) x W CV_8UC1 Mat.
   */
  format?: PixelFormat;
}

// OpenCV's type encoding: depth in the low 3 bits, channels - 1 above them.
const DEPTHS = ['8U', '8S', '16U', '16S', '32S', '32F', '64F', '16F'];
const CV_8UC1 = 0;
const CV_8UC3 = 16;
const CV_8UC4 = 24;
const typeName = (t: number) => `CV_${DEPTHS[t & 7]}C${(t >> 3) + 1}`;

const MAT_TYPE: Record<PixelFormat, number> = {
  bgr24: CV_8UC3, rgb24: CV_8UC3, bgra: CV_8UC4, rgba: CV_8UC4, gray: CV_8UC1, yuv420p: CV_8UC1, nv12: CV_8UC1,
};

let loaded: OpenCvModule | undefined;

function openCv(mod: unknown): OpenCvModule {
  if (mod !== undefined) {
    if (!isObject(mod) || typeof (mod as { Mat?: unknown }).Mat !== 'function') {
      throw new TypeError(`options.module must be the opencv4nodejs module (with a Mat class); got ${describe(mod)}`);
    }
    return mod as unknown as OpenCvModule;
  }
  if (loaded) return loaded;
  let m: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    m = require('@u4/opencv4nodejs') as Record<string, unknown>;
  } catch (err) {
    const missing = (err as { code?: string }).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes("'@u4/opencv4nodejs'");
    throw new AvcvError('PEER_MISSING', missing
      ? 'toMat needs the optional peer dependency @u4/opencv4nodejs (npm install @u4/opencv4nodejs, built against your OpenCV), or pass { module }'
      : `@u4/opencv4nodejs failed to load: ${(err as Error).message}`, { cause: err });
  }
  const cvm = (typeof m.Mat === 'function' ? m : (m.default ?? m.cv)) as OpenCvModule | undefined;
  if (!cvm || typeof cvm.Mat !== 'function') throw new AvcvError('PEER_MISSING', '@u4/opencv4nodejs loaded but has no Mat class');
  loaded = cvm;
  return cvm;
}

/** Frames whose memory a view Mat uses: the Mat object keeps its frame's bytes alive. */
const viewOwners = new WeakMap<object, Uint8Array>();
// a view Mat holds its frame's memory (see Frame.release) until it is collected
const matViews = new FinalizationRegistry<() => void>((done) => done());

/**
 * An opencv4nodejs Mat of the frame's pixels: CV_8UC3 for bgr24, CV_8UC4 for
 * bgra, CV_8UC1 for gray, and a (H*3/2) x W CV_8UC1 for yuv420p/nv12 (the
 * layout OpenCV's COLOR_YUV2BGR_I420/_NV12 take). Copies once by default;
 * `{ copy: false }` makes a view (see ToMatOptions). chw frames are refused
 * (Mats are interleaved): use frame.toLayout('hwc'). Without @u4/opencv4nodejs
 * installed (and no `module`), AvcvError 'PEER_MISSING'.
 *
 * @example
 * ```ts
 * import * as cv4 from '@u4/opencv4nodejs';
 * const mat = toMat<cv4.Mat>(frame);                  // CV_8UC3 for bgr24: one copy
 * const view = toMat<cv4.Mat>(frame, { copy: false }); // a Mat over frame.data: no copy
 * ```
 */
export function toMat<M extends object = OpenCvMat>(frame: Frame, options: ToMatOptions = {}): M {
  if (!(frame instanceof Frame)) throw new TypeError(`toMat: frame must be a Frame; got ${describe(frame)}`);
  if (!isObject(options)) throw new TypeError('toMat: options must be an object');
  checkKeys('toMat', options, ['copy', 'allowRgb', 'module']);
  const copy = options.copy === undefined ? true : bool('copy', options.copy);
  const allowRgb = options.allowRgb === undefined ? false : bool('allowRgb', options.allowRgb);
  const { format, width, height } = frame;
  if (frame.layout === 'chw' && format !== 'gray') {
    throw new TypeError(`toMat: the frame is chw; OpenCV Mats are interleaved (use frame.toLayout('hwc'))`);
  }
  if ((format === 'rgb24' || format === 'rgba') && !allowRgb) {
    throw new TypeError(`toMat: the frame is '${format}', and OpenCV treats ${format === 'rgb24' ? '3' : '4'}-channel Mats as ` +
      `${format === 'rgb24' ? 'BGR' : 'BGRA'}: convert with cv.cvtColor(frame, '${format === 'rgb24' ? 'bgr24' : 'bgra'}'), ` +
      'or pass { allowRgb: true } to build an RGB Mat knowingly');
  }
  const cvm = openCv(options.module);
  const rows = isPlanarYuv(format) ? height + height / 2 : height;
  const type = MAT_TYPE[format];
  const Mat = cvm.Mat as unknown as new (...args: unknown[]) => M;
  if (copy) return new Mat(frame.data, rows, width, type); // memcpy into a Mat of its own
  const mat = new Mat(rows, width, type, frame.data); // a header over frame.data
  viewOwners.set(mat, frame.data);
  // a release() of the frame gives its memory back only once the Mat is gone
  matViews.register(mat, holdMemory(frame.data));
  return mat;
}

/**
 * A Frame holding a copy of an opencv4nodejs Mat's pixels (opencv4nodejs
 * exposes a Mat's bytes only as a copy: `getData()`). The format is
 * CV_8UC3 'bgr24', CV_8UC4 'bgra' and CV_8UC1 'gray' unless `format` says
 * otherwise; other depths and channel counts are refused (convert with
 * `mat.convertTo(cv.CV_8UC3)` first). Regions (getRegion) are copied out.
 *
 * @example
 * ```ts
 * const blurred = fromMat(toMat<cv4.Mat>(frame).gaussianBlur(new cv4.Size(5, 5), 0));   // a bgr24 Frame
 * const rgb = fromMat(mat, { format: 'rgb24' });                                       // a Mat known to hold RGB
 * ```
 */
export function fromMat(mat: OpenCvMat, options: FromMatOptions = {}): Frame {
  if (!isObject(mat) || typeof (mat as { getData?: unknown }).getData !== 'function' ||
      typeof mat.rows !== 'number' || typeof mat.cols !== 'number' || typeof mat.type !== 'number') {
    throw new TypeError(`fromMat: mat must be an opencv4nodejs Mat; got ${describe(mat)}`);
  }
  if (!isObject(options)) throw new TypeError('fromMat: options must be an object');
  checkKeys('fromMat', options, ['format']);
  if (mat.dims !== undefined && mat.dims !== 2) throw new TypeError(`fromMat takes 2-D Mats; this one has ${mat.dims} dimensions`);
  const type = mat.type;
  if (type !== CV_8UC1 && type !== CV_8UC3 && type !== CV_8UC4) {
    throw new TypeError(`fromMat takes CV_8UC1, CV_8UC3 or CV_8UC4 Mats; this one is ${typeName(type)} (convert it with mat.convertTo first)`);
  }
  if (mat.rows < 1 || mat.cols < 1) throw new RangeError(`fromMat: the Mat is empty (${mat.rows}x${mat.cols})`);
  const byType: PixelFormat = type === CV_8UC3 ? 'bgr24' : type === CV_8UC4 ? 'bgra' : 'gray';
  const format = options.format === undefined ? byType : oneOf('format', options.format, PIXEL_FORMATS);
  if (MAT_TYPE[format] !== type) {
    throw new TypeError(`fromMat: a ${typeName(type)} Mat cannot hold '${format}' (that needs ${typeName(MAT_TYPE[format])})`);
  }
  let height = mat.rows;
  if (isPlanarYuv(format)) {
    if (mat.rows % 3 || mat.cols % 2) {
      throw new RangeError(`fromMat: a ${format} Mat has H*3/2 rows (H even) and an even width; got ${mat.rows}x${mat.cols}`);
    }
    height = (mat.rows / 3) * 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = mat.getData();
  } catch (err) {
    // opencv4nodejs refuses getData on a region (throwing a string); a copy of it is continuous
    const message = String((err as Error | undefined)?.message ?? err);
    if (typeof mat.copy !== 'function' || !/Region of Interest/i.test(message)) throw err;
    bytes = mat.copy().getData();
  }
  return Frame.from(bytes, { width: mat.cols, height, format });
}
