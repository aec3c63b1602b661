import * as fs from 'node:fs';
import type { NativeFrameResult, NativeIndexFrames, NativeIndexPackets, NativeReader, NativeReaderStats } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { Frame, frameMemory, joinPool, leavePool, setRecycler, type Recycler } from './frame';
import { shapeOf, channelsOf, type Layout, type PixelFormat } from './formats';
import { writeAtomic } from './files';
import { cancellableBy } from './cancel';
import { native } from './native';
import type { DeviceInfo } from './device';
import { convertProbe, convertStream, type ProbeResult, type VideoStreamInfo } from './probe';
import { normalise, type LiveEvent, type Normalised, type VideoReaderOptions } from './reader-options';
import { checkKeys, describe, int, isObject } from './validate';

export type { Interpolation } from './formats';
export type { VideoReaderOptions } from './reader-options';


/** What {@link VideoReader.info} holds: the source's probe and the shape of the frames the reader gives. */
export interface ReaderInfo {
  /** The source as opened: a path, or a URL's href. */
  source: string;
  /** The container's probe, as {@link probe} gives it. */
  container: ProbeResult;
  /** The decoded video stream's probe. */
  stream: VideoStreamInfo;
  /** The libavcodec decoder used (e.g. 'h264', 'hevc', 'libdav1d'). */
  decoder: string;
  /** Where frames are decoded: { type: 'cpu' | 'cuda', index?, fallbackReason? }. */
  device: DeviceInfo;
  /** The frames' width in pixels (after autorotate, filter, crop and resize). */
  width: number;
  /** The frames' height in pixels (after autorotate, filter, crop and resize). */
  height: number;
  /** The frames' pixel format. */
  format: PixelFormat;
  /** The frames' layout. */
  layout: Layout;
  /** Components per pixel of `format`. */
  channels: number;
  /** Every frame's shape, e.g. [H, W, 3] for bgr24 hwc. */
  shape: readonly number[];
  /** Bytes of one frame's data. */
  frameBytes: number;
  /** Frames per second: the stream's average rate, or the filter graph's (0 when unknown). */
  fps: number;
  /** Seconds (the stream's, else the container's), or null when unknown. */
  duration: number | null;
  /** Frames in the stream (exact or estimated, see frameCountExact); null when unknown or changed by a filter. */
  frameCount: number | null;
  /** True when frameCount is the container's own count; index().frameCount counts the frames (seekMode 'exact'). */
  frameCountExact: boolean;
  /** Clockwise rotation applied to frames (0 unless autorotate). */
  rotation: number;
  /** The crop actually applied (rounded down to the chroma grid, as the CLI's crop filter does), or null. */
  crop: {
    /** Left edge in source pixels. */
    x: number;
    /** Top edge in source pixels. */
    y: number;
    /** Width in source pixels. */
    width: number;
    /** Height in source pixels. */
    height: number;
  } | null;
  /** Random access mode: 'exact' (frame index) or 'approximate' (metadata + constant frame rate). */
  seekMode: 'exact' | 'approximate';
  /**
   * The filter graph and its output (before any resize/crop): size, libav
   * pixel format, time base (frames' pts are in it) and frame rate (0/1 when
   * the graph does not say). randomAccess: false when a filter carries state
   * from frame to frame (`why` says which): frame(i), frameAt() and the
   * index are then refused with 'FILTER_NOT_SEEKABLE'. null without a filter.
   */
  filter: {
    /** The graph string, as given. */
    graph: string;
    /** The graph's output width in pixels. */
    width: number;
    /** The graph's output height in pixels. */
    height: number;
    /** libav's name of the graph's output pixel format. */
    format: string;
    /** The graph's output time base: frames' pts are in it. */
    timeBase: {
      /** Numerator. */
      num: number;
      /** Denominator. */
      den: number;
    };
    /** The graph's output frame rate (0/1 when the graph does not say). */
    frameRate: {
      /** Numerator. */
      num: number;
      /** Denominator. */
      den: number;
    };
    /** Whether frame(i), frameAt() and the index work (every filter per-frame). */
    randomAccess: boolean;
    /** Why random access is refused: the filter that carries state. */
    why?: string;
  } | null;
}

/**
 * What {@link VideoReader.stats} holds: the decoder's counters (damage,
 * errors, truncation), a live source's reconnects, stalls and drops, random
 * access's work, and the frames and buffers handed out.
 *
 * @interface
 */
export type ReaderStats = NativeReaderStats & {
  /** Frames returned by read() and iteration (not random access). */
  framesRead: number;
  /**
   * Frame buffers allocated for sequential reads. Without reuseBuffers or
   * frame.release() it grows by one a frame; with frame.release() it stays
   * near prefetch + 2, the released frames' memory being decoded into again.
   */
  buffersAllocated: number;
  /**
   * Live sources: how long frames waited between leaving the decoder
   * (frame.receivedAt) and reaching the caller, in ms, over the last 1000
   * frames read; null before any.
   */
  latency: {
    /** The median wait, ms. */
    p50: number;
    /** The 95th percentile, ms. */
    p95: number;
    /** The longest wait, ms. */
    max: number;
    /** Frames measured (at most 1000). */
    samples: number;
  } | null;
};

