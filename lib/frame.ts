import { isMainThread } from 'node:worker_threads';
import { native } from './native';
import { AvcvError, fromNative } from './errors';
import {
  LAYOUTS, PIXEL_FORMATS, byteLength, channelsOf, defaultLayout, isPlanarYuv, planesOf, shapeOf,
  type Layout, type PixelFormat, type Plane,
} from './formats';
import { checkKeys, int, isObject, oneOf } from './validate';
import { fromNodeAvFrame, toNodeAvFrame, type FromNodeAvOptions, type NodeAvFrame, type ToNodeAvOptions } from './node-av';
import {
  frameToTensor, letterboxImage, stackImages, tensorToImage,
  type FromTensorOptions, type LetterboxOptions, type LetterboxResult, type Tensor, type TensorOptions,
} from './tensor';

/**
 * The fields of `new Frame(init)`: the pixels and their description, plus
 * optional timing (each defaults to 0 or false). The data is used as is, not
 * copied or checked: {@link Frame.from} is the checked way to wrap bytes.
 */
export interface FrameInit {
  /** Exactly the bytes of the shape (see {@link Frame.shape}), no stride padding. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The pixel format of `data`. */
  format: PixelFormat;
  /** The layout of `data` (default 'hwc', 'planar' for yuv420p/nv12). */
  layout?: Layout;
  /** Presentation timestamp in the stream's time base (default 0). */
  pts?: number;
  /** Seconds on the reader's continuous timeline (default 0). */
  time?: number;
  /** pts in seconds as the stream says (default: `time`). */
  rawTime?: number;
  /** Duration in the stream's time base (default 0). */
  duration?: number;
  /** Duration in seconds (default 0). */
  durationSeconds?: number;
  /** 0-based display index (default 0). */
  index?: number;
  /** Whether the frame is a keyframe (default false). */
  keyframe?: boolean;
  /** Decoded with errors (default false). */
  corrupt?: boolean;
  /** The first frame after a live reconnect (default false). */
  discontinuity?: boolean;
  /** Wall-clock ms since the epoch when it left the decoder (default 0). */
  receivedAt?: number;
}

// Frames of at least this many bytes come from the pool (null: none do). Only
// where a fresh buffer per frame would cost page faults every frame: glibc
// serves blocks of M_MMAP_THRESHOLD and more with mmap and unmaps them when
// freed. While a reader is open avcv raises that threshold to glibc's most,
// 32 MiB (heapRetain), so frames under it (4K bgr24 is 24.9 MB) reuse the
// heap's memory and the pool is for larger ones (8K). With AVCV_HEAP_RETAIN=0
// it is for frames of 8 MiB and more (4K HEVC measured at 0.78x of the CLI
// with fresh memory, 0.88x from the pool; with the heap kept, 0.86x as the
// pool's 0.86-0.87x). V8 reclaims its own buffers in cheap young-generation
// collections, but external ones only in full ones, later (a 1080p transform
// in yuv420p held 63 dead frames, 573 MB RSS against 414, for no speed), so
// the pool only pays where the page faults cost more.
const POOL_FROM_KEPT = 32 * 2 ** 20;
const POOL_FROM = 8 * 2 ** 20;
let poolFrom: number | null | undefined;
const poolThreshold = (): number | null => {
  if (poolFrom === undefined) {
    const env = process.env.AVCV_FRAME_POOL;
    poolFrom = !isMainThread || native().versions().externalBuffers !== true || env === '0' ? null
      : env === '1' ? 0 : heapRetained() ? POOL_FROM_KEPT : POOL_FROM;
  }
  return poolFrom;
};
const pooledSize = (bytes: number): boolean => {
  const from = poolThreshold();
  return from !== null && bytes >= from;
};
// Whether open readers make glibc's heap keep freed frame memory (the addon's
// heapRetain): V8's own frame buffers are fresh malloc()s of megabytes, and
// glibc otherwise gives each back to the system when V8 frees it, so every
// frame pays many of its page faults again (84 of 1,519 pages per 1080p bgr24
// frame measured, mostly 130-210 of 675 at 720p; 13, and 0.1-18, with the
// heap kept). Not in Electron (its ArrayBuffers come from Chromium's
// allocator, not malloc()), nor with AVCV_HEAP_RETAIN=0.
let retainHeap: boolean | undefined;
const heapRetained = (): boolean => {
  if (retainHeap === undefined) retainHeap = process.env.AVCV_HEAP_RETAIN !== '0' && !process.versions.electron;
  return retainHeap;
};
// readers that take from the pool and are not closed: the pool keeps idle memory only while there is one
let poolReaders = 0;
interface Joined { pooled: boolean; retained: boolean }
const joined = new WeakMap<object, Joined>();
const leave = (j: Joined): void => {
  if (j.pooled && --poolReaders === 0) native().framePoolKeep(false);
  if (j.retained) native().heapRetain(false);
};
const readerCollected = new FinalizationRegistry<Joined>(leave);

