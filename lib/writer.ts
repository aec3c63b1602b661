import * as fs from 'node:fs';
import type { NativeWriter, NativeWriterStats } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { Frame, holdMemory } from './frame';
import { byteLength, type Layout, type PixelFormat } from './formats';
import { commitSync } from './files';
import { native } from './native';
import type { DeviceInfo } from './device';
import { checkKeys, describe, int, isObject } from './validate';
import {
  pickStats, planWriter, type Container, type RationalInput, type VideoWriterOptions, type WriterStats,
} from './writer-options';

export type { AudioOptions, Container, RationalInput, VideoWriterOptions, WriterLiveOptions, WriterStats } from './writer-options';

/** What {@link VideoWriter.info} holds: the output's settings as opened. */
export interface WriterInfo {
  /** The target: an absolute file path, or the network URL. */
  target: string;
  /** The container written. */
  container: Container;
  /** Frame width in pixels. */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frames per second as a rational (29.97 is 30000/1001). */
  fps: RationalInput;
  /** The unit of write()'s `pts` (default 1/fps). */
  timeBase: RationalInput;
  /** The encoder actually used (e.g. 'libx264' for codec 'h264'). */
  encoder: string;
  /** The encoded pixel format (e.g. 'yuv420p'; 'yuvj420p' for MJPEG). */
  pixelFormat: string;
  /** The pixel format write() takes. */
  inputFormat: PixelFormat;
  /** The layout write() takes. */
  inputLayout: Layout;
  /** Bytes of one frame write() takes (a Uint8Array must have exactly this many). */
  frameBytes: number;
  /** Where encoding runs: { type: 'cpu' | 'cuda', index?, fallbackReason? }. */
  device: DeviceInfo;
}


/**
 * Encodes frames written from JS. Output is atomic: frames go to a temp file
 * beside the target, renamed onto it by a successful close(); an error, an
 * abort, or a writer disposed without close() leaves no file and an existing
 * target untouched.
 *
 * @example
 * ```ts
 * const writer = await VideoWriter.open('out.mp4', { width: 1280, height: 720, fps: 30, codec: 'h264', crf: 20,
 *   audio: { from: 'in.mp4' } });
 * for await (const frame of reader) await writer.write(frame);   // bgr24 hwc frames of 1280x720
 * const stats = await writer.close();                            // flush, trailer, rename onto out.mp4
 * ```
 */
export class VideoWriter {
  #native: NativeWriter | null;
  #info: WriterInfo;
  #realtime = false;
  #paceStart: { wall: number; pts: number } | null = null;
  #temp: string | null;  // null for a network target (nothing to rename or remove)
  #count = 0;
  #lastPts = -Infinity;
  #state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  #closePromise: Promise<WriterStats> | null = null;
  #discardPromise: Promise<void> | null = null;
  #failure: Error | null = null;  // the error that ended the output, rethrown by later calls
  #finalStats: WriterStats | null = null;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #ptsPerFrame: number;