/** frames(indices, { batch: true }): one buffer, [N, H, W, C] (hwc) or [N, C, H, W] (chw). */
export interface FrameBatch {
  /** Every frame's bytes, one after the other, in request order. */
  data: Uint8Array;
  /** The batch's shape, N then info.shape: [N, H, W, C] (hwc) or [N, C, H, W] (chw). */
  shape: number[];
  /** The frames' pixel format. */
  format: PixelFormat;
  /** The frames' layout. */
  layout: Layout;
  /** Each frame's display index (negative requests resolved). */
  indices: number[];
  /** Each frame's pts, in the stream's time base. */
  pts: number[];
  /** Each frame's time in seconds (frame.time). */
  times: number[];
}

/** The frame index, as {@link VideoReader.index} gives it: what sequential decoding yields. */
export interface FrameIndexInfo {
  /** Frames sequential decoding yields (ffprobe -count_frames); seekMode 'approximate': the container's count. */
  frameCount: number;
  /** pts of every frame in display order (stream time base). */
  pts: Float64Array;
  /**
   * Display times in seconds on a continuous timeline: where the container's
   * clock restarts (MPEG-TS discontinuities), later segments are shifted to
   * follow the earlier ones, while frame.pts/frame.time keep the raw values.
   */
  times: Float64Array;
  /** the stream's timestamps restart at least once */
  discontinuous?: boolean;
  /** display indices of keyframes */
  keyframes: Uint32Array;
  /** The stream's time base: pts × num / den is seconds. */
  timeBase: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
  /**
   * How the index was built: 'packets' (one scan of the packets, no
   * decoding) or 'decode' (the stream was decoded once, because its packets
   * cannot say what decoding yields: `reason` says why, e.g. an AVI with
   * B-frames whose packets carry no pts, a raw stream, a damaged file, a
   * stream that does not start on a keyframe). 'approximate' for seekMode
   * approximate.
   */
  method: 'packets' | 'decode' | 'approximate';
  /** method 'decode': why the packets could not say it. */
  reason?: string;
}

function abortError(signal: AbortSignal, source: string): AvcvError {
  return new AvcvError('ABORTED', 'the read was aborted', { source, cause: signal.reason });
}

/**
 * Internal: VideoReader[allocFrames](count) gives a batch buffer with the
 * conversion's padding after it, and VideoReader[framesInto] decodes into it.
 */
export const framesInto = Symbol('avcv.framesInto');
export const allocFrames = Symbol('avcv.allocFrames');

/**
 * Decodes a video into explicit frames. Decoding and conversion run on a
 * native thread that stays at most `prefetch` frames ahead of the consumer.
 * Frames come in display order through read() or `for await`; frame(),
 * frames(), frameAt(), range() and rangeByTime() give exact random access
 * without disturbing iteration.
 *
 * @example
 * ```ts
 * await using reader = await VideoReader.open('in.mp4', { format: 'rgb24' });
 * for await (const frame of reader) { frame.data; frame.shape; frame.time; }
 * ```
 */
export class VideoReader implements AsyncIterable<Frame> {
  #native: NativeReader | null;
  #info: ReaderInfo;
  #prefetch: number;
  #reuse: boolean;
  #held: Uint8Array | null = null;
  #spare: Uint8Array[] = [];  // memory of released frames, decoded into before anything new is allocated
  #recycler: Recycler = (memory) => this.#takeBack(memory);
  #queue: Promise<unknown> = Promise.resolve();
  #closePromise: Promise<void> | null = null;
  #done = false;
  #framesRead = 0;
  #waits: number[] = [];  // ms each of the last frames waited after decoding (a ring)
  #waitAt = 0;
  #eventTimer: ReturnType<typeof setInterval> | null = null;
  #allocated = 0;
  #padding: number;
  #finalStats: NativeReaderStats | null = null;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #abortReject: ((e: Error) => void) | null = null;

