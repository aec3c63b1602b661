import { AvcvError } from './errors';
import { Frame } from './frame';
import type { Layout, PixelFormat } from './formats';
import { VideoReader, type VideoReaderOptions } from './reader';
import type { Device } from './device';
import { checkKeys, describe, int, isObject, oneOf } from './validate';
import { VideoWriter, containerOf, type VideoWriterOptions, type WriterStats } from './writer';

export type TransformFn = (frame: Frame) => Frame | Uint8Array | null | undefined | Promise<Frame | Uint8Array | null | undefined>;

export interface TransformProgress {
  frames: number;
  total: number | null;
  /** Frames per second so far. */
  fps: number;
  /** Seconds left, estimated (null when the total is unknown). */
  eta: number | null;
}

export interface TransformOptions extends Omit<VideoReaderOptions, 'signal'>,
  Pick<VideoWriterOptions, 'codec' | 'crf' | 'bitrate' | 'rateControl' | 'preset' | 'tune' | 'profile' | 'gop' | 'codecOptions' |
    'pixelFormat' | 'container' | 'faststart' | 'metadata'> {
  /** Shape of fn's output when it returns bytes: default the reader's output shape. */
  output?: { width?: number; height?: number; format?: PixelFormat; layout?: Layout };
  // pipeline
  /** Keep the input's audio: 'auto' (default; copy when possible), 'copy', 'encode' or 'none'. */
  audio?: 'auto' | 'copy' | 'encode' | 'none';
  /** fn calls in flight at once (default 1); output order stays exact. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransformProgress) => void;
}

export interface TransformSummary {
  input: string;
  output: string;
  framesIn: number;
  framesOut: number;
  /** Seconds of video written. */
  duration: number;
  encoder: string;
  audio: 'none' | 'copy' | 'encode';
  audioCodec: string | null;
  /** Wall time in seconds. */
  wallTime: number;
  writer: WriterStats;
}

const READER_KEYS = ['protocols', 'allowNestedInputs', 'format', 'layout', 'resize', 'crop', 'stream', 'threads', 'prefetch',
  'reuseBuffers', 'autorotate', 'quality', 'onCorrupt', 'inputFormat', 'device'];
const WRITER_KEYS = ['codec', 'crf', 'bitrate', 'rateControl', 'preset', 'tune', 'profile', 'gop', 'codecOptions', 'pixelFormat', 'container',
  'faststart', 'metadata'];
const OWN_KEYS = ['output', 'audio', 'concurrency', 'signal', 'onProgress'];

/**
 * Decodes `input`, calls `fn` on every frame (sync or async; return a Frame,
 * bytes of the output shape, or null to drop the frame), encodes the results
 * to `output` and keeps the input's audio by default. Memory stays bounded:
 * at most `concurrency` frames are in fn and the reader's prefetch ahead.
 */
