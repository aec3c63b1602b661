import * as fs from 'node:fs';
import { transformChunked } from './chunked';
import { transformQueued, type TransformQueueOptions } from './queue';
import { AvcvError, fromNative } from './errors';
import { Frame } from './frame';
import type { Layout, PixelFormat } from './formats';
import { VideoReader } from './reader';
import { READER_KEYS, normalise, type VideoReaderOptions } from './reader-options';
import { progressReporter, type TransformProgress } from './progress';
import type { Device, DeviceInfo } from './device';
import { commitSync } from './files';
import { native } from './native';
import { probe } from './probe';
import { loudnessTarget, loudnormGraph, measureLoudness, type LoudnessTarget } from './loudness';
import { bool, checkKeys, describe, filterGraph, int, isObject, oneOf } from './validate';
import { VideoWriter } from './writer';
import { WRITER_KEYS, containerOf, networkScheme, pickStats, planWriter, type VideoWriterOptions, type WriterStats } from './writer-options';

export type { TransformProgress } from './progress';

/**
 * The frame function: called with each decoded frame (sync or async);
 * returns a Frame (the writer takes the first result's size and format),
 * bytes of the `output` shape, or null/undefined to drop the frame.
 */
export type TransformFn = (frame: Frame) => Frame | Uint8Array | null | undefined | Promise<Frame | Uint8Array | null | undefined>;

/**
 * Options of transform(): the reader's (format, resize, crop, ...), the
 * writer's (codec, crf, preset, ...), and the pipeline's own below.
 */
export interface TransformOptions extends Omit<VideoReaderOptions, 'signal' | 'index' | 'seekMode' | 'filter' | 'live'>,
  Pick<VideoWriterOptions, 'codec' | 'crf' | 'bitrate' | 'rateControl' | 'preset' | 'tune' | 'profile' | 'gop' | 'codecOptions' |
    'pixelFormat' | 'container' | 'faststart' | 'metadata'> {
  /** Shape of fn's output when it returns bytes: default the reader's output shape. */
  output?: {
    /** Width in pixels of the bytes fn returns (default: the reader's output width). */
    width?: number;
    /** Height in pixels of the bytes fn returns (default: the reader's output height). */
    height?: number;
    /** Pixel format of the bytes fn returns (default: the reader's format). */
    format?: PixelFormat;
    /** Layout of the bytes fn returns (default: the reader's layout). */
    layout?: Layout;
  };
  // pipeline
  /**
   * Keep the input's audio: 'auto' (default; copy when possible), 'copy',
   * 'encode' or 'none'; or `{ mode?, normalize }` to re-encode it normalised
   * to EBU R128 loudness in two passes (loudnorm: measured first, then
   * applied with the measurements), e.g.
   * `{ normalize: { integrated: -16, truePeak: -1.5, range: 11 } }`.
   */
  audio?: 'auto' | 'copy' | 'encode' | 'none' | {
    /** 'auto' (default) or 'encode'; normalised audio is always re-encoded. */
    mode?: 'auto' | 'encode';
    /** EBU R128 targets (integrated LUFS, truePeak dBTP, range LU; defaults -16, -1.5, 11): measured in a first pass, applied by loudnorm in the second. */
    normalize?: LoudnessTarget;
  };
  /**
   * A libavfilter graph for the video, as the CLI's -vf ('yadif,fps=15'):
   * with fn it runs before frames reach fn; with fn null natively. The
   * output's frame rate and time base are the graph's.
   */
  videoFilter?: string;
  /**
   * A libavfilter graph for the audio, as the CLI's -af
   * ('loudnorm=I=-16:TP=-1.5:LRA=11'): the audio is re-encoded (never
   * dropped) at the source's sample rate. Needs audio 'auto' or 'encode'.
   */
  audioFilter?: string;
  /** fn calls in flight at once (default 1; per worker with `workers`); output order stays exact. */
  concurrency?: number;
  /**
   * With fn given as a module (path or file: URL, its default export the
   * frame function): worker threads that process the video in chunks at
   * once (default: the machine's cores). The output equals the single
   * pass's: the same frames and timestamps, encoder settings and audio.
   */
  workers?: number;
  /**
   * With fn given as a module: the chunks go to a BullMQ queue on Redis
   * instead of this machine's threads, for workers on any machine that sees
   * the same files (startWorker(), `avcv worker`). See the README's
   * "Chunk-parallel processing".
   */
  queue?: TransformQueueOptions;
  /** With workers or queue: seconds per chunk, rounded up to the next keyframe (default: about 4 chunks per worker, at least 2 s). */
  chunkDuration?: number;
  /** Aborts the job: no output is left (with workers or a queue, waiting chunks are removed and running ones stop). */
  signal?: AbortSignal;
  /** Called with { frames, total, fps, eta } as frames are done (polled every 200 ms when fn is null). */
  onProgress?: (p: TransformProgress) => void;
  /**
   * Transcoding only (fn null): whether NVDEC frames stay on the GPU into
   * NVENC (scale_cuda resizing). Default: when possible. true: required (an
   * AvcvError 'NO_DEVICE' says why not); false: frames go through system memory.
   */
  gpuPassthrough?: boolean;
}