/**
 * Internal: a reader whose frames are `frameBytes` opens; it calls
 * leavePool(owner) when it has closed (a reader collected unclosed counts
 * as closed). True when its frames come from the pool. While any reader is
 * open, glibc's heap keeps freed frame memory for the next frames (see
 * heapRetained).
 *
 * @internal
 */
export function joinPool(owner: object, frameBytes: number): boolean {
  const j: Joined = { pooled: pooledSize(frameBytes), retained: heapRetained() };
  if (j.pooled && poolReaders++ === 0) native().framePoolKeep(true);
  if (j.retained) native().heapRetain(true);
  joined.set(owner, j);
  readerCollected.register(owner, j, owner);
  return j.pooled;
}

/**
 * Internal: a reader that joined closed. After the last one, the pool frees
 * its idle memory and what comes back later, and glibc's heap gives its free
 * memory back to the system.
 *
 * @internal
 */
export function leavePool(owner: object): void {
  const j = joined.get(owner);
  if (!j) return;
  joined.delete(owner);
  readerCollected.unregister(owner);
  leave(j);
}
// the ArrayBuffers frameMemory() took from the pool: release() moves their memory natively
const poolMemory = new WeakSet<ArrayBuffer>();

/**
 * Memory for one frame of `bytes` (plus `padding` scratch bytes after it in
 * its ArrayBuffer). For frames of 32 MiB and more (8K; 8 MiB with
 * AVCV_HEAP_RETAIN=0), on the main thread,
 * where the runtime allows external buffers: from the addon's frame pool,
 * memory touched before, that returns to the pool when V8 has collected the
 * frame's ArrayBuffer (release() hands it to the reader on a new ArrayBuffer
 * first). Else a fresh buffer from V8:
 * - for smaller frames (see POOL_FROM_KEPT and POOL_FROM);
 * - in Electron, which allows no external buffers;
 * - in a worker thread: when a worker ends, Node hands back all the external
 *   buffers it made at once, in no set order, while its reader's thread may
 *   still decode into one of them;
 * - with AVCV_FRAME_POOL=0 (the benchmarks' side-by-side run);
 *   AVCV_FRAME_POOL=1 pools frames of every size.
 *
 * @internal
 */
export function frameMemory(bytes: number, padding: number): Uint8Array {
  if (!pooledSize(bytes)) return new Uint8Array(Buffer.allocUnsafeSlow(bytes + padding).buffer, 0, bytes);
  const ab = native().frameBuffer(bytes + padding);
  poolMemory.add(ab);
  return new Uint8Array(ab, 0, bytes);
}

// Buffers an avcv call is using on another thread (writer.write, the async
// cv operations, FilterGraph.push), counted per ArrayBuffer: a frame released
// meanwhile gives its memory back only when the last of them is done.
const inUse = new WeakMap<ArrayBufferLike, number>();
const afterUse = new WeakMap<ArrayBufferLike, () => void>();

/**
 * Internal: marks `data`'s memory as in use by a native call until the
 * returned function is called (once, when the call has settled).
 */