  private constructor(nat: NativeWriter, info: WriterInfo, temp: string | null, signal?: AbortSignal) {
    this.#native = nat;
    this.#info = info;
    this.#temp = temp;
    this.#signal = signal;
    // timeBase units per frame at the nominal fps
    this.#ptsPerFrame = (info.fps.den * info.timeBase.den) / (info.fps.num * info.timeBase.num);
    if (signal) {
      this.#onAbort = () => void this.abort();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /**
   * Opens an encoder and the output (a temp file beside `target`, or a
   * network target such as rtmp://, which `protocols` must allow). Bad
   * options fail before anything is written: TypeError/RangeError, AvcvError
   * 'UNSUPPORTED_CODEC' for an unknown codec, 'NO_DEVICE' for device 'cuda'
   * without a usable NVENC.
   *
   * @example
   * ```ts
   * await using writer = await VideoWriter.open('out.webm', { width: 640, height: 360, fps: 25, inputFormat: 'rgb24' });
   * await writer.write(new Uint8Array(640 * 360 * 3));   // one black frame
   * await writer.close();                                // without close(), the dispose aborts: no file
   * ```
   */
  static async open(target: string, options: VideoWriterOptions): Promise<VideoWriter> {
    const caller = new Error();
    const plan = planWriter(target, options, false);
    let nat: NativeWriter;
    try {
      nat = await native().openWriter(plan.native);
    } catch (err) {
      if (!plan.network) fs.rmSync(plan.temp, { force: true });
      throw fromNative(err, target, caller);
    }
    const stats = nat.stats();
    const { width, height, fps, inputFormat, inputLayout } = plan.native;
    const timeBase = plan.native.timeBase;
    const info: WriterInfo = {
      target: plan.target, container: plan.container, width, height, fps, timeBase, encoder: stats.encoder,
      pixelFormat: stats.pixelFormat, inputFormat: inputFormat as PixelFormat, inputLayout: inputLayout as Layout,
      frameBytes: byteLength(inputFormat as PixelFormat, inputLayout as Layout, width, height), device: plan.device,
    };
    const w = new VideoWriter(nat, info, plan.network ? null : plan.temp, options.signal);
    w.#realtime = plan.realtime;
    return w;
  }

  /** realtime: waits until the frame's time has come, counted from the first frame (the CLI's -re). */
  async #pace(pts: number): Promise<void> {
    const tb = this.#info.timeBase;
    const now = performance.now();
    if (this.#paceStart === null) {
      this.#paceStart = { wall: now, pts };
      return;
    }
    const due = this.#paceStart.wall + (((pts - this.#paceStart.pts) * tb.num) / tb.den) * 1000;
    if (due > now) await new Promise((r) => setTimeout(r, due - now));
  }

  /** The output's settings: target, container, size, rates, encoder, input shape, device. */
  get info(): WriterInfo {
    return this.#info;
  }

  /** Counters so far (after close(), the final ones): frames, bytes, audio, and a network target's connection. */
  get stats(): WriterStats {
    const s = this.#native ? this.#native.stats() : null;
    return s ? pickStats(s) : (this.#finalStats ?? { frames: this.#count, bytes: 0, encoder: this.#info.encoder, pixelFormat: this.#info.pixelFormat, audioMode: 'none', audioCodec: null, videoDuration: 0, audioDuration: 0, dropped: 0, reconnects: 0, reconnectAttempts: 0, connected: false, lastError: null });
  }

  /**
   * Queues one frame. Resolves once the frame has been taken out of your
   * buffer (you may reuse it then); encoding continues in the background.
   * `pts` is in info.timeBase units, or give `time` in seconds; by default
   * frames are spaced at the nominal fps. Timestamps must increase
   * (RangeError). A Frame must have the writer's size, inputFormat and
   * inputLayout; a Uint8Array exactly info.frameBytes bytes.
   *
   * @example
   * ```ts
   * await writer.write(frame);                   // at the next 1/fps step
   * await writer.write(frame, { time: 2.5 });    // shown at 2.5 s
   * ```
   */
  async write(frame: Frame | Uint8Array, options: { pts?: number; time?: number } = {}): Promise<void> {
    const nat = this.#native;
    if (!nat || this.#state !== 'open') {
      if (this.#discardPromise) await this.#discardPromise.catch(() => undefined);
      if (this.#failure) throw this.#failure;
      throw new AvcvError(this.#state === 'aborted' ? 'ABORTED' : 'CLOSED', `the writer is ${this.#state === 'aborted' ? 'aborted' : 'closed'}`, { source: this.#info.target });
    }
    let data: Uint8Array;
    const i = this.#info;
    if (frame instanceof Frame) {
      if (frame.format !== i.inputFormat || frame.layout !== i.inputLayout) {
        throw new TypeError(`frame is ${frame.format}/${frame.layout} but the writer takes ${i.inputFormat}/${i.inputLayout}; convert it explicitly with frame.to('${i.inputFormat}')`);
      }
      if (frame.width !== i.width || frame.height !== i.height) {
        throw new RangeError(`frame is ${frame.width}x${frame.height} but the writer takes ${i.width}x${i.height}`);
      }
      data = frame.data;
    } else if (frame instanceof Uint8Array) {
      if (frame.byteLength !== i.frameBytes) {
        throw new RangeError(`frame data has ${frame.byteLength} bytes; a ${i.width}x${i.height} ${i.inputFormat} frame has ${i.frameBytes}`);
      }
      data = frame;
    } else {
      throw new TypeError(`write() takes a Frame or a Uint8Array; got ${describe(frame)}`);
    }
    if (!isObject(options)) throw new TypeError('options must be an object');
    checkKeys('write', options, ['pts', 'time']);
    let pts: number;
    if (options.pts !== undefined) pts = int('pts', options.pts, -(2 ** 52), 2 ** 52);
    else if (options.time !== undefined) {
      if (typeof options.time !== 'number' || !Number.isFinite(options.time)) throw new TypeError('time must be a finite number of seconds');
      pts = Math.round((options.time * i.timeBase.den) / i.timeBase.num);
    } else pts = Math.round(this.#count * this.#ptsPerFrame);
    if (pts <= this.#lastPts) throw new RangeError(`pts must increase: ${pts} after ${this.#lastPts}`);
    this.#lastPts = pts;
    this.#count++;
    const done = holdMemory(data);  // a release() of the frame meanwhile waits for this write
    try {
      if (this.#realtime) await this.#pace(pts);
      await nat.write(data, pts);
    } catch (err) {
      const e = fromNative(err, i.target);
      // a failed encode or write (e.g. a full disk) ends the output: remove it now
      if (!(e instanceof RangeError) && !(e instanceof TypeError) && this.#state === 'open') {
        this.#failure = e;
        await this.#discard(nat);
      }
      throw e;
    } finally {
      done();
    }
  }

  /**
   * Flushes the encoder, writes the trailer and renames the file onto the
   * target. Resolves with the final stats; idempotent.
   *
   * @example
   * ```ts
   * const { frames, bytes, encoder, audioMode } = await writer.close();
   * ```
   */
  close(): Promise<WriterStats> {
    if (this.#closePromise) return this.#closePromise;
    this.#closePromise = (async () => {
      const nat = this.#native;
      if (!nat || this.#state === 'aborted') {
        if (this.#discardPromise) await this.#discardPromise.catch(() => undefined);  // cleanup done first
        throw this.#failure ?? new AvcvError('ABORTED', 'the writer was aborted', { source: this.#info.target });
      }
      this.#state = 'closing';
      if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
      let stats: NativeWriterStats;
      try {
        stats = await nat.finish();
      } catch (err) {
        await this.#discard(nat);
        throw fromNative(err, this.#info.target);
      }
      try {
        if (this.#temp !== null) commitSync(this.#temp, this.#info.target, 'move the finished file onto');
      } catch (err) {
        this.#native = null;
        this.#state = 'aborted';
        throw err;
      }
      this.#finalStats = pickStats(stats);
      this.#native = null;
      this.#state = 'closed';
      return this.#finalStats;
    })();
    return this.#closePromise;
  }

  /** Stops without finishing: the temp file is removed, the target untouched. Idempotent. */
  async abort(): Promise<void> {
    if (this.#discardPromise) return this.#discardPromise;
    const nat = this.#native;
    if (!nat || this.#state === 'closed') return;
    await this.#discard(nat);
  }

  /** Stops the native writer and removes the temp file; every caller awaits the same cleanup. */
  #discard(nat: NativeWriter): Promise<void> {
    if (this.#discardPromise) return this.#discardPromise;
    this.#state = 'aborted';
    this.#native = null;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#discardPromise = (async () => {
      try {
        await nat.abort();
      } finally {
        if (this.#temp !== null) fs.rmSync(this.#temp, { force: true });
      }
    })();
    return this.#discardPromise;
  }

  /**
   * `await using writer = ...`: a writer disposed without close() is aborted
   * (no half-written file); call close() to commit the output.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'open') await this.abort();
    else if (this.#closePromise) await this.#closePromise.catch(() => undefined);
  }
}