/** What transform() resolves with once the output is complete. */
export interface TransformSummary {
  /** The input, as given. */
  input: string;
  /** The output path, as given. */
  output: string;
  /** Frames decoded from the input. */
  framesIn: number;
  /** Frames written (framesIn less those fn dropped). */
  framesOut: number;
  /** Seconds of video written. */
  duration: number;
  /** The encoder used (e.g. 'libx264', 'h264_nvenc'). */
  encoder: string;
  /** What was done with the audio: 'none', 'copy' or 'encode'. */
  audio: 'none' | 'copy' | 'encode';
  /** The output's audio codec (e.g. 'aac'), or null without audio. */
  audioCodec: string | null;
  /** Wall time in seconds. */
  wallTime: number;
  /** The writer's final stats (frames, bytes, encoder, audio durations, ...). */
  writer: WriterStats;
  /**
   * How frames travelled: 'js' (through fn), 'native' (fn null: decoded and
   * encoded in C++, system memory), 'gpu-passthrough' (fn null: NVDEC ->
   * scale_cuda -> NVENC, never leaving the GPU).
   */
  path: 'js' | 'native' | 'gpu-passthrough';
  /** Where decoding ran (the reader's device choice). */
  device: DeviceInfo;
  /** Why frames left the GPU when a GPU device was asked for (fn null), else null. */
  passthroughReason: string | null;
  /** Chunked (workers): how many chunks the source was split into, and the worker threads. */
  chunks?: number;
  /** Chunked: the worker threads used (the workers option). */
  workers?: number;
  /** Chunked: where the time went. */
  timings?: {
    /** Seconds spent planning: the first frame and the frame index. */
    plan: number;
    /** Seconds running all the chunks (wall time). */
    chunks: number;
    /** Seconds joining the pieces into the output. */
    stitch: number;
  };
}

// transform() takes the reader's and the writer's options, less those it
// sets itself: the source's reader is its own (no index or seek mode), and
// the writer's size, rate, time base, input shape, audio, threads and signal
// follow the source and fn
const TRANSFORM_READER_KEYS = READER_KEYS.filter((k) => !['signal', 'index', 'seekMode', 'filter', 'live'].includes(k));
const TRANSFORM_WRITER_KEYS = WRITER_KEYS.filter((k) => !['width', 'height', 'fps', 'timeBase', 'inputFormat', 'inputLayout',
  'audio', 'threads', 'signal', 'device', 'protocols', 'realtime', 'hls', 'live'].includes(k));
const OWN_KEYS = ['output', 'audio', 'concurrency', 'signal', 'onProgress', 'gpuPassthrough', 'videoFilter', 'audioFilter'];
// options that shape the frames handed to fn: meaningless without one
const FN_ONLY_KEYS = ['format', 'layout', 'crop', 'prefetch', 'reuseBuffers', 'output', 'concurrency'];