  private constructor(nat: NativeReader, info: ReaderInfo, n: Normalised, padding: number) {
    this.#native = nat;
    this.#info = info;
    this.#prefetch = n.prefetch;
    this.#reuse = n.reuse;
    this.#signal = n.signal;
    this.#padding = padding;
    joinPool(this, info.frameBytes);  // leavePool() in close()
    for (let i = 0; i < this.#prefetch; i++) nat.push(this.#alloc());
    if (n.onEvent) this.#watchEvents(nat, n.onEvent);
    if (n.signal) {
      this.#onAbort = () => {
        this.#abortReject?.(abortError(n.signal!, info.source));
        void this.close();
      };
      n.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** live.onEvent: the connection's events, from the native counters every 250 ms. */
  #watchEvents(nat: NativeReader, onEvent: (e: LiveEvent) => void): void {
    let last = nat.stats();
    const emit = (e: LiveEvent) => {
      try {
        onEvent(e);
      } catch {
        // the caller's callback failing is not the reader's failure
      }
    };
    this.#eventTimer = setInterval(() => {
      if (this.#native !== nat) return;
      const s = nat.stats();
      const reason = s.lastError;
      for (let i = last.stalls; i < s.stalls; i++) emit({ type: 'stall', reason });
      for (let i = last.reconnectAttempts; i < s.reconnectAttempts; i++) emit({ type: 'reconnecting', attempt: i + 1, reason });
      for (let i = last.reconnects; i < s.reconnects; i++) emit({ type: 'reconnected', reason });
      if (s.dropped > last.dropped) emit({ type: 'drop', count: s.dropped - last.dropped, reason });
      last = s;
    }, 250);
    this.#eventTimer.unref();
  }

  /**
   * Opens a source for decoding: a file path, a `file:` URL, or a network URL
   * whose protocol `protocols` allows. Rejects with AvcvError for missing or
   * invalid media (e.g. 'ENOENT', 'INVALID_DATA', 'NO_VIDEO_STREAM'); bad
   * options are TypeError/RangeError.
   *
   * @example
   * ```ts
   * const reader = await VideoReader.open('in.mp4', {
   *   format: 'rgb24', layout: 'chw', resize: { width: 640, height: 360 },
   * });
   * console.log(reader.info.shape, reader.info.fps, reader.info.frameCount);
   * ```
   */
  static async open(source: string | URL, options: VideoReaderOptions = {}): Promise<VideoReader> {
    const caller = new Error();
    const n = normalise(source, options);
    if (n.signal?.aborted) throw abortError(n.signal, n.native.source);
    let nat: NativeReader;
    try {
      // an abort interrupts the open itself (probing included), not only what follows
      nat = await cancellableBy(n.signal, native().openReader(n.native), n.native.source, (late) => late.close());
    } catch (err) {
      if (n.signal?.aborted) throw abortError(n.signal, n.native.source);
      throw fromNative(err, n.native.source, caller);
    }
    const raw = nat.info()!;
    const format = raw.output.format as PixelFormat;
    const layout = raw.output.layout as Layout;
    const stream = convertStream(raw.stream) as VideoStreamInfo;
    const c = raw.crop;
    const g = raw.filter;
    const full = g
      ? c.x === 0 && c.y === 0 && c.width === g.width && c.height === g.height
      : c.x === 0 && c.y === 0 && c.width === (raw.rotation % 180 ? stream.height : stream.width) &&
        c.height === (raw.rotation % 180 ? stream.width : stream.height);
    const filter: ReaderInfo['filter'] = g ? {
      graph: n.native.filter, width: g.width, height: g.height, format: g.format,
      timeBase: { ...g.timeBase }, frameRate: { ...g.frameRate },
      randomAccess: g.notPerFrame === '', ...(g.notPerFrame ? { why: g.notPerFrame } : {}),
    } : null;
    // a graph that may drop, add or retime frames: the stream's count and rate no longer describe the output
    const retimed = filter !== null && !filter.randomAccess;
    const info: ReaderInfo = {
      source: n.native.source,
      container: convertProbe(raw.container),
      stream,
      decoder: raw.decoder,
      device: raw.device,
      width: raw.output.width,
      height: raw.output.height,
      format,
      layout,
      channels: channelsOf(format),
      shape: Object.freeze(shapeOf(format, layout, raw.output.width, raw.output.height)),
      frameBytes: raw.output.bytes,
      fps: filter && filter.frameRate.num > 0 ? filter.frameRate.num / filter.frameRate.den : retimed ? 0 : stream.fps,
      duration: stream.duration ?? raw.container.duration,
      frameCount: retimed ? null : stream.frameCount,
      frameCountExact: retimed ? false : stream.frameCountExact,
      rotation: raw.rotation,
      crop: full && n.native.crop === null ? null : { ...c },
      seekMode: n.seekMode,
      filter,
    };
    const reader = new VideoReader(nat, info, n, raw.output.padding);
    if (n.indexPath) {
      try {
        const saved = await loadIndexFile(n.indexPath, info);
        nat.loadIndex(saved.packets, saved.frames);
      } catch (err) {
        await reader.close();
        throw err instanceof AvcvError || err instanceof TypeError || err instanceof RangeError ? err : fromNative(err, n.indexPath, caller);
      }
    }
    if (n.signal?.aborted) {
      await reader.close();
      throw abortError(n.signal, n.native.source);
    }
    return reader;
  }

  /** The chosen stream's metadata and the output shape. */
  get info(): ReaderInfo {
    return this.#info;
  }

