// Interop with node-av (libav's objects from JS; an optional peer dependency,
// loaded only when used). node-av ships its own FFmpeg, which may number
// pixel formats differently from the libav avcv links: formats cross by NAME
// (node-av's avGetPixFmtName / avGetPixFmtFromName), never by number.
import { AvcvError, fromNative } from './errors';
import type { Frame, FrameInit } from './frame';
import type { Layout, PixelFormat } from './formats';
import { native } from './native';
import { describe, isObject } from './validate';

/**
 * The part of a node-av `Frame` (video) that avcv reads and writes. node-av's
 * own `Frame` class fits it: pass its frames as they are.
 */
export interface NodeAvFrame {
  /** Width in pixels (0 for an audio or empty frame). */
  width: number;
  /** Height in pixels. */
  height: number;
  /** node-av's AVPixelFormat number (its FFmpeg's numbering: avcv reads its name). */
  format: number;
  /** Presentation timestamp in `timeBase` (AV_NOPTS_VALUE when unknown). */
  pts: bigint;
  /** The frame's time base: pts × num / den is seconds (0/1 when unset). */
  timeBase: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
  /** Duration in `timeBase` (0 when unknown). */
  duration?: bigint;
  /** Bytes per row of each plane (libav's linesize). */
  readonly linesize: number[];
  /** The planes: views of the frame's memory (null when it has none). */
  readonly data: Uint8Array[] | null;
  /** The colour matrix (AVColorSpace: H.273's numbers). */
  colorSpace: number;
  /** The colour range (AVColorRange: 0 unspecified, 1 limited, 2 full). */
  colorRange: number;
  /** AVFrame flags (AV_FRAME_FLAG_CORRUPT 1, AV_FRAME_FLAG_KEY 2). */
  flags?: number;
  /** Whether it is a video frame (a size set). */
  isVideo(): boolean;
  /** Whether its planes are in GPU memory (hw_frames_ctx set). */
  isHwFrame(): boolean;
}

/** The parts of the node-av module avcv uses. */
export interface NodeAvModule {
  /** node-av's Frame class. */
  Frame:
    /** `new Frame()`: an empty frame, which avcv then allocates (`alloc()`, `getBuffer()`). */
    new () => NodeAvFrame & {
    /** Allocates the AVFrame. */
    alloc(): void;
    /** Allocates the planes for the width, height and format set (libav's av_frame_get_buffer). */
    getBuffer(align?: number): number;
  };
  /** The libav name of one of node-av's pixel format numbers (null when unknown). */
  avGetPixFmtName(format: number): string | null;
  /** node-av's pixel format number for a libav name (negative when unknown). */
  avGetPixFmtFromName(name: string): number;
}

/** Options of {@link Frame.fromNodeAv}. */
export interface FromNodeAvOptions {
  /** The avcv frame's pixel format (default 'bgr24', as VideoReader's). */
  format?: PixelFormat;
  /** Its layout: 'hwc' (default) or 'chw' ('planar' for yuv420p/nv12), as {@link Frame.to} takes. */
  layout?: Layout;
  /** The node-av module to use (default: avcv loads node-av itself, see {@link loadNodeAv}). */
  module?: NodeAvModule;
}

/** Options of {@link Frame.toNodeAv}. */
export interface ToNodeAvOptions {
  /**
   * The unit of the frame's pts (e.g. `reader.info.stream.timeBase`), set as
   * the node-av frame's timeBase: node-av's Encoder takes its time base from
   * the first frame when it has no frame rate. Left unset (0/1) when omitted.
   */
  timeBase?: {
    /** Numerator (a positive integer). */
    num: number;
    /** Denominator (a positive integer). */
    den: number;
  };
  /** The node-av module to use (default: avcv loads node-av itself, see {@link loadNodeAv}). */
  module?: NodeAvModule;
}

// AV_NOPTS_VALUE, AV_FRAME_FLAG_CORRUPT: the same in every libav
const NOPTS = -(2n ** 63n);
const FLAG_CORRUPT = 1;

let loaded: NodeAvModule | undefined;

/** Node 20 lacks Promise.withResolvers, which node-av's Demuxer.packets() calls. */
function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true, writable: true, enumerable: false,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
      return { promise, resolve, reject };
    },
  });
}