/** The output's container: transform writes files (a live HLS output is VideoWriter's). */
export function fileContainer(output: string, opt: unknown) {
  const c = containerOf(output, opt);
  if (c === 'hls' || networkScheme(output)) throw new TypeError(`transform writes files; for a live output ('${output}') use VideoWriter`);
  return c;
}

/** The options both paths share, validated and split into reader and writer parts. */
export function splitOptions(options: unknown) {
  if (!isObject(options)) throw new TypeError('transform: options must be an object');
  checkKeys('transform', options, [...TRANSFORM_READER_KEYS, ...TRANSFORM_WRITER_KEYS, ...OWN_KEYS]);
  const o = options as TransformOptions & Record<string, unknown>;
  const readerOpts: Record<string, unknown> = {};
  for (const k of TRANSFORM_READER_KEYS) if (o[k] !== undefined) readerOpts[k] = o[k];
  const writerOpts: Record<string, unknown> = {};
  for (const k of TRANSFORM_WRITER_KEYS) if (o[k] !== undefined) writerOpts[k] = o[k];
  let audioMode: 'auto' | 'copy' | 'encode' | 'none' = 'auto';
  let normalize: Required<LoudnessTarget> | null = null;
  if (isObject(o.audio)) {
    checkKeys('audio', o.audio, ['mode', 'normalize']);
    audioMode = o.audio.mode === undefined ? 'auto' : oneOf('audio.mode', o.audio.mode, ['auto', 'encode'] as const);
    if (o.audio.normalize !== undefined) normalize = loudnessTarget('audio.normalize', o.audio.normalize);
  } else if (o.audio !== undefined) {
    audioMode = oneOf('audio', o.audio, ['auto', 'copy', 'encode', 'none'] as const);
  }
  const onProgress = o.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.videoFilter !== undefined) readerOpts.filter = filterGraph('videoFilter', o.videoFilter);
  const audioFilter = o.audioFilter === undefined ? '' : filterGraph('audioFilter', o.audioFilter);
  if (audioFilter && (audioMode === 'copy' || audioMode === 'none')) {
    throw new TypeError(`audioFilter needs the audio re-encoded: use audio 'auto' or 'encode', not '${audioMode}'`);
  }
  // the audio's own options: its graph, and the nested-input permission the video's source has
  const audioExtra: { filter?: string; allowNestedInputs?: boolean } =
    audioFilter ? { filter: audioFilter, ...(o.allowNestedInputs !== undefined ? { allowNestedInputs: o.allowNestedInputs } : {}) } : {};
  return { o, readerOpts, writerOpts, audioMode, audioExtra, normalize, onProgress, signal };
}

/**
 * audio.normalize: the first pass measures the source's audio (after
 * audioFilter); the second pass is loudnorm with those measurements, after
 * audioFilter in the same graph.
 */
export async function addNormalization(input: string, split: ReturnType<typeof splitOptions>): Promise<void> {
  if (!split.normalize) return;
  const o = split.o;
  const m = await measureLoudness(input, split.normalize, {
    ...(split.audioExtra.filter ? { filter: split.audioExtra.filter } : {}),
    ...(o.protocols !== undefined ? { protocols: o.protocols as string[] } : {}),
    ...(o.allowNestedInputs !== undefined ? { allowNestedInputs: o.allowNestedInputs as boolean } : {}),
    ...(split.signal ? { signal: split.signal } : {}),
  });
  const second = loudnormGraph(split.normalize, m);
  split.audioExtra.filter = split.audioExtra.filter ? `${split.audioExtra.filter},${second}` : second;
  if (o.allowNestedInputs !== undefined) split.audioExtra.allowNestedInputs = o.allowNestedInputs as boolean;
}