export function holdMemory(data: Uint8Array): () => void {
  const b = data.buffer;
  inUse.set(b, (inUse.get(b) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = inUse.get(b)! - 1;
    if (n > 0) {
      inUse.set(b, n);
      return;
    }
    inUse.delete(b);
    const then = afterUse.get(b);
    if (then) {
      afterUse.delete(b);
      then();
    }
  };
}

/** Internal: how a reader takes a released frame's memory back (see Frame.release). */
export const setRecycler = Symbol('avcv.setRecycler');
/** Where a released frame's memory goes: the reader's pool of buffers to decode into. */
export type Recycler = (memory: ArrayBuffer) => void;

/**
 * One video frame: `data` holds exactly the bytes of `shape` (no stride padding),
 * in the pixel `format` and `layout` it names. Nothing converts implicitly:
 * `to()` and `toLayout()` are the named conversions.
 *
 * A frame's memory is its own: nothing avcv does later changes it. A loop
 * that is done with a frame can give its memory back to the reader for the
 * next frames, which spares the allocation, page faults and garbage
 * collection of a new buffer per frame:
 *
 * ```ts
 * for await (const frame of reader) {
 *   use(frame);
 *   frame.release();      // or, in TypeScript: for await (using frame of reader)
 * }
 * ```
 *
 * @example
 * ```ts
 * const frame = Frame.from(new Uint8Array(640 * 360 * 3), { width: 640, height: 360, format: 'rgb24' });
 * frame.shape;                              // [360, 640, 3]
 * const bgr = frame.to('bgr24');            // an explicit conversion, a new frame
 * const planes = frame.toLayout('chw');     // [3, 360, 640]: one plane per channel
 * ```
 */
export class Frame {
  #data: Uint8Array;
  #released = false;
  #recycle: Recycler | null = null;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The pixel format of `data` (see {@link PixelFormat}). */
  readonly format: PixelFormat;
  /** How `data` is laid out: 'hwc', 'chw', or 'planar' for yuv420p/nv12. */
  readonly layout: Layout;
  /** Components per pixel: 3 (BGR/RGB, and YUV's three), 4 with alpha, 1 for gray. */
  readonly channels: number;
  /** The shape of `data`: [H, W, C] (hwc), [C, H, W] (chw), [H * 3/2, W] (yuv420p, nv12). */
  readonly shape: readonly number[];
  /** Presentation timestamp in the stream's time base (best_effort_timestamp). */
  readonly pts: number;
  /**
   * Presentation time in seconds on the reader's continuous timeline: the
   * one `frameAt`, `rangeByTime` and `index().times` use, so `frameAt(f.time)`
   * is `f`. It is pts × time base, except where the stream's clock restarts
   * (e.g. concatenated MPEG-TS): later frames then go on after the earlier
   * ones instead of starting again.
   */
  readonly time: number;
  /** pts × time base, as the stream says (equal to `time` unless the clock restarted). */
  readonly rawTime: number;
  /** Duration in the stream's time base. */
  readonly duration: number;
  /** Duration in seconds. */
  readonly durationSeconds: number;
  /** 0-based index in display order. */
  readonly index: number;
  /** The decoder marked this frame as a keyframe. */
  readonly keyframe: boolean;
  /** The decoder flagged this frame as decoded with errors (concealed). */
  readonly corrupt: boolean;
  /** The first frame after a live source reconnected (its pts were shifted to continue). */
  readonly discontinuity: boolean;
  /** When the frame left the decoder (wall clock, ms since the epoch); 0 for frames not read from a source. */
  readonly receivedAt: number;

  constructor(init: FrameInit) {
    const layout = init.layout ?? defaultLayout(init.format);
    this.#data = init.data;
    this.width = init.width;
    this.height = init.height;
    this.format = init.format;
    this.layout = layout;
    this.channels = channelsOf(init.format);
    this.shape = Object.freeze(shapeOf(init.format, layout, init.width, init.height));
    this.pts = init.pts ?? 0;
    this.time = init.time ?? 0;
    this.rawTime = init.rawTime ?? this.time;
    this.duration = init.duration ?? 0;
    this.durationSeconds = init.durationSeconds ?? 0;
    this.index = init.index ?? 0;
    this.keyframe = init.keyframe ?? false;
    this.corrupt = init.corrupt ?? false;
    this.discontinuity = init.discontinuity ?? false;
    this.receivedAt = init.receivedAt ?? 0;
  }

  /**
   * The pixels: exactly the bytes of `shape`. Reading it after `release()`
   * throws AvcvError 'RELEASED'.
   */
  get data(): Uint8Array {
    if (this.#released) {
      throw new AvcvError('RELEASED', `frame ${this.index} was released: its memory went back to the reader; ` +
        'keep a frame (do not release it) or copy it (frame.clone()) to use it later');
    }
    return this.#data;
  }

  /** True once `release()` was called: the frame can no longer be used. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Gives the frame's memory back to the reader it came from, to decode a
   * later frame into, and makes this frame unusable: `data` (and everything
   * that reads it) throws AvcvError 'RELEASED', and views of `data` taken
   * before become empty (length 0), so they can never show another frame's
   * pixels. A write or cv operation still running on the frame finishes
   * first. Frames not from a reader's sequential read (random access,
   * conversions, `Frame.from`) are only marked released. Calling it again
   * does nothing. `[Symbol.dispose]` is the same, for `using`.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const recycle = this.#recycle;
    this.#recycle = null;
    if (!recycle) return;
    const buffer = this.#data.buffer;
    const give = () => {
      // moving the memory out detaches `buffer`: every view of it is now empty
      if (buffer.byteLength === 0 || !(buffer instanceof ArrayBuffer)) return;  // transferred elsewhere already
      let moved: ArrayBuffer;
      if (poolMemory.has(buffer)) {
        // pooled (external) memory: structuredClone would copy it, not move it
        moved = native().moveFrameBuffer(buffer);
        poolMemory.add(moved);
      } else {
        try {
          moved = structuredClone(buffer, { transfer: [buffer] });
        } catch {
          return;  // not transferable: left to the garbage collector, as before
        }
      }
      recycle(moved);
    };
    if (inUse.has(buffer)) afterUse.set(buffer, give);
    else give();
  }

  /** The same as `release()`, for `using frame = ...` and `for await (using frame of reader)`. */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Internal: set by the reader on frames whose memory it can take back.
   *
   * @internal
   */
  [setRecycler](recycle: Recycler): void {
    this.#recycle = recycle;
  }

  /** A copy of the frame in memory of its own (same pixels and timing). */
  clone(): Frame {
    return new Frame({
      data: new Uint8Array(this.data), width: this.width, height: this.height, format: this.format, layout: this.layout,
      pts: this.pts, time: this.time, rawTime: this.rawTime, duration: this.duration, durationSeconds: this.durationSeconds,
      index: this.index, keyframe: this.keyframe, corrupt: this.corrupt, discontinuity: this.discontinuity, receivedAt: this.receivedAt,
    });
  }

  /**
   * Wraps bytes you already have as a Frame, without copying. The length must
   * equal the shape's byte count exactly.
   */
  static from(data: Uint8Array, desc: { width: number; height: number; format: PixelFormat; layout?: Layout }): Frame {
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    if (!isObject(desc)) throw new TypeError('Frame.from: the second argument must be an object');
    checkKeys('Frame.from', desc, ['width', 'height', 'format', 'layout']);
    const format = oneOf('format', desc.format, PIXEL_FORMATS);
    const layout = desc.layout === undefined ? defaultLayout(format) : oneOf('layout', desc.layout, LAYOUTS);
    const width = int('width', desc.width, 1, 16384);
    const height = int('height', desc.height, 1, 16384);
    checkLayout(format, layout, width, height);
    const need = byteLength(format, layout, width, height);
    if (data.byteLength !== need) {
      throw new RangeError(`data has ${data.byteLength} bytes; a ${width}x${height} ${format} ${layout} frame has ${need}`);
    }
    return new Frame({ data, width, height, format, layout });
  }

  /**
   * A node-av video Frame (any software pixel format node-av decodes:
   * yuv420p, nv12, yuv422p10le, gbrp, rgb24, ...) as an avcv Frame of
   * `format` (default 'bgr24', as VideoReader's) and `layout`: one swscale
   * pass from node-av's planes (their strides as they are) into the new
   * frame's memory (a copy when the frame is already in that format), set
   * up as the reader converts decoded frames, so the bytes equal
   * `ffmpeg -i X -pix_fmt bgr24 -f rawvideo` for the same decoded frame.
   * Pixel formats cross by name: node-av's FFmpeg may number
   * them differently. Keeps pts (pts, else best_effort_timestamp), `time`
   * and `durationSeconds` when the frame has a time base, keyframe and
   * corrupt. A hardware frame, an audio frame or anything else is a
   * TypeError naming `frame`; a format the libav avcv links lacks is
   * AvcvError 'UNSUPPORTED'. node-av is loaded on first use (see
   * {@link loadNodeAv}; without it, AvcvError 'PEER_MISSING').
   *
   * @example
   * ```ts
   * import { Demuxer, Decoder } from 'node-av';
   * const input = await Demuxer.open('in.mkv');
   * const decoder = await Decoder.create(input.video()!);
   * for await (const f of decoder.frames(input.packets(input.video()!.index))) {
   *   if (!f) break;
   *   const frame = Frame.fromNodeAv(f);                        // bgr24, what VideoReader gives
   *   const rgb = Frame.fromNodeAv(f, { format: 'rgb24', layout: 'chw' });
   *   f.free();
   * }
   * ```
   */
  static fromNodeAv(frame: NodeAvFrame, options: FromNodeAvOptions = {}): Frame {
    if (!isObject(options)) throw new TypeError('Frame.fromNodeAv: options must be an object');
    checkKeys('Frame.fromNodeAv', options, ['format', 'layout', 'module']);
    const format = options.format === undefined ? 'bgr24' : oneOf('format', options.format, PIXEL_FORMATS);
    const layout = options.layout === undefined ? defaultLayout(format) : oneOf('layout', options.layout, LAYOUTS);
    const w = (frame as { width?: unknown } | null)?.width;
    const h = (frame as { height?: unknown } | null)?.height;
    if (typeof w === 'number' && typeof h === 'number' && w > 0 && h > 0) checkLayout(format, layout, w, h);
    return new Frame(fromNodeAvFrame(frame, format, layout, options.module));
  }

  /**
   * A node-av video Frame holding a copy of this frame, for node-av's
   * encoders and filters: the same width, height and pixel format (by name
   * in node-av's FFmpeg; chw frames become planar 'gbrp'/'gbrap'), the bytes
   * copied into node-av's own (strided) planes, pts set, and `timeBase` if
   * given. The generic parameter types the result, e.g.
   * `frame.toNodeAv<av.Frame>()`. node-av is loaded on first use (see
   * {@link loadNodeAv}).
   *
   * @example
   * ```ts
   * import * as av from 'node-av';
   * const reader = await VideoReader.open('in.mp4', { format: 'yuv420p' });
   * const encoder = await av.Encoder.create(av.FF_ENCODER_LIBX264);
   * for await (const frame of reader) {
   *   const f = frame.toNodeAv<av.Frame>({ timeBase: reader.info.stream.timeBase });
   *   for (const packet of await encoder.encodeAll(f)) { ...; packet.free(); }
   *   f.free();
   * }
   * ```
   */
  toNodeAv<F extends object = NodeAvFrame>(options: ToNodeAvOptions = {}): F {
    if (!isObject(options)) throw new TypeError('toNodeAv: options must be an object');
    checkKeys('toNodeAv', options, ['timeBase', 'module']);
    return toNodeAvFrame(this, options) as unknown as F;
  }

  /** Views of each plane of `data` (no copies). */
  get planes(): Plane[] {
    return planesOf(this.data, this.format, this.layout, this.width, this.height);
  }

  /**
   * Converts to another pixel format (and optionally layout) in one native
   * pass on the calling thread. Channel reorders and hwc<->chw are exact;
   * gray from RGB is full-range luma.
   */
  to(format: PixelFormat, options: { layout?: Layout } = {}): Frame {
    const fmt = oneOf('format', format, PIXEL_FORMATS);
    if (!isObject(options)) throw new TypeError('options must be an object');
    checkKeys('to', options, ['layout']);
    const layout = options.layout === undefined
      ? (isPlanarYuv(fmt) ? 'planar' : this.layout === 'planar' ? 'hwc' : this.layout)
      : oneOf('layout', options.layout, LAYOUTS);
    return this.#convert(fmt, layout);
  }

  /**
   * An ML tensor in one native pass: channel order, layout and normalisation
   * together. `{ layout: 'chw', dtype: 'float32', channelOrder: 'rgb', scale: 1/255, mean, std }`.
   */
  toTensor(options: TensorOptions = {}): Tensor {
    return frameToTensor(this, options);
  }

  /**
   * The inverse of toTensor. float32 values become round((x * std + mean) /
   * scale) (half away from zero), clamped to 0..255; NaN becomes 0. The
   * frame's format follows the channel order unless given.
   */
  static fromTensor(tensor: Tensor, options: FromTensorOptions = {}): Frame {
    return new Frame(tensorToImage(tensor, options));
  }

  /** Same pixels in another layout ('hwc' <-> 'chw'); exact. */
  toLayout(layout: Layout): Frame {
    const l = oneOf('layout', layout, LAYOUTS);
    return this.#convert(this.format, l);
  }

  #convert(format: PixelFormat, layout: Layout): Frame {
    checkLayout(format, layout, this.width, this.height);
    let data: Uint8Array;
    try {
      data = native().convertImage(
        this.data,
        { format: this.format, layout: this.layout, width: this.width, height: this.height },
        { format, layout, width: this.width, height: this.height },
      );
    } catch (err) {
      throw fromNative(err);
    }
    return new Frame({
      data, width: this.width, height: this.height, format, layout, pts: this.pts, time: this.time, rawTime: this.rawTime,
      duration: this.duration, durationSeconds: this.durationSeconds, index: this.index, keyframe: this.keyframe,
      corrupt: this.corrupt,
    });
  }
}