export async function transform(input: string, output: string, fn: TransformFn, options: TransformOptions = {}): Promise<TransformSummary> {
  const t0 = performance.now();
  if (typeof fn !== 'function') throw new TypeError(`fn must be a function; got ${describe(fn)}`);
  if (!isObject(options)) throw new TypeError('transform: options must be an object');
  checkKeys('transform', options, [...READER_KEYS, ...WRITER_KEYS, ...OWN_KEYS]);
  const o = options as Record<string, unknown>;
  const readerOpts: Record<string, unknown> = {};
  for (const k of READER_KEYS) if (o[k] !== undefined) readerOpts[k] = o[k];
  const writerOpts: Record<string, unknown> = {};
  for (const k of WRITER_KEYS) if (o[k] !== undefined) writerOpts[k] = o[k];
  const audioMode = options.audio === undefined ? 'auto' : oneOf('audio', options.audio, ['auto', 'copy', 'encode', 'none'] as const);
  const concurrency = options.concurrency === undefined ? 1 : int('concurrency', options.concurrency, 1, 64);
  const onProgress = options.onProgress as TransformOptions['onProgress'];
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const protocols = options.protocols as string[] | undefined;
  let out: NonNullable<TransformOptions['output']> = {};
  if (options.output !== undefined) {
    if (!isObject(options.output)) throw new TypeError('output must be an object {width, height, format, layout}');
    checkKeys('output', options.output, ['width', 'height', 'format', 'layout']);
    out = options.output;
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');

  const reader = await VideoReader.open(input, { ...(readerOpts as VideoReaderOptions), signal });
  let writer: VideoWriter | null = null;
  let framesIn = 0;
  let framesOut = 0;
  let firstPts: number | null = null;
  let firstTime = 0;
  let lastPts = -Infinity;
  const info = reader.info;
  const total = info.frameCount;
  const tb = info.stream.timeBase;
  const cfr = containerOf(output, writerOpts.container) === 'avi';  // avi keeps a constant frame rate

  const openWriter = async (first: Frame | Uint8Array): Promise<VideoWriter> => {
    const isFrame = first instanceof Frame;
    const width = isFrame ? first.width : (out.width ?? info.width);
    const height = isFrame ? first.height : (out.height ?? info.height);
    const format = isFrame ? first.format : (out.format ?? info.format);
    const layout = isFrame ? first.layout : (out.layout ?? info.layout);
    const fps = info.stream.avgFrameRate.num > 0 ? info.stream.avgFrameRate : info.stream.baseFrameRate;
    const wo: VideoWriterOptions = {
      ...(writerOpts as Partial<VideoWriterOptions>),
      width, height, fps: { num: fps.num, den: fps.den }, inputFormat: format, inputLayout: layout, signal,
      ...(options.device !== undefined ? { device: options.device as Device } : {}),
      ...(cfr ? {} : { timeBase: { num: tb.num, den: tb.den } }),
      ...(audioMode !== 'none' ? { audio: { from: input, mode: audioMode, shift: -firstTime, start: firstTime, protocols } } : {}),
    };
    return VideoWriter.open(output, wo);
  };

  const pending: Array<{ frame: Frame; result: Promise<Frame | Uint8Array | null | undefined> }> = [];
  const emit = async (frame: Frame, result: Frame | Uint8Array | null | undefined) => {
    if (result === null || result === undefined) return;
    if (!(result instanceof Frame) && !(result instanceof Uint8Array)) {
      throw new TypeError(`fn must return a Frame, a Uint8Array or null; got ${describe(result)} for frame ${frame.index}`);
    }
    if (!writer) writer = await openWriter(result);
    if (cfr) await writer.write(result);
    else {
      // a repeated or backwards input timestamp is nudged forward, as the CLI does
      const pts = Math.max(frame.pts - (firstPts ?? 0), lastPts + 1);
      lastPts = pts;
      await writer.write(result, { pts });
    }
    framesOut++;
  };
  const report = () => {
    if (!onProgress) return;
    const secs = (performance.now() - t0) / 1000;
    const fps = secs > 0 ? framesIn / secs : 0;
    onProgress({ frames: framesIn, total, fps, eta: total && fps > 0 ? Math.max(0, (total - framesIn) / fps) : null });
  };

  try {
    for await (const frame of reader) {
      if (firstPts === null) {
        firstPts = frame.pts;
        firstTime = frame.time;
      }
      framesIn++;
      const result = Promise.resolve().then(() => fn(frame));
      result.catch(() => undefined);  // handled when its turn comes; never an unhandled rejection meanwhile
      pending.push({ frame, result });
      while (pending.length >= concurrency) {
        const p = pending.shift()!;
        await emit(p.frame, await p.result);
        report();
      }
    }
    while (pending.length) {
      const p = pending.shift()!;
      await emit(p.frame, await p.result);
      report();
    }
    if (!writer) throw new AvcvError('NO_FRAMES', `'${input}' gave no frames to write`, { source: input });
    const w: VideoWriter = writer;
    const stats = await w.close();
    return {
      input, output, framesIn, framesOut, duration: stats.videoDuration, encoder: stats.encoder,
      audio: stats.audioMode, audioCodec: stats.audioCodec, wallTime: (performance.now() - t0) / 1000, writer: stats,
    };
  } catch (err) {
    // settle fn calls still running, then leave no output behind
    await Promise.allSettled(pending.map((p) => p.result));
    const w = writer as VideoWriter | null;
    if (w) await w.abort();
    throw err;
  } finally {
    await reader.close();
  }
}