/**
 * Decodes `input`, calls `fn` on every frame (sync or async; return a Frame,
 * bytes of the output shape, or null to drop the frame), encodes the results
 * to `output` and keeps the input's audio by default. Memory stays bounded:
 * at most `concurrency` frames are in fn and the reader's prefetch ahead.
 *
 * `fn` null transcodes without frames reaching JS: decode, resize and encode
 * run natively (YUV to YUV, no RGB round trip), and with device 'cuda' and
 * an NVENC encoder the frames stay on the GPU end to end (`gpuPassthrough`).
 *
 * @example
 * ```ts
 * import { transform, cv } from 'avcv';
 * // a JS edit on every frame, the audio kept
 * const s = await transform('in.mp4', 'out.mp4', (f) => cv.gaussianBlurSync(f, { ksize: 5 }), {
 *   crf: 20, onProgress: (p) => console.log(p.frames, p.total),
 * });
 * // native transcoding (no frame in JS), resized, the audio kept
 * await transform('in.mp4', 'small.mp4', null, { codec: 'h264', resize: { width: 1280 } });
 * ```
 */
export async function transform(input: string, output: string, fn: TransformFn | string | URL | null, options: TransformOptions = {}): Promise<TransformSummary> {
  const t0 = performance.now();
  if (typeof fn === 'string' || fn instanceof URL) {
    return isObject(options) && options.queue !== undefined ? transformQueued(input, output, fn, options, t0) : transformChunked(input, output, fn, options, t0);
  }
  if (isObject(options) && (options.workers !== undefined || options.chunkDuration !== undefined || options.queue !== undefined)) {
    throw new TypeError('workers: a function cannot cross into a worker thread; pass the path of a module whose default export is the frame function');
  }
  if (fn === null) return transcodeOnly(input, output, options, t0);
  if (typeof fn !== 'function') throw new TypeError(`fn must be a function, a module path or URL, or null; got ${describe(fn)}`);
  if (isObject(options) && options.gpuPassthrough !== undefined) {
    throw new TypeError('gpuPassthrough applies to transcoding only (fn null): frames handed to fn leave the GPU');
  }
  const split = splitOptions(options);
  const { readerOpts, writerOpts, audioMode, audioExtra, onProgress, signal } = split;
  await addNormalization(input, split);
  const concurrency = options.concurrency === undefined ? 1 : int('concurrency', options.concurrency, 1, 64);
  const protocols = options.protocols as string[] | undefined;
  let out: NonNullable<TransformOptions['output']> = {};
  if (options.output !== undefined) {
    if (!isObject(options.output)) throw new TypeError('output must be an object {width, height, format, layout}');
    checkKeys('output', options.output, ['width', 'height', 'format', 'layout']);
    out = options.output;
  }

  const reader = await VideoReader.open(input, { ...(readerOpts as VideoReaderOptions), signal });
  let writer: VideoWriter | null = null;
  let framesIn = 0;
  let framesOut = 0;
  let firstPts: number | null = null;
  let firstTime = 0;
  let lastPts = -Infinity;
  const info = reader.info;
  const total = info.frameCount;
  const tb = info.filter?.timeBase ?? info.stream.timeBase;  // a videoFilter's frames carry its time base
  const cfr = fileContainer(output, writerOpts.container) === 'avi';  // avi keeps a constant frame rate

  const openWriter = async (first: Frame | Uint8Array): Promise<VideoWriter> => {
    const isFrame = first instanceof Frame;
    const width = isFrame ? first.width : (out.width ?? info.width);
    const height = isFrame ? first.height : (out.height ?? info.height);
    const format = isFrame ? first.format : (out.format ?? info.format);
    const layout = isFrame ? first.layout : (out.layout ?? info.layout);
    const fps = info.filter && info.filter.frameRate.num > 0 ? info.filter.frameRate
      : info.stream.avgFrameRate.num > 0 ? info.stream.avgFrameRate : info.stream.baseFrameRate;
    const wo: VideoWriterOptions = {
      ...(writerOpts as Partial<VideoWriterOptions>),
      width, height, fps: { num: fps.num, den: fps.den }, inputFormat: format, inputLayout: layout, signal,
      ...(options.device !== undefined ? { device: options.device as Device } : {}),
      ...(cfr ? {} : { timeBase: { num: tb.num, den: tb.den } }),
      ...(audioMode !== 'none' ? { audio: { from: input, mode: audioMode, shift: -firstTime, start: firstTime, protocols, ...audioExtra } } : {}),
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
  const progress = progressReporter(onProgress, () => total, t0);
  const report = () => progress(framesIn);

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
      path: 'js', device: info.device, passthroughReason: null,
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

/** transform(input, output, null, options): the native loop (see transform()). */
async function transcodeOnly(input: string, output: string, options: TransformOptions, t0: number): Promise<TransformSummary> {
  const caller = new Error();
  const split = splitOptions(options);
  const { o, readerOpts, writerOpts, audioMode, audioExtra, onProgress, signal } = split;
  for (const k of FN_ONLY_KEYS) {
    if (o[k] !== undefined) throw new TypeError(`transform: ${k} shapes the frames handed to fn; with fn null no frame reaches JS`);
  }
  if (o.autorotate === true) throw new TypeError('transform: autorotate needs fn (transcoding keeps the frames as stored)');
  if (typeof output !== 'string' || !output) throw new TypeError(`output must be a file path; got ${describe(output)}`);
  delete readerOpts.autorotate;  // false: the frames as stored, which is what transcoding keeps
  const passthrough = options.gpuPassthrough === undefined ? -1 : bool('gpuPassthrough', options.gpuPassthrough) ? 1 : 0;
  // 4:2:0 output: resize sizes are checked even, a missing side kept even
  const n = normalise(input, { ...readerOpts, format: 'yuv420p' });
  const source = n.native.source;
  const container = fileContainer(output, writerOpts.container);
  await addNormalization(input, split);
  const plan = planWriter(output, {
    ...(writerOpts as Partial<VideoWriterOptions>),
    ...(options.device !== undefined ? { device: options.device as Device } : {}),
    ...(audioMode !== 'none' ? {
      audio: { from: source, mode: audioMode, protocols: n.native.protocols, ...(n.inputFormat ? { inputFormat: n.inputFormat } : {}), ...audioExtra },
    } : {}),
  }, true);
  const aborted = () => new AvcvError('ABORTED', 'the transform was aborted', { source, cause: signal?.reason });
  if (signal?.aborted) throw aborted();

  let total: number | null = null;
  if (onProgress && !n.inputFormat) {
    try {
      const p = await probe(source, { protocols: n.native.protocols, allowNestedInputs: n.native.allowNestedInputs });
      const v = n.native.stream >= 0 ? p.streams[n.native.stream] : p.streams.find((s) => s.type === 'video');
      total = (v && 'frameCount' in v ? (v.frameCount as number | null) : null) ?? null;
    } catch {
      total = null;  // the transcode itself reports what is wrong with the source
    }
  }
  const job = native().transcode(n.native, plan.native, { passthrough: passthrough as -1 | 0 | 1, cfr: container === 'avi' });
  const onAbort = () => job.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const report = progressReporter(onProgress, () => total, t0);
  let last = -1;
  const timer = onProgress ? setInterval(() => {
    const f = job.progress();
    if (f !== last) {
      last = f;
      report(f);
    }
  }, 200) : null;
  let r;
  try {
    r = await job.promise;
  } catch (err) {
    fs.rmSync(plan.temp, { force: true });
    if (signal?.aborted) throw aborted();
    throw fromNative(err, source, caller);
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  commitSync(plan.temp, plan.target, 'move the finished file onto');
  if (r.framesIn !== last) report(r.framesIn);
  const stats = pickStats(r.writer);
  return {
    input, output, framesIn: r.framesIn, framesOut: stats.frames, duration: stats.videoDuration, encoder: stats.encoder,
    audio: stats.audioMode, audioCodec: stats.audioCodec, wallTime: (performance.now() - t0) / 1000, writer: stats,
    path: r.path, device: r.device, passthroughReason: r.passthroughReason,
  };
}