export function checkLayout(format: PixelFormat, layout: Layout, width: number, height: number): void {
  if (isPlanarYuv(format)) {
    if (layout !== 'planar') throw new RangeError(`layout '${layout}' does not apply to ${format}; its layout is 'planar'`);
    if (width % 2 || height % 2) throw new RangeError(`${format} needs an even width and height; got ${width}x${height}`);
  } else if (layout === 'planar') {
    throw new RangeError(`layout 'planar' applies only to yuv420p and nv12, not '${format}'`);
  }
}

/**
 * A batch tensor [N, C, H, W] (chw) or [N, H, W, C] (hwc) from frames of one
 * size and format, written straight into one preallocated buffer. Options as
 * {@link Frame.toTensor}'s (`out` then holds the whole batch).
 *
 * @example
 * ```ts
 * const batch = stackFrames(frames, { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * new ort.Tensor('float32', batch.data, batch.shape);   // [N, 3, H, W], what onnxruntime-node takes
 * ```
 */
export function stackFrames(frames: readonly Frame[], options: TensorOptions = {}): Tensor {
  if (!Array.isArray(frames) || frames.length === 0 || !frames.every((f) => f instanceof Frame)) {
    throw new TypeError('stackFrames takes a non-empty array of Frames');
  }
  return stackImages(frames, options);
}

