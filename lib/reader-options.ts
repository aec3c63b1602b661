// The reader's options: the public type, the accepted keys, and their
// validation into a complete native options object (every field set).
// VideoReader and transform() both use it.
import type { NativeReaderOptions } from '../types/native';
import { checkLayout } from './frame';
import { INTERPOLATION_NAMES, LAYOUTS, PIXEL_FORMATS, defaultLayout, type Interpolation, type Layout, type PixelFormat } from './formats';
import { checkDevice, type Device } from './device';
import { resolveInput, type InputOptions } from './source';
import { bool, checkKeys, describe, filterGraph, int, isObject, oneOf } from './validate';

/**
 * Options of {@link VideoReader.open}: the output's format, layout and size,
 * the decoder's settings, random access and live sources. Every option is
 * optional; unknown keys are TypeErrors.
 */
export interface VideoReaderOptions extends InputOptions {
  /** Output pixel format. Default 'bgr24' (OpenCV's order). */
  format?: PixelFormat;
  /** 'hwc' (default) or 'chw' (one plane per channel, written in the same pass). YUV formats are 'planar'. */
  layout?: Layout;
  /** Output size; give one side to keep the aspect ratio. Default interpolation 'bicubic' (the ffmpeg CLI's). */
  resize?: {
    /** Output width in pixels (1..16384); omitted: from the height, keeping the aspect ratio. */
    width?: number;
    /** Output height in pixels (1..16384); omitted: from the width, keeping the aspect ratio. */
    height?: number;
    /** The scaler's interpolation (default 'bicubic'). */
    interpolation?: Interpolation;
  };
  /**
   * Crop rectangle in source (displayed) pixels, applied before resize in the
   * same pass. For subsampled sources x and y are rounded down to the chroma
   * grid, as the CLI's crop filter does (info.crop gives what was applied).
   */
  crop?: {
    /** Left edge in pixels. */
    x: number;
    /** Top edge in pixels. */
    y: number;
    /** Width in pixels. */
    width: number;
    /** Height in pixels. */
    height: number;
  };
  /** Video stream index (default: libav's best video stream). */
  stream?: number;
  /**
   * Codec threads, 0..64 (default 0 = auto). On damaged input frame threads
   * conceal errors differently from run to run; 1 makes every run identical
   * (and random access exact on damaged frames).
   */
  threads?: number;
  /** Frames decoded ahead of the consumer (1..64, default 3). Memory is bounded by this. */
  prefetch?: number;
  /** Aborts the open (probing included) and a pending read promptly (AvcvError 'ABORTED') and closes the reader. */
  signal?: AbortSignal;
  /**
   * Recycle frame buffers: zero allocations per frame, but a frame's data is
   * only valid until the next read. For loops that do not keep frames.
   */
  reuseBuffers?: boolean;
  /** Apply the display-matrix rotation (off by default; info.stream.rotation reports it). */
  autorotate?: boolean;
  /** 'fast' (default, the CLI's default swscale path) or 'accurate' (accurate_rnd + full_chroma_int; much slower). */
  quality?: 'fast' | 'accurate';
  /** What a corrupt packet/frame or a truncated file does: 'skip' (default; counted in stats) or 'error'. */
  onCorrupt?: 'skip' | 'error';
  /**
   * A libav input format or device to use instead of probing (e.g. 'lavfi'
   * with a filter graph as source, as `ffmpeg -f lavfi -i ...`). Such inputs
   * are not files: never pass an untrusted source with it.
   */
  inputFormat?: string;
  /**
   * A frame index saved by `reader.saveIndex(path)`: random access then needs
   * no packet scan. Refused (AvcvError 'STALE_INDEX') when the source changed.
   */
  index?: string;
  /**
   * Random access: 'exact' (default) builds a frame index by scanning packets
   * once; 'approximate' trusts the container's frame count and a constant
   * frame rate (no scan; frame i is the first frame at or after
   * start + i / fps). info.seekMode says which.
   */
  seekMode?: 'exact' | 'approximate';
  /**
   * 'cpu' (default), 'cuda' / 'cuda:N' (NVDEC; an AvcvError 'NO_DEVICE' when
   * it cannot), or 'auto' (NVDEC when usable, else the CPU; info.device says
   * which and why).
   */
  device?: Device;
  /**
   * A libavfilter graph applied between decoding and avcv's conversion, as
   * the ffmpeg CLI's `-vf` (e.g. 'yadif,fps=15,eq=contrast=1.2'). The
   * output size, frame rate and time base are the graph's (info.filter);
   * frames carry pts in the graph's time base. Without resize/crop the graph
   * ends in the output format, as the CLI's `-pix_fmt` does; resize/crop
   * apply to the graph's output in the one conversion pass. Filters that open
   * files or URLs (movie, subtitles, drawtext's fontfile, ...) need
   * allowNestedInputs. Random access works when every filter is per-frame
   * (hflip, crop, scale, eq, ...); temporal ones (fps, yadif, setpts) are
   * refused with 'FILTER_NOT_SEEKABLE'.
   */
  filter?: string;
  /**
   * A live source (rtmp://, rtsp://, srt://, udp://, http(s):// streams):
   * timeouts, a fast start and reconnects. See the README's "Live sources".
   */
  live?: LiveOptions;
}