function isNodeAv(mod: unknown): mod is NodeAvModule {
  const m = mod as Partial<NodeAvModule> | undefined;
  return isObject(mod) && typeof m?.Frame === 'function' && typeof m.avGetPixFmtName === 'function' &&
    typeof m.avGetPixFmtFromName === 'function';
}

function checkModule(mod: unknown, who: string): NodeAvModule {
  if (!isNodeAv(mod)) {
    throw new TypeError(`${who}: options.module must be the node-av module (Frame, avGetPixFmtName, avGetPixFmtFromName); got ${describe(mod)}`);
  }
  polyfillWithResolvers();
  return mod;
}

/**
 * The node-av module, as avcv's node-av interop loads it: `require('node-av')`
 * (an ES module: Node >= 20.19 or 22.12 require() it), once, with
 * `Promise.withResolvers` polyfilled where Node lacks it (Node 20: node-av's
 * `Demuxer.packets()` needs it). Without node-av installed, AvcvError
 * 'PEER_MISSING'. Call it before using node-av's async Demuxer on Node 20.
 *
 * @example
 * ```ts
 * const av = loadNodeAv() as unknown as typeof import('node-av');   // node-av's own types
 * const input = await av.Demuxer.open('in.mkv');
 * ```
 */
export function loadNodeAv(): NodeAvModule {
  if (loaded) return loaded;
  polyfillWithResolvers();
  let m: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    m = require('node-av');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = String((err as Error).message);
    if (code === 'MODULE_NOT_FOUND' && message.includes("'node-av'")) {
      throw new AvcvError('PEER_MISSING', 'this needs the optional peer dependency node-av (npm install node-av), ' +
        "or pass { module } (import * as av from 'node-av')", { cause: err });
    }
    if (code === 'ERR_REQUIRE_ESM') {
      throw new AvcvError('PEER_MISSING', `node-av is an ES module, which this Node (${process.version}) cannot require(): ` +
        "use Node >= 20.19 or 22.12, or pass { module } (import * as av from 'node-av')", { cause: err });
    }
    throw new AvcvError('PEER_MISSING', `node-av failed to load: ${message}`, { cause: err });
  }
  if (!isNodeAv(m)) throw new AvcvError('PEER_MISSING', 'node-av loaded but lacks Frame, avGetPixFmtName or avGetPixFmtFromName (avcv needs node-av >= 6.1.1)');
  loaded = m;
  return m;
}

function moduleFor(mod: unknown, who: string): NodeAvModule {
  return mod === undefined ? loadNodeAv() : checkModule(mod, who);
}

/** A node-av video frame in system memory, or a TypeError naming `frame`. */
function checkFrame(frame: unknown, who: string): NodeAvFrame {
  const f = frame as Partial<NodeAvFrame> | undefined;
  if (!isObject(frame) || typeof f?.isVideo !== 'function' || typeof f.isHwFrame !== 'function' || !('linesize' in frame) ||
      !('data' in frame)) {
    throw new TypeError(`${who}: frame must be a node-av Frame; got ${describe(frame)}`);
  }
  const nf = frame as unknown as NodeAvFrame;
  if (!nf.isVideo()) throw new TypeError(`${who}: frame must be a video frame; this node-av Frame has no picture (audio, or not allocated)`);
  if (nf.isHwFrame()) {
    throw new TypeError(`${who}: frame is a hardware frame (its planes are in GPU memory): transfer it to system memory first ` +
      '(node-av: frame.hwframeTransferData(swFrame), or Decoder options { rescale: { ... } })');
  }
  return nf;
}

const seconds = (v: bigint, tb: { num: number; den: number }) => (Number(v) * tb.num) / tb.den;

/**
 * Internal (Frame.fromNodeAv): one native conversion of a node-av frame's
 * planes into a new avcv frame of `format`/`layout`, with its timing.
 */