  /** Decode counters: frames, corrupt packets/frames skipped, decode errors, truncation. */
  get stats(): ReaderStats {
    // the native stats are complete (zeros before anything was read); after
    // close() the last ones
    const s = this.#native ? this.#native.stats() : this.#finalStats!;
    return { ...s, framesRead: this.#framesRead, buffersAllocated: this.#allocated, latency: this.#latencyStats() };
  }

  #latencyStats(): ReaderStats['latency'] {
    if (this.#waits.length === 0) return null;
    const w = [...this.#waits].sort((a, b) => a - b);
    const at = (q: number) => w[Math.min(w.length - 1, Math.floor(q * w.length))];
    return { p50: at(0.5), p95: at(0.95), max: w[w.length - 1], samples: w.length };
  }

  /** True once close() was called (or an abort closed the reader). */
  get closed(): boolean {
    return this.#native === null;
  }

  #alloc(): Uint8Array {
    // reuse mode keeps prefetch + 1 buffers in all (prefetch lent + the one the
    // caller holds): only #readOne's first reads allocate
    this.#allocated++;
    // padded allocation (the native conversion may write scratch bytes past the
    // frame's end); frame.data is the exact-length view
    return frameMemory(this.#info.frameBytes, this.#padding);
  }

  /**
   * The next frame in display order, or null at the end. Reads are served in
   * call order; concurrent calls queue rather than race. After close() it
   * rejects with 'CLOSED'.
   *
   * @example
   * ```ts
   * for (let f = await reader.read(); f; f = await reader.read()) {
   *   console.log(f.index, f.time, f.keyframe);
   *   f.release();   // done with it: its memory is decoded into again
   * }
   * ```
   */
  read(): Promise<Frame | null> {
    const p = this.#queue.then(() => this.#readOne());
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #readOne(): Promise<Frame | null> {
    const nat = this.#native;
    if (this.#signal?.aborted) throw abortError(this.#signal, this.#info.source);
    if (!nat) throw new AvcvError('CLOSED', 'the reader is closed', { source: this.#info.source });
    if (this.#done) return null;
    if (this.#reuse && this.#held) {
      nat.push(this.#held); // the previous frame's buffer goes back to the decoder
      this.#held = null;
    }
    let res;
    try {
      // with a signal, the read races its abort; without one, nothing to race
      res = this.#signal
        ? await new Promise<Awaited<ReturnType<NativeReader['next']>>>((resolve, reject) => {
          this.#abortReject = reject;
          nat.next().then(resolve, reject);
        })
        : await nat.next();
    } catch (err) {
      if (this.#signal?.aborted) throw abortError(this.#signal, this.#info.source);
      throw fromNative(err, this.#info.source);
    } finally {
      this.#abortReject = null;
    }
    if (res === null) {
      this.#done = true;
      return null;
    }
    this.#framesRead++;
    if (res.receivedAt > 0) {
      const w = Date.now() - res.receivedAt;
      if (this.#waits.length < 1000) this.#waits.push(w);
      else this.#waits[this.#waitAt++ % 1000] = w;
    }
    if (this.#reuse) this.#held = res.data;
    // the reader may have been closed while this frame was on its way: the
    // frame is still good, but nothing more is lent
    if (this.#native === nat && (!this.#reuse || this.#allocated < this.#prefetch + 1)) nat.push(this.#spare.pop() ?? this.#alloc());
    const frame = this.#frameOf(res);
    if (!this.#reuse) frame[setRecycler](this.#recycler);
    return frame;
  }

  /** A released frame's memory: kept for the next frames (at most prefetch + 1 of them). */
  #takeBack(memory: ArrayBuffer): void {
    const bytes = this.#info.frameBytes;
    if (this.#native === null || this.#spare.length > this.#prefetch || memory.byteLength < bytes + this.#padding) return;
    this.#spare.push(new Uint8Array(memory, 0, bytes));
  }

  // ---- random access (exact) ----

  #index: Promise<FrameIndexInfo> | null = null;
  #raQueue: Promise<unknown> = Promise.resolve();
  /** Rejecters of the random access in flight, called by close(). */
  #raPending = new Set<() => void>();
  #saved: { packets: NativeIndexPackets; frames?: NativeIndexFrames } | null = null;

  /**
   * Saves the frame index (building it first if needed) so that reopening
   * with `{ index: path }` needs no scan. The file records the source's size
   * and modification time and is refused when they change. Written atomically.
   */
  async saveIndex(path: string): Promise<void> {
    if (typeof path !== 'string' || !path) throw new TypeError(`path must be a file path; got ${describe(path)}`);
    if (this.#info.seekMode !== 'exact') throw new AvcvError('UNSUPPORTED', 'saveIndex needs seekMode exact', { source: this.#info.source });
    const ix = await this.index();
    const { packets: p, frames: f } = this.#saved!;
    const st = await fs.promises.stat(this.#info.source);
    const doc = {
      format: 'avcv-index', version: 2,
      source: { size: st.size, mtimeMs: st.mtimeMs },
      stream: this.#info.stream.index, timeBase: ix.timeBase,
      packets: { pts: Array.from(p.pts), dts: Array.from(p.dts), pos: Array.from(p.pos), key: Array.from(p.key), discard: Array.from(p.discard) },
      ...(f ? { frames: { packet: Array.from(f.packet), pts: Array.from(f.pts), key: Array.from(f.key), damaged: Array.from(f.damaged) } } : {}),
    };
    await writeAtomic(path, JSON.stringify(doc), 'save the index to');
  }

  #ra<T>(fn: (nat: NativeReader) => Promise<T>): Promise<T> {
    const run = async () => {
      const nat = this.#native;
      if (!nat) throw new AvcvError('CLOSED', 'the reader is closed', { source: this.#info.source });
      try {
        // close() rejects it at once: the native work stops at libav's next
        // interrupt check (a network read polls every 100 ms), and close()
        // itself waits for that
        return await new Promise<T>((resolve, reject) => {
          const closed = () => reject(new AvcvError('CLOSED', 'the reader was closed', { source: this.#info.source }));
          this.#raPending.add(closed);
          fn(nat).then(resolve, reject).finally(() => this.#raPending.delete(closed));
        });
      } catch (err) {
        if (err instanceof AvcvError && err.code === 'CLOSED') throw err;
        if (!this.#native) throw new AvcvError('CLOSED', 'the reader was closed', { source: this.#info.source, cause: err });
        throw fromNative(err, this.#info.source);
      }
    };
    const p = this.#raQueue.then(run);
    this.#raQueue = p.catch(() => undefined);
    return p;
  }

  /**
   * The frame index: what sequential decoding yields, every frame's pts
   * (display order) and the keyframes. Built once on a second decoder of the
   * source, so it does not disturb iteration: by scanning packets (no
   * decoding) where they can say it, else by decoding the stream once
   * (`method` and `reason` say which and why).
   */
  index(): Promise<FrameIndexInfo> {
    const f = this.#info.filter;
    if (f && !f.randomAccess) {
      return Promise.reject(new AvcvError('FILTER_NOT_SEEKABLE', `random access with filter '${f.graph}': ${f.why}; read the frames in order`, { source: this.#info.source }));
    }
    if (!this.#index && this.#info.seekMode === 'approximate') {
      const s = this.#info.stream;
      const n = this.#info.frameCount;
      const tb = s.timeBase;
      const fps = s.avgFrameRate.num > 0 ? s.avgFrameRate : s.baseFrameRate;
      if (!n || !(fps.num > 0)) {
        return Promise.reject(new AvcvError('NO_FRAME_COUNT', 'approximate seeking needs a frame count and frame rate in the metadata; use seekMode exact', { source: this.#info.source }));
      }
      const start = Math.round(((s.startTime ?? 0) * tb.den) / tb.num);
      const perFrame = (fps.den * tb.den) / (fps.num * tb.num);  // time-base units per frame
      const pts = Float64Array.from({ length: n }, (_, i) => start + Math.round(i * perFrame));
      const times = Float64Array.from(pts, (p) => (p * tb.num) / tb.den);
      this.#index = Promise.resolve({ frameCount: n, pts, times, keyframes: new Uint32Array(0), timeBase: { num: tb.num, den: tb.den }, method: 'approximate' });
    }
    if (!this.#index) {
      this.#index = this.#ra(async (nat) => {
        const r = await nat.index();
        this.#saved = { packets: r.packets, frames: r.frames };
        // pts * num / den (not pts * (num / den)): exact at frame boundaries
        // times follow a continuous timeline even where the container's clock restarts
        const times = Float64Array.from(r.continuousPts, (p) => (p * r.timeBase.num) / r.timeBase.den);
        return {
          frameCount: r.pts.length, pts: r.pts, times, keyframes: r.keyframes, timeBase: r.timeBase, discontinuous: r.discontinuous,
          method: r.method, ...(r.reason ? { reason: r.reason } : {}),
        };
      });
      this.#index.catch(() => { this.#index = null; });
    }
    return this.#index;
  }

  /**
   * The i-th displayed frame, exactly (negative i counts from the end): the
   * frame sequential reading gives as frame i, decoded from the keyframe
   * before it. A RangeError when there is no such frame.
   *
   * @example
   * ```ts
   * const f = await reader.frame(120);     // the 121st displayed frame
   * const last = await reader.frame(-1);
   * ```
   */
  async frame(i: number): Promise<Frame> {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`frame index must be an integer; got ${describe(i)}`);
    const ix = await this.index();
    const n = ix.frameCount;
    const k = i < 0 ? n + i : i;
    if (k < 0 || k >= n) throw new RangeError(`frame ${i} does not exist: the video has ${n} frames`);
    return this.#ra((nat) => this.#decodeAt(nat, k));
  }

  /**
   * Frames by display index, in request order. Indices are decoded in
   * ascending order, duplicates once, and each GOP at most once per call.
   * With `{ batch: true }`, one {@link FrameBatch}: every frame in one buffer.
   *
   * @example
   * ```ts
   * const [a, b, c] = await reader.frames([50, 3, 50]);            // request order; 50 decoded once
   * const batch = await reader.frames([0, 10, 20], { batch: true }); // batch.shape: [3, H, W, C]
   * ```
   */
  async frames(indices: readonly number[]): Promise<Frame[]>;
  async frames(indices: readonly number[], options: { batch: true }): Promise<FrameBatch>;
  async frames(indices: readonly number[], options: { batch?: boolean } = {}): Promise<Frame[] | FrameBatch> {
    if (!Array.isArray(indices)) throw new TypeError(`indices must be an array of integers; got ${describe(indices)}`);
    if (!isObject(options)) throw new TypeError('frames: options must be an object');
    checkKeys('frames', options, ['batch']);
    const wanted = await this.#resolve(indices);
    if (options.batch) {
      const i = this.#info;
      const ascending = wanted.every((k, j) => j === 0 || k > wanted[j - 1]);
      let list: Frame[];
      let data: Uint8Array;
      if (ascending) {  // decoded straight into the batch slots
        data = this.#allocBatch(wanted.length);
        list = await this[framesInto](wanted, data, 0);
      } else {  // request order differs from decode order: one copy per frame into the batch
        list = await this.frames(wanted);
        data = new Uint8Array(list.length * i.frameBytes);
        list.forEach((f, k) => data.set(f.data, k * i.frameBytes));
      }
      return {
        data, shape: [list.length, ...i.shape], format: i.format, layout: i.layout,
        indices: list.map((f) => f.index), pts: list.map((f) => f.pts), times: list.map((f) => f.time),
      };
    }
    const order = [...new Set(wanted)].sort((a, b) => a - b);
    const got = await this.#ra(async (nat) => {
      const m = new Map<number, Frame>();
      for (const k of order) m.set(k, await this.#decodeAt(nat, k));
      return m;
    });
    return wanted.map((k) => got.get(k)!);
  }

  /** Display indices (negative from the end) checked against the frame count. */
  async #resolve(indices: readonly number[]): Promise<number[]> {
    const n = (await this.index()).frameCount;
    return indices.map((i, j) => {
      if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`indices[${j}] must be an integer; got ${describe(i)}`);
      const k = i < 0 ? n + i : i;
      if (k < 0 || k >= n) throw new RangeError(`indices[${j}] = ${i} does not exist: the video has ${n} frames`);
      return k;
    });
  }

  /**
   * Internal: a buffer for `count` frames of this reader, padded as framesInto needs.
   *
   * @internal
   */
  [allocFrames](count: number): Uint8Array {
    return this.#allocBatch(count);
  }

  /** A buffer for `count` frames, with the conversion's padding after the last. */
  #allocBatch(count: number): Uint8Array {
    const bytes = count * this.#info.frameBytes;
    const buf = Buffer.allocUnsafeSlow(bytes + this.#padding);
    return new Uint8Array(buf.buffer, buf.byteOffset, bytes);
  }

  /**
   * Internal (VideoLoader, batches): decodes strictly ascending display
   * indices straight into consecutive frame slots of `out` from `offset`
   * bytes; `out`'s ArrayBuffer must leave the padding after the last slot.
   * Ascending order matters: each slot's conversion may overrun into the
   * next slot, which is written after it.
   *
   * @internal
   */
  async [framesInto](indices: readonly number[], out: Uint8Array, offset: number): Promise<Frame[]> {
    const fb = this.#info.frameBytes;
    for (let j = 1; j < indices.length; j++) {
      if (!(indices[j] > indices[j - 1])) throw new RangeError('framesInto: indices must be strictly ascending');
    }
    if (out.buffer.byteLength - out.byteOffset < offset + indices.length * fb + this.#padding) {
      throw new RangeError('framesInto: the output buffer is too small');
    }
    return this.#ra(async (nat) => {
      const frames: Frame[] = [];
      for (const [j, k] of indices.entries()) {
        frames.push(await this.#decodeAt(nat, k, new Uint8Array(out.buffer, out.byteOffset + offset + j * fb, fb)));
      }
      return frames;
    });
  }


  /**
   * The frame being displayed at `seconds` (its pts <= t < the next frame's
   * pts; the last frame lasts one frame duration), TorchCodec's "played at".
   * `seconds` is on the frames' `time` timeline; a RangeError outside it.
   *
   * @example
   * ```ts
   * const f = await reader.frameAt(4.2);   // f.time <= 4.2 < the next frame's time
   * ```
   */
  async frameAt(seconds: number): Promise<Frame> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new TypeError(`seconds must be a finite number; got ${describe(seconds)}`);
    const ix = await this.index();
    const t = ix.times;
    const n = t.length;
    const last = n ? t[n - 1] + (this.#info.fps > 0 ? 1 / this.#info.fps : 0) : 0;
    if (n === 0 || seconds < t[0] || seconds >= last) {
      throw new RangeError(`no frame is displayed at ${seconds} s (frames span ${n ? t[0] : 0} .. ${last} s)`);
    }
    const i = this.#playedAt(t, seconds);
    return this.#ra((nat) => this.#decodeAt(nat, i));
  }

  /**
   * Frames start, start+step, ... before end (display indices; end defaults
   * to the frame count), fetched in batches of `batch` (default 16) so memory
   * stays bounded.
   *
   * @example
   * ```ts
   * for await (const f of reader.range({ start: 0, end: 300, step: 10 })) console.log(f.index);
   * ```
   */
  async *range(options: { start?: number; end?: number; step?: number; batch?: number } = {}): AsyncGenerator<Frame> {
    if (!isObject(options)) throw new TypeError('range: options must be an object');
    checkKeys('range', options, ['start', 'end', 'step', 'batch']);
    const n = (await this.index()).frameCount;
    const start = options.start === undefined ? 0 : int('start', options.start, 0, n);
    const end = options.end === undefined ? n : int('end', options.end, 0, n);
    const step = options.step === undefined ? 1 : int('step', options.step, 1, Number.MAX_SAFE_INTEGER);
    const batch = options.batch === undefined ? 16 : int('batch', options.batch, 1, 1024);
    const all: number[] = [];
    for (let i = start; i < end; i += step) all.push(i);
    for (let j = 0; j < all.length; j += batch) yield* await this.frames(all.slice(j, j + batch));
  }

  /**
   * The frame displayed at each instant start, start + 1/fps, ... before end
   * (seconds; fps defaults to the stream's): resampling to a new frame rate
   * by "played at" semantics. A frame shown at several instants repeats.
   *
   * @example
   * ```ts
   * for await (const f of reader.rangeByTime({ start: 2, end: 8, fps: 5 })) console.log(f.time);
   * ```
   */
  async *rangeByTime(options: { start?: number; end?: number; fps?: number; batch?: number } = {}): AsyncGenerator<Frame> {
    if (!isObject(options)) throw new TypeError('rangeByTime: options must be an object');
    checkKeys('rangeByTime', options, ['start', 'end', 'fps', 'batch']);
    const ix = await this.index();
    const t = ix.times;
    const n = t.length;
    const last = n ? t[n - 1] + (this.#info.fps > 0 ? 1 / this.#info.fps : 0) : 0;
    const num = (name: string, v: unknown, def: number) => {
      if (v === undefined) return def;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a finite number`);
      return v;
    };
    const start = num('start', options.start, n ? t[0] : 0);
    const end = Math.min(num('end', options.end, last), last);
    const fps = num('fps', options.fps, this.#info.fps);
    if (!(fps > 0)) throw new RangeError(`fps must be positive; got ${fps}`);
    const batch = options.batch === undefined ? 16 : int('batch', options.batch, 1, 1024);
    const indices: number[] = [];
    for (let k = 0; ; k++) {
      const at = start + k / fps;
      if (at >= end) break;
      if (n === 0 || at < t[0]) continue;
      indices.push(this.#playedAt(t, at));
    }
    for (let j = 0; j < indices.length; j += batch) yield* await this.frames(indices.slice(j, j + batch));
  }

  /**
   * `count` evenly spaced previews, fast: each is the keyframe nearest to an
   * evenly spaced instant, so only keyframes are decoded (not exact instants).
   */
  async thumbnails(count: number): Promise<Frame[]> {
    const c = int('count', count, 1, 10000);
    const ix = await this.index();
    if (ix.frameCount === 0) {
      throw new AvcvError('NO_FRAMES', `'${this.#info.source}' has no decodable frames to take thumbnails from`, { source: this.#info.source });
    }
    let keys = Array.from(ix.keyframes);
    // approximate mode knows no keyframes: evenly spaced frames instead
    if (keys.length === 0) keys = Array.from({ length: ix.frameCount }, (_, i) => i);
    const t = ix.times;
    const span = (t[t.length - 1] ?? 0) - (t[0] ?? 0);
    const picks: number[] = [];
    for (let j = 0; j < c; j++) {
      const at = t[0] + (c === 1 ? 0 : (span * j) / (c - 1));
      let best = keys[0];
      for (const k of keys) if (Math.abs(t[k] - at) < Math.abs(t[best] - at)) best = k;
      picks.push(best);
    }
    return this.frames(picks);
  }

  #playedAt(t: Float64Array, seconds: number): number {
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {  // last i with t[i] <= seconds
      const mid = (lo + hi + 1) >> 1;
      if (t[mid] <= seconds) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Display indices and times of the keyframes. */
  async keyframes(): Promise<{
    /** The keyframes' display indices, ascending (none in seekMode 'approximate'). */
    indices: number[];
    /** Their times in seconds (frame.time). */
    times: number[];
  }> {
    const ix = await this.index();
    const indices = Array.from(ix.keyframes);
    return { indices, times: indices.map((i) => ix.times[i]) };
  }

  /** A Frame of this reader's shape over a native result's buffer. */
  #frameOf(res: NativeFrameResult): Frame {
    const i = this.#info;
    return new Frame({
      data: res.data, width: i.width, height: i.height, format: i.format, layout: i.layout, pts: res.pts,
      time: res.time, rawTime: res.rawTime, duration: res.duration, durationSeconds: res.durationSeconds, index: res.index,
      keyframe: res.keyframe, corrupt: res.corrupt, discontinuity: res.discontinuity, receivedAt: res.receivedAt,
    });
  }

  async #decodeAt(nat: NativeReader, k: number, into?: Uint8Array): Promise<Frame> {
    const view = into ?? frameMemory(this.#info.frameBytes, this.#padding);
    const res = this.#info.seekMode === 'approximate'
      ? await nat.frameAt(k, view, (await this.index()).pts[k])
      : await nat.frameAt(k, view);
    return this.#frameOf(res);
  }

  /** `for await (const frame of reader)`: read() until the end. */
  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    for (;;) {
      const f = await this.read();
      if (!f) return;
      yield f;
    }
  }

  /** Stops decoding and frees native memory. Idempotent. Pending and later reads reject with code 'CLOSED'. */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    const nat = this.#native;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#eventTimer) clearInterval(this.#eventTimer);
    this.#closePromise = (async () => {
      if (!nat) return;
      this.#finalStats = nat.stats();
      this.#native = null;
      this.#held = null;
      this.#spare = [];
      for (const closed of this.#raPending) closed();
      this.#raPending.clear();
      try {
        await nat.close();  // interrupts a random access in flight and waits for it
      } finally {
        leavePool(this);  // after the decoder's memory is freed: glibc gives it back too
      }
    })();
    return this.#closePromise;
  }

  /** `await using reader = ...`: close() when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** AV_NOPTS_VALUE (-2^63) as a double: how the index marks a missing pts or dts. */
const NOPTS = -9223372036854775808;

/**
 * Reads a saved index. Version 2 holds every packet (with edit-list
 * discards) and, for an index built by decoding, its frames; version 1 (packets
 * only, dtsValid flags) is still read.
 */
async function loadIndexFile(path: string, info: ReaderInfo): Promise<{ packets: NativeIndexPackets; frames?: NativeIndexFrames }> {
  let doc: any;  // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    doc = JSON.parse(await fs.promises.readFile(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AvcvError(e.code === 'ENOENT' ? 'ENOENT' : 'INVALID_INDEX', `cannot read the index '${path}': ${e.message}`, { source: path, cause: err });
  }
  const bad = (why: string) => new AvcvError('INVALID_INDEX', `'${path}' is not a usable avcv index: ${why}`, { source: path });
  if (!doc || doc.format !== 'avcv-index' || (doc.version !== 1 && doc.version !== 2)) throw bad('unknown format or version');
  const st = await fs.promises.stat(info.source).catch(() => null);
  if (!st || doc.source?.size !== st.size || doc.source?.mtimeMs !== st.mtimeMs) {
    throw new AvcvError('STALE_INDEX', `the index '${path}' was made for another version of '${info.source}' (size or modification time differ)`, { source: path });
  }
  if (doc.stream !== info.stream.index) throw bad(`it indexes stream ${doc.stream}, the reader uses stream ${info.stream.index}`);
  if (doc.timeBase?.num !== info.stream.timeBase.num || doc.timeBase?.den !== info.stream.timeBase.den) throw bad('time base differs');
  const f64 = (a: unknown, n: number) => {
    if (!Array.isArray(a) || a.length !== n || !a.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad('packet or frame arrays are missing, differ in length or hold non-numbers');
    return Float64Array.from(a as number[]);
  };
  const flags = (a: unknown, n: number) => {
    if (!Array.isArray(a) || a.length !== n) throw bad('packet or frame arrays are missing or differ in length');
    return Uint8Array.from(a as unknown[], (v) => (v ? 1 : 0));
  };
  const p = doc.packets;
  const n = p?.pts?.length;
  if (!Number.isInteger(n)) throw bad('no packets');
  const packets: NativeIndexPackets = { pts: f64(p.pts, n), dts: f64(p.dts, n), pos: f64(p.pos, n), key: flags(p.key, n), discard: new Uint8Array(n) };
  if (doc.version === 1) {
    // version 1 stored a pts in place of a missing dts, flagged by dtsValid
    if (p.dtsValid !== undefined) flags(p.dtsValid, n).forEach((v, i) => { if (!v) packets.dts[i] = NOPTS; });
    return { packets };
  }
  packets.discard = flags(p.discard, n);
  if (doc.frames === undefined) return { packets };
  const m = doc.frames?.packet?.length;
  if (!Number.isInteger(m)) throw bad('frames are malformed');
  return { packets, frames: { packet: f64(doc.frames.packet, m), pts: f64(doc.frames.pts, m), key: flags(doc.frames.key, m), damaged: flags(doc.frames.damaged, m) } };
}