/** A live source's timeouts, start-up probing, reconnects and queue policy (VideoReaderOptions.live). */
export interface LiveOptions {
  /** Seconds to connect and read the stream's parameters; then AvcvError 'TIMEOUT'. Default 10. */
  openTimeout?: number;
  /** Seconds without a packet that count as a stall (then a reconnect, or 'DISCONNECTED'). Default 5. */
  stallTimeout?: number;
  /** Seconds of the stream probed for its parameters at open (default 0.1; files use libav's 5). */
  probeDuration?: number;
  /** RTSP transport (default 'tcp'). */
  transport?: 'tcp' | 'udp';
  /** Reopen the source after a stall or an end: attempts (Infinity: without limit), backoff delay and its cap in seconds. Default none. */
  reconnect?: {
    /** Tries before giving up with 'DISCONNECTED' (default Infinity). */
    attempts?: number;
    /** Seconds before the first try, doubled after each failure (default 1). */
    delay?: number;
    /** The longest wait between tries, in seconds (default 30, or delay if longer). */
    maxDelay?: number;
  } | false;
  /**
   * A consumer slower than the source: 'block' (default: decoding waits,
   * nothing is lost), 'dropOldest' (the oldest frame not yet taken makes
   * room) or 'latest' (only the newest frame waits: latency stays flat).
   * `prefetch` is the queue's size; drops are counted in stats.dropped.
   */
  queue?: 'block' | 'dropOldest' | 'latest';
  /**
   * Wait for the source to connect (a camera or encoder pushing to avcv):
   * rtmp://127.0.0.1:1935/live/key listens for a publisher, srt:// takes
   * callers. openTimeout bounds the wait. Default false.
   */
  listen?: boolean;
  /**
   * Called on what happens to the connection: { type: 'stall' } (no packet
   * for stallTimeout), 'reconnecting' ({ attempt }), 'reconnected', 'drop'
   * ({ count }: frames the queue policy dropped since the last event), each
   * with the reader's stats.lastError as `reason`. Observed every 250 ms
   * while the reader is open; a throwing callback is ignored.
   */
  onEvent?: (e: LiveEvent) => void;
}

/** What LiveOptions.onEvent receives. */
export interface LiveEvent {
  /** 'stall' (no packet for stallTimeout), 'reconnecting' (an attempt starts), 'reconnected', or 'drop' (the queue policy dropped frames). */
  type: 'stall' | 'reconnecting' | 'reconnected' | 'drop';
  /** 'reconnecting': which attempt this is, from 1. */
  attempt?: number;
  /** 'drop': frames dropped since the last event. */
  count?: number;
  /** The reader's stats.lastError: libav's message for what went wrong, or null. */
  reason: string | null;
}