/**
 * Detector-style preprocessing: resize keeping the aspect ratio, then pad to
 * width x height with `color` (default gray 114), centred. hwc frames only
 * (bgr24, rgb24, bgra, rgba, gray). Options: `width` and `height` of the
 * result in pixels, `color` (1 to 4 values 0..255 in the frame's channel
 * order) and `interpolation` (default 'bilinear', OpenCV's INTER_LINEAR).
 *
 * @example
 * ```ts
 * const { frame: input, scale, padX, padY, toOriginal } = letterbox(frame, { width: 640, height: 640 });
 * const [x, y] = toOriginal(320, 320);   // a point of the detector's input, in the original frame
 * ```
 */
export function letterbox(frame: Frame, options: LetterboxOptions): LetterboxResult<Frame> {
  if (!(frame instanceof Frame)) throw new TypeError('letterbox takes a Frame');
  const r = letterboxImage(frame, options);
  const out = new Frame({ data: r.data, width: r.width, height: r.height, format: frame.format, pts: frame.pts, time: frame.time, rawTime: frame.rawTime, index: frame.index, keyframe: frame.keyframe });
  return {
    frame: out, scale: r.scale, padX: r.padX, padY: r.padY,
    toOriginal: (x, y) => [(x - r.padX) / r.scale, (y - r.padY) / r.scale],
  };
}