export function fromNodeAvFrame(frame: unknown, format: PixelFormat, layout: Layout, mod: unknown): FrameInit {
  const who = 'Frame.fromNodeAv';
  const f = checkFrame(frame, who);
  const av = moduleFor(mod, who);
  const name = av.avGetPixFmtName(f.format);
  if (typeof name !== 'string') throw new TypeError(`${who}: frame.format ${f.format} is not a pixel format node-av knows`);
  const data = f.data;
  if (!Array.isArray(data) || data.length === 0) throw new TypeError(`${who}: frame has no planes (data is ${describe(data)})`);
  const strides = Array.from(f.linesize).slice(0, 4);
  if (strides.some((s) => s < 0)) throw new RangeError(`${who}: frame has negative strides (bottom-up rows), which avcv does not read`);
  let out: Uint8Array;
  try {
    out = native().convertForeign(
      data.slice(0, 4), strides,
      { format: name, width: f.width, height: f.height, colorspace: f.colorSpace | 0, colorRange: f.colorRange | 0 },
      { format, layout, width: f.width, height: f.height },
    );
  } catch (err) {
    throw fromNative(err);
  }
  let pts = typeof f.pts === 'bigint' ? f.pts : NOPTS;
  if (pts === NOPTS) {
    const best = (frame as { bestEffortTimestamp?: unknown }).bestEffortTimestamp;
    if (typeof best === 'bigint') pts = best;
  }
  const tb = f.timeBase;
  const timed = isObject(tb) && tb.num > 0 && tb.den > 0;
  const duration = typeof f.duration === 'bigint' && f.duration > 0n ? f.duration : 0n;
  const time = pts !== NOPTS && timed ? seconds(pts, tb) : 0;
  return {
    data: out, width: f.width, height: f.height, format, layout,
    pts: pts === NOPTS ? 0 : Number(pts), time, rawTime: time,
    duration: Number(duration), durationSeconds: timed ? seconds(duration, tb) : 0,
    keyframe: (frame as { keyFrame?: unknown }).keyFrame === 1,
    corrupt: ((f.flags ?? 0) & FLAG_CORRUPT) !== 0,
  };
}

// avcv chw -> libav planar RGB: its planes are G, B, R(, A); entry j is the
// avcv channel that goes to libav plane j
const CHW_PLANES: Partial<Record<PixelFormat, { name: string; order: number[] }>> = {
  bgr24: { name: 'gbrp', order: [1, 0, 2] },
  rgb24: { name: 'gbrp', order: [1, 2, 0] },
  bgra: { name: 'gbrap', order: [1, 0, 2, 3] },
  rgba: { name: 'gbrap', order: [1, 2, 0, 3] },
};

/**
 * Internal (frame.toNodeAv): a node-av Frame with the frame's size, its
 * format by libav name (chw frames: gbrp/gbrap), the bytes copied row by row
 * into node-av's strided planes, pts and the time base given.
 */
export function toNodeAvFrame(frame: Frame, options: ToNodeAvOptions): NodeAvFrame {
  const who = 'toNodeAv';
  const tb = options.timeBase;
  if (tb !== undefined && (!isObject(tb) || !Number.isInteger(tb.num) || !Number.isInteger(tb.den) || tb.num <= 0 || tb.den <= 0)) {
    throw new TypeError(`${who}: options.timeBase must be { num, den } with positive integers; got ${isObject(tb) ? `${tb.num}/${tb.den}` : describe(tb)}`);
  }
  const av = moduleFor(options.module, who);
  const chw = frame.layout === 'chw' ? CHW_PLANES[frame.format] : undefined;
  const name = chw?.name ?? frame.format;
  const order = chw?.order ?? frame.planes.map((_, i) => i);
  const number = av.avGetPixFmtFromName(name);
  if (typeof number !== 'number' || number < 0) throw new AvcvError('UNSUPPORTED', `node-av's FFmpeg has no pixel format '${name}'`);
  const out = new av.Frame();
  out.alloc();
  out.width = frame.width;
  out.height = frame.height;
  out.format = number;
  const ret = out.getBuffer(0);
  if (ret < 0) throw new AvcvError('ENOMEM', `node-av could not allocate a ${frame.width}x${frame.height} ${name} frame (error ${ret})`);
  const planes = frame.planes;
  const dst = out.data;
  const strides = out.linesize;
  if (!dst || dst.length < order.length) throw new AvcvError('INTERNAL', `node-av's ${name} frame has ${dst?.length ?? 0} planes, not ${order.length}`);
  order.forEach((k, j) => {
    const p = planes[k];
    const row = p.width * p.elementBytes;
    const stride = strides[j];
    const target = dst[j];
    if (stride === row) {
      target.set(p.data, 0);
      return;
    }
    for (let y = 0; y < p.height; y++) target.set(p.data.subarray(y * row, (y + 1) * row), y * stride);
  });
  out.pts = BigInt(Math.round(frame.pts));
  if (frame.duration > 0) out.duration = BigInt(Math.round(frame.duration));
  if (tb !== undefined) out.timeBase = { num: tb.num, den: tb.den };
  return out;
}