export const READER_KEYS = ['protocols', 'allowNestedInputs', 'format', 'layout', 'resize', 'crop', 'stream', 'threads',
  'prefetch', 'signal', 'reuseBuffers', 'autorotate', 'quality', 'onCorrupt', 'inputFormat', 'index', 'seekMode', 'device', 'filter', 'live'] as const;

export interface Normalised {
  /** live.onEvent (JS only: not sent to the addon) */
  onEvent?: (e: LiveEvent) => void;
  seekMode: 'exact' | 'approximate';
  native: NativeReaderOptions;
  indexPath?: string;
  prefetch: number;
  reuse: boolean;
  signal?: AbortSignal;
  inputFormat?: string;
}

/** Internal: validated reader options (transform() reuses them for transcoding). */
export function normalise(source: unknown, options: unknown): Normalised {
  if (!isObject(options)) throw new TypeError('VideoReader.open: options must be an object');
  checkKeys('VideoReader.open', options, READER_KEYS);
  const input = resolveInput(source, { protocols: options.protocols, allowNestedInputs: options.allowNestedInputs }, 'VideoReader.open', ['protocols', 'allowNestedInputs']);
  const format = options.format === undefined ? 'bgr24' : oneOf('format', options.format, PIXEL_FORMATS);
  const layout = options.layout === undefined ? defaultLayout(format) : oneOf('layout', options.layout, LAYOUTS);
  checkLayout(format, layout, 2, 2);
  let width = 0;
  let height = 0;
  let interpolation: Interpolation = 'bicubic';
  if (options.resize !== undefined) {
    const r = options.resize;
    if (!isObject(r)) throw new TypeError(`resize must be an object {width, height, interpolation}; got ${describe(r)}`);
    checkKeys('resize', r, ['width', 'height', 'interpolation']);
    if (r.width === undefined && r.height === undefined) throw new TypeError('resize needs width, height or both');
    if (r.width !== undefined) width = int('resize.width', r.width, 1, 16384);
    if (r.height !== undefined) height = int('resize.height', r.height, 1, 16384);
    if (r.interpolation !== undefined) interpolation = oneOf('resize.interpolation', r.interpolation, INTERPOLATION_NAMES);
    if ((format === 'yuv420p' || format === 'nv12') && ((width && width % 2) || (height && height % 2))) {
      throw new RangeError(`resize: ${format} needs an even width and height; got ${width || '?'}x${height || '?'}`);
    }
  }
  let crop: NativeReaderOptions['crop'] = null;
  if (options.crop !== undefined) {
    const c = options.crop;
    if (!isObject(c)) throw new TypeError(`crop must be an object {x, y, width, height}; got ${describe(c)}`);
    checkKeys('crop', c, ['x', 'y', 'width', 'height']);
    crop = {
      x: int('crop.x', c.x, 0, 16383), y: int('crop.y', c.y, 0, 16383),
      width: int('crop.width', c.width, 1, 16384), height: int('crop.height', c.height, 1, 16384),
    };
  }
  const prefetch = options.prefetch === undefined ? 3 : int('prefetch', options.prefetch, 1, 64);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  const inputFormat = options.inputFormat === undefined ? undefined : String(options.inputFormat);
  if (options.inputFormat !== undefined && (typeof options.inputFormat !== 'string' || !/^[a-z0-9_,]+$/.test(options.inputFormat))) {
    throw new TypeError(`inputFormat must be a libav format name; got ${describe(options.inputFormat)}`);
  }
  if (options.index !== undefined && (typeof options.index !== 'string' || !options.index)) {
    throw new TypeError(`index must be the path of a saved index; got ${describe(options.index)}`);
  }
  const filter = options.filter === undefined ? '' : filterGraph('filter', options.filter);
  const seekMode = options.seekMode === undefined ? 'exact' : oneOf('seekMode', options.seekMode, ['exact', 'approximate'] as const);
  if (seekMode === 'approximate' && options.index !== undefined) throw new TypeError('index applies to seekMode exact only');
  const onEvent = isObject(options.live) && typeof options.live.onEvent === 'function' ? options.live.onEvent as (e: LiveEvent) => void : undefined;
  return {
    ...(onEvent ? { onEvent } : {}),
    seekMode,
    indexPath: options.index as string | undefined,
    prefetch,
    reuse: options.reuseBuffers === undefined ? false : bool('reuseBuffers', options.reuseBuffers),
    signal,
    inputFormat,
    native: {
      ...input,
      stream: options.stream === undefined ? -1 : int('stream', options.stream, 0, 65535),
      threads: options.threads === undefined ? 0 : int('threads', options.threads, 0, 64),
      format, layout, width, height, crop, interpolation,
      quality: options.quality === undefined ? 'fast' : oneOf('quality', options.quality, ['fast', 'accurate'] as const),
      autorotate: options.autorotate === undefined ? false : bool('autorotate', options.autorotate),
      onCorrupt: options.onCorrupt === undefined ? 'skip' : oneOf('onCorrupt', options.onCorrupt, ['skip', 'error'] as const),
      device: checkDevice(options.device),
      inputFormat: inputFormat ?? '',
      filter,
      live: options.live === undefined ? null : liveOptions(options.live),
    },
  };
}



function seconds(name: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number of seconds; got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be within ${min}..${max} s; got ${v}`);
  return v;
}

/** live: validated into the complete native object. */
export function liveOptions(v: unknown): NonNullable<NativeReaderOptions['live']> {
  if (!isObject(v)) throw new TypeError(`live must be an object {openTimeout, stallTimeout, reconnect, ...}; got ${describe(v)}`);
  checkKeys('live', v, ['openTimeout', 'stallTimeout', 'probeDuration', 'transport', 'reconnect', 'queue', 'listen', 'onEvent']);
  if (v.onEvent !== undefined && typeof v.onEvent !== 'function') throw new TypeError(`live.onEvent must be a function; got ${describe(v.onEvent)}`);
  let attempts = 0;
  let delay = 1;
  let maxDelay = 30;
  if (v.reconnect !== undefined && v.reconnect !== false) {
    const r = v.reconnect;
    if (!isObject(r)) throw new TypeError(`live.reconnect must be an object {attempts, delay, maxDelay} or false; got ${describe(r)}`);
    checkKeys('live.reconnect', r, ['attempts', 'delay', 'maxDelay']);
    attempts = r.attempts === undefined ? Infinity : r.attempts === Infinity ? Infinity : int('live.reconnect.attempts', r.attempts, 0, 1e6);
    delay = seconds('live.reconnect.delay', r.delay, 1, 0, 3600);
    maxDelay = seconds('live.reconnect.maxDelay', r.maxDelay, Math.max(30, delay), delay, 3600);
  }
  return {
    openTimeout: seconds('live.openTimeout', v.openTimeout, 10, 0.1, 3600),
    stallTimeout: seconds('live.stallTimeout', v.stallTimeout, 5, 0.1, 3600),
    probeDuration: seconds('live.probeDuration', v.probeDuration, 0.1, 0.01, 30),
    transport: v.transport === undefined ? 'tcp' : oneOf('live.transport', v.transport, ['tcp', 'udp'] as const),
    attempts: attempts === Infinity ? -1 : attempts, delay, maxDelay,
    queue: v.queue === undefined ? 'block' : oneOf('live.queue', v.queue, ['block', 'dropOldest', 'latest'] as const),
    listen: v.listen === undefined ? false : bool('live.listen', v.listen),
  };
}
