// The writer's options: the public types, the accepted keys, the container
// and encoder choice, and their validation into a complete native options
// object (every field set). VideoWriter and transform() both use it.
import * as path from 'node:path';
import type { NativeAddon, NativeWriterOptions, NativeWriterStats } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { checkLayout } from './frame';
import { LAYOUTS, PIXEL_FORMATS, defaultLayout, type Layout, type PixelFormat } from './formats';
import { tempBeside } from './files';
import { native } from './native';
import { checkDevice, type Device, type DeviceInfo } from './device';
import { liveOptions } from './reader-options';
import { resolveInput } from './source';
import { bool, checkKeys, describe, filterGraph, int, isObject, oneOf } from './validate';

/**
 * An output container: 'mp4', 'mov', 'mkv', 'webm', 'avi', 'flv', 'ts'
 * (MPEG-TS), 'nut' (FFmpeg's NUT: exact time bases) or 'hls' (a live HLS
 * output, a .m3u8 target).
 */
export type Container = 'mp4' | 'mov' | 'mkv' | 'webm' | 'avi' | 'flv' | 'ts' | 'nut' | 'hls';
export const CONTAINERS: readonly Container[] = ['mp4', 'mov', 'mkv', 'webm', 'avi', 'flv', 'ts', 'nut', 'hls'];
export const MUXER: Record<Container, string> = { mp4: 'mp4', mov: 'mov', mkv: 'matroska', webm: 'webm', avi: 'avi', flv: 'flv', ts: 'mpegts', nut: 'nut', hls: 'hls' };

/** A network target (rtmp://, srt://, udp://, ...): its scheme; null for a file path or file: URL. */
export function networkScheme(target: string): string | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target);
  return m && m[1].toLowerCase() !== 'file' ? m[1].toLowerCase() : null;
}

/**
 * A rational number: num / den (e.g. 30000/1001 frames per second).
 */
export interface RationalInput {
  /** Numerator, a positive integer. */
  num: number;
  /** Denominator, a positive integer. */
  den: number;
}

/** VideoWriterOptions.audio: another file's audio, muxed into the output beside the frames you write. */
export interface AudioOptions {
  /** The file whose audio streams are muxed into the output. */
  from: string;
  /** 'auto' (default): copy when the container takes the codec, else encode (AAC; Opus for webm). */
  mode?: 'auto' | 'copy' | 'encode' | 'none';
  /** Seconds added to the source's audio timestamps (e.g. -firstVideoTime to keep sync). */
  shift?: number;
  /** Source audio before this time (seconds) is dropped. */
  start?: number;
  /** libav protocols `from` may use (default ['file']). */
  protocols?: string[];
  /** A libav input format/device for `from` (e.g. 'lavfi' with 'sine=frequency=440'). Never with untrusted input. */
  inputFormat?: string;
  /**
   * A libavfilter graph for the audio, as the CLI's -af (e.g.
   * 'loudnorm=I=-16:TP=-1.5:LRA=11'): the audio is re-encoded (mode 'auto'
   * encodes; 'copy' is refused), and resampled back to the source's rate
   * after the graph. Filters that open files need allowNestedInputs.
   */
  filter?: string;
  /** Let `filter` name filters that open files or URLs (trusted graphs only). */
  allowNestedInputs?: boolean;
}

/**
 * Options of {@link VideoWriter.open}: the frames you write (size, rate,
 * format), the encoder and its settings, the container and target, audio,
 * and a network target's behaviour. width, height and fps are required.
 */
export interface VideoWriterOptions {
  /** Width of the frames you write, in pixels (1..16384; even for yuv420p/nv12). */
  width: number;
  /** Height of the frames you write, in pixels (1..16384; even for yuv420p/nv12). */
  height: number;
  /** Frames per second: a number (29.97 becomes 30000/1001) or a rational. */
  fps: number | RationalInput;
  /**
   * An encoder ('libx264', 'libx265', 'libvpx-vp9', 'libsvtav1', 'mpeg4', 'mjpeg', 'ffv1', ...),
   * a short name that picks the best available ('h264', 'hevc', 'vp9', 'av1'), or an OpenCV
   * fourcc ('avc1', 'mp4v', 'MJPG', 'XVID', 'VP90'). Default: h264 (vp9 for webm, mpeg4 for avi).
   */
  codec?: string;
  /** Constant-quality level: the encoder's crf (x264/x265/vp9/av1), NVENC's cq. */
  crf?: number;
  /** Bits per second. */
  bitrate?: number;
  /**
   * Rate control, the same words on every encoder: 'cq' (constant quality at
   * `crf`: crf on x264/x265/av1, crf with no bitrate cap on vp9, rc=vbr + cq
   * on NVENC), 'vbr' (average `bitrate`), 'cbr' (constant `bitrate`: min =
   * max = target with a one-second buffer; rc=cbr on NVENC). Unset: crf
   * and/or bitrate are passed as given (NVENC turns crf into cq).
   */
  rateControl?: 'cq' | 'vbr' | 'cbr';
  /** The encoder's preset (x264/x265: 'ultrafast'..'veryslow'; NVENC: 'p1'..'p7'); default the encoder's. */
  preset?: string;
  /** The encoder's tune (x264: 'film', 'animation', 'zerolatency', ...; NVENC: 'hq', 'll', 'ull', 'lossless'). */
  tune?: string;
  /** The encoder's profile (e.g. 'baseline', 'main', 'high' for H.264); default the encoder's. */
  profile?: string;
  /** Keyframe interval in frames. */
  gop?: number;
  /** Encoder private options, passed as is (unknown ones are errors). */
  codecOptions?: Record<string, string | number>;
  /** Encoded pixel format (default 'yuv420p'). */
  pixelFormat?: string;
  /** Format of the frames you write (default 'bgr24'). */
  inputFormat?: PixelFormat;
  /** Layout of the frames you write (default 'hwc'). */
  inputLayout?: Layout;
  /** Default: from the target's extension. */
  container?: Container;
  /** mp4/mov: move the index to the front for streaming. */
  faststart?: boolean;
  /** Container metadata tags, e.g. { title: 'Talk', comment: '...' }. */
  metadata?: Record<string, string>;
  /**
   * Protocols the target may use (default ['file']): a network target such as
   * 'rtmp://host/app/key' (flv), 'srt://host:port' or 'udp://host:port'
   * (MPEG-TS) needs its protocol listed, e.g. ['rtmp', 'tcp']. Network
   * targets are written as they go: there is no temp file and no rename.
   */
  protocols?: string[];
  /**
   * A live HLS output (container 'hls', a .m3u8 target): segments of about
   * `segmentDuration` seconds (cut at keyframes: set gop to match), the
   * playlist listing the last `listSize` (0: all), older segments deleted with
   * `deleteSegments`. Segments and playlists are written to temp names and
   * renamed, so a player never reads half a file.
   */
  hls?: {
    /** Target segment length in seconds, 0.1..3600 (default 2). */
    segmentDuration?: number;
    /** Segments the playlist lists: the last N (default 5; 0: all). */
    listSize?: number;
    /** Delete segments once they leave the playlist (default false). */
    deleteSegments?: boolean;
  };
  /**
   * A network target's timeouts and reconnects (rtmp://, srt://, udp://,
   * tcp://; not files). openTimeout (default 10 s) bounds connecting and the
   * header; stallTimeout (default 5 s) bounds one write to a server that
   * stopped reading. With `reconnect`, a lost connection is reopened with
   * exponential backoff and the stream republished from a keyframe; frames
   * written meanwhile are dropped (stats.dropped) and write() keeps its pace.
   * When the attempts run out, write() and close() reject 'DISCONNECTED'.
   */
  live?: WriterLiveOptions;
  /**
   * Write no faster than the frames' timestamps, counted from the first
   * frame (the CLI's -re): for streaming a file to a server. Default false.
   */
  realtime?: boolean;
  /** Mux another file's audio into the output. */
  audio?: AudioOptions;
  /** Time base of the pts you pass (default 1/fps). */
  timeBase?: RationalInput;
  /** Encoder threads, 0..64 (default 0: the encoder's choice). */
  threads?: number;
  /** Aborts the write: the temp file is removed, the target untouched. */
  signal?: AbortSignal;
  /**
   * 'cpu' (default), 'cuda' / 'cuda:N' (NVENC: h264/hevc/av1 become
   * h264_nvenc/hevc_nvenc/av1_nvenc; an AvcvError 'NO_DEVICE' when it cannot),
   * or 'auto' (NVENC when usable, else the CPU encoder; info.device says why).
   */
  device?: Device;
}

/** VideoWriterOptions.live: a network target's timeouts and reconnects. */
export interface WriterLiveOptions {
  /** Seconds to connect and write the header, 0.1..3600 (default 10); then AvcvError 'TIMEOUT'. */
  openTimeout?: number;
  /** Seconds one write may block on a server that stopped reading, 0.1..3600 (default 5). */
  stallTimeout?: number;
  /** Default: none (a lost connection is 'DISCONNECTED' at once); {} is attempts Infinity, delay 1 s, maxDelay 30 s. */
  reconnect?: {
    /** Tries before write() and close() reject 'DISCONNECTED' (default Infinity). */
    attempts?: number;
    /** Seconds before the first try, doubled after each failure (default 1). */
    delay?: number;
    /** The longest wait between tries, in seconds (default 30, or delay if longer). */
    maxDelay?: number;
  } | false;
}

export const WRITER_KEYS = ['width', 'height', 'fps', 'codec', 'crf', 'bitrate', 'rateControl', 'preset', 'tune', 'profile', 'gop',
  'codecOptions', 'pixelFormat', 'inputFormat', 'inputLayout', 'container', 'faststart', 'metadata', 'audio',
  'timeBase', 'threads', 'signal', 'device', 'protocols', 'realtime', 'hls', 'live'] as const;

/** 29.97 -> 30000/1001, 25 -> 25/1. */
export function toRational(name: string, v: unknown): RationalInput {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number; got ${v}`);
    if (Number.isInteger(v)) return { num: v, den: 1 };
    // NTSC rates: 29.97 -> 30000/1001, 23.976 -> 24000/1001, 59.94 -> 60000/1001
    const ntsc = Math.round(v * 1001);
    if (ntsc % 1000 === 0 && Math.abs(ntsc / 1001 - v) < 5e-4) return { num: ntsc, den: 1001 };
    for (const den of [1000, 100, 10]) {
      const num = Math.round(v * den);
      if (Math.abs(num / den - v) < 1e-6) return { num, den };
    }
    return { num: Math.round(v * 1000), den: 1000 };
  }
  if (isObject(v)) {
    checkKeys(name, v, ['num', 'den']);
    return { num: int(`${name}.num`, v.num, 1, 2 ** 31 - 1), den: int(`${name}.den`, v.den, 1, 2 ** 31 - 1) };
  }
  throw new TypeError(`${name} must be a number or {num, den}; got ${describe(v)}`);
}

/** The container from the container option, else the target's extension. */
export function containerOf(target: string, opt: unknown): Container {
  if (opt !== undefined) return oneOf('container', opt, CONTAINERS);
  const scheme = networkScheme(target);
  if (scheme === 'rtmp' || scheme === 'rtmps') return 'flv';
  if (scheme === 'srt' || scheme === 'udp' || scheme === 'tcp') return 'ts';
  if (scheme) throw new TypeError(`cannot tell the container for a ${scheme}:// target; use the container option`);
  const ext = path.extname(target).slice(1).toLowerCase();
  const c = ext === 'm4v' ? 'mp4' : ext === 'm3u8' ? 'hls' : ext;
  if (!(CONTAINERS as readonly string[]).includes(c)) {
    throw new TypeError(`cannot tell the container from '${path.basename(target)}'; use a .mp4/.mov/.mkv/.webm/.avi/.flv/.ts/.nut name or the container option`);
  }
  return c as Container;
}

export function defaultCodec(c: Container): string {
  return c === 'webm' ? 'vp9' : c === 'avi' ? 'mpeg4' : 'h264';
}

/**
 * What the writer reports: the native counters less the packet counts.
 *
 * @interface
 */
export type WriterStats = Omit<NativeWriterStats, 'packets' | 'audioPackets'>;

export interface WriterPlan {
  target: string;
  /** where the muxer writes: a temp name beside a file target, or the network target itself */
  temp: string;
  /** a network target or a live HLS playlist: written as it goes (no temp file, no rename) */
  network: boolean;
  /** write() paced by the frames' timestamps */
  realtime: boolean;
  container: Container;
  device: DeviceInfo;
  native: NativeWriterOptions;
}

/**
 * Internal: validates writer options, resolves the encoder for the device and
 * names the temp file. `fromSource`: width, height, fps and timeBase are the
 * source's (transcoding), not options.
 */
export function planWriter(target: string, options: Partial<VideoWriterOptions>, fromSource: boolean): WriterPlan {
  if (typeof target !== 'string' || target.length === 0) throw new TypeError(`target must be a file path; got ${describe(target)}`);
  if (!isObject(options)) throw new TypeError('VideoWriter.open: options must be an object');
  checkKeys(fromSource ? 'transform' : 'VideoWriter.open', options, WRITER_KEYS);
  const container = containerOf(target, options.container);
  // transcoding takes size, rate and time base from the source (0 here)
  const width = fromSource ? 0 : int('width', options.width, 1, 16384);
  const height = fromSource ? 0 : int('height', options.height, 1, 16384);
  const fps = fromSource ? { num: 0, den: 1 } : toRational('fps', options.fps);
  const timeBase = fromSource ? { num: 0, den: 1 }
    : options.timeBase === undefined ? { num: fps.den, den: fps.num } : toRational('timeBase', options.timeBase);
  const inputFormat = options.inputFormat === undefined ? 'bgr24' : oneOf('inputFormat', options.inputFormat, PIXEL_FORMATS);
  const inputLayout = options.inputLayout === undefined ? defaultLayout(inputFormat) : oneOf('inputLayout', options.inputLayout, LAYOUTS);
  if (!fromSource) checkLayout(inputFormat, inputLayout, inputFormat === 'yuv420p' || inputFormat === 'nv12' ? width - (width % 2) : width, height - (height % 2));
  if (!fromSource && (inputFormat === 'yuv420p' || inputFormat === 'nv12') && (width % 2 || height % 2)) {
    throw new RangeError(`inputFormat ${inputFormat} needs an even width and height; got ${width}x${height}`);
  }
  const codecName = options.codec === undefined ? defaultCodec(container) : options.codec;
  if (typeof codecName !== 'string' || !codecName) throw new TypeError(`codec must be a string; got ${describe(codecName)}`);
  const crf = options.crf === undefined ? undefined : int('crf', options.crf, 0, 63);
  const bitrate = options.bitrate === undefined ? undefined : int('bitrate', options.bitrate, 1, 2 ** 40);
  const rateControl = options.rateControl === undefined ? undefined : oneOf('rateControl', options.rateControl, ['cq', 'vbr', 'cbr'] as const);
  if (rateControl === 'cq' && (crf === undefined || bitrate !== undefined)) {
    throw new RangeError(`rateControl 'cq' takes crf (the quality level) and no bitrate; got crf ${crf}, bitrate ${bitrate}`);
  }
  if ((rateControl === 'vbr' || rateControl === 'cbr') && (bitrate === undefined || crf !== undefined)) {
    throw new RangeError(`rateControl '${rateControl}' takes bitrate and no crf; got bitrate ${bitrate}, crf ${crf}`);
  }
  const gop = options.gop === undefined ? undefined : int('gop', options.gop, 0, 100000);
  const threads = options.threads === undefined ? 0 : int('threads', options.threads, 0, 64);
  const str = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v) throw new TypeError(`${name} must be a non-empty string; got ${describe(v)}`);
    return v;
  };
  const dict = (name: string, v: unknown): Record<string, string> | undefined => {
    if (v === undefined) return undefined;
    if (!isObject(v)) throw new TypeError(`${name} must be an object of strings; got ${describe(v)}`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string' && typeof val !== 'number') throw new TypeError(`${name}.${k} must be a string or number`);
      out[k] = String(val);
    }
    return out;
  };
  let audio: NativeWriterOptions['audio'] = { mode: 'none', source: '', protocols: ['file'], shift: 0, start: 0, inputFormat: '', filter: '', allowNestedInputs: false };
  if (options.audio !== undefined) {
    const a = options.audio;
    if (!isObject(a)) throw new TypeError(`audio must be an object {from, mode}; got ${describe(a)}`);
    checkKeys('audio', a, ['from', 'mode', 'shift', 'start', 'protocols', 'inputFormat', 'filter', 'allowNestedInputs']);
    if (a.inputFormat !== undefined && (typeof a.inputFormat !== 'string' || !/^[a-z0-9_,]+$/.test(a.inputFormat))) {
      throw new TypeError(`audio.inputFormat must be a libav format name; got ${describe(a.inputFormat)}`);
    }
    const mode = a.mode === undefined ? 'auto' : oneOf('audio.mode', a.mode, ['auto', 'copy', 'encode', 'none'] as const);
    const input = resolveInput(a.from, { protocols: a.protocols }, 'audio.from', ['protocols']);
    const num = (n: string, v: unknown) => {
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${n} must be a finite number`);
      return v;
    };
    audio = {
      mode, source: input.source, protocols: input.protocols, shift: num('audio.shift', a.shift), start: num('audio.start', a.start),
      inputFormat: (a.inputFormat as string | undefined) ?? '',
      filter: a.filter === undefined ? '' : filterGraph('audio.filter', a.filter),
      allowNestedInputs: a.allowNestedInputs === undefined ? false : bool('audio.allowNestedInputs', a.allowNestedInputs),
    };
    if (audio.filter && (mode === 'copy' || mode === 'none')) {
      throw new TypeError(`audio.filter needs the audio re-encoded: use mode 'auto' or 'encode', not '${mode}'`);
    }
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (signal?.aborted) throw new AvcvError('ABORTED', 'the write was aborted before it started', { source: target, cause: signal.reason });
  const faststart = options.faststart === undefined ? false : bool('faststart', options.faststart);

  // the device and encoder policy is core's (native/core/device.cpp)
  const device = checkDevice(options.device);
  let choice: ReturnType<NativeAddon['chooseEncoder']>;
  try {
    choice = native().chooseEncoder(codecName, device);
  } catch (err) {
    throw fromNative(err, target);
  }
  const encoder = choice.encoder;
  const deviceInfo: DeviceInfo = choice.device;
  const scheme = networkScheme(target);
  const protocols = writerProtocols(options.protocols);
  if (scheme && !protocols.includes(scheme)) {
    throw new AvcvError('PROTOCOL_NOT_ALLOWED', `protocol '${scheme}' is not allowed (allowed: ${protocols.join(', ')}); pass it in the protocols option to allow it`, { source: target });
  }
  const abs = scheme ? target : path.resolve(target);
  const direct = scheme !== null || container === 'hls';  // the muxer (or the server) owns what is written
  const temp = direct ? abs : tempBeside(abs);
  return {
    target: abs, temp, network: direct, container, device: deviceInfo,
    realtime: options.realtime === undefined ? false : bool('realtime', options.realtime),
    native: {
      protocols,
      // every field, explicitly (the binding has no defaults): -1, 0 and '' mean "not set"
      path: temp, container: MUXER[container], width, height, fps, timeBase, codec: encoder, crf: crf ?? -1,
      bitrate: bitrate ?? 0, rateControl: rateControl ?? '', preset: str('preset', options.preset) ?? '',
      tune: str('tune', options.tune) ?? '', profile: str('profile', options.profile) ?? '', gop: gop ?? -1, threads,
      codecOptions: dict('codecOptions', options.codecOptions) ?? {},
      pixelFormat: str('pixelFormat', options.pixelFormat) ?? 'yuv420p', inputFormat, inputLayout, faststart,
      metadata: dict('metadata', options.metadata) ?? {}, audio,
      muxerOptions: container === 'hls' ? hlsOptions(abs, options.hls) : noHls(options.hls),
      live: writerLive(options.live, scheme),
    },
  };
}

/** The public part of the native writer counters. */
export function pickStats(s: NativeWriterStats): WriterStats {
  return {
    frames: s.frames, bytes: s.bytes, encoder: s.encoder, pixelFormat: s.pixelFormat, audioMode: s.audioMode,
    audioCodec: s.audioCodec, videoDuration: s.videoDuration, audioDuration: s.audioDuration,
    dropped: s.dropped, reconnects: s.reconnects, reconnectAttempts: s.reconnectAttempts, connected: s.connected,
    lastError: s.lastError,
  };
}

/** live: a network target's timeouts and reconnects (files take none). */
function writerLive(v: unknown, scheme: string | null): NativeWriterOptions['live'] {
  if (v !== undefined && scheme === null) throw new TypeError('live applies to network targets (rtmp://, srt://, udp://, tcp://), not files');
  if (scheme === null) return { enabled: false, openTimeout: 0, stallTimeout: 0, attempts: 0, delay: 1, maxDelay: 30 };
  if (v !== undefined && !isObject(v)) throw new TypeError(`live must be an object {openTimeout, stallTimeout, reconnect}; got ${describe(v)}`);
  const o = (v ?? {}) as Record<string, unknown>;
  checkKeys('live', o, ['openTimeout', 'stallTimeout', 'reconnect']);
  const r = liveOptions({ openTimeout: o.openTimeout, stallTimeout: o.stallTimeout, reconnect: o.reconnect });
  return { enabled: true, openTimeout: r.openTimeout, stallTimeout: r.stallTimeout, attempts: r.attempts, delay: r.delay, maxDelay: r.maxDelay };
}

/** The writer's protocols option: the libav protocols a target may use (default: files only). */
export function writerProtocols(v: unknown): string[] {
  if (v === undefined) return ['file'];
  if (!Array.isArray(v) || v.length === 0 || !v.every((p) => typeof p === 'string' && /^[a-z0-9_+-]+$/.test(p))) {
    throw new TypeError(`protocols must be a non-empty array of protocol names; got ${describe(v)}`);
  }
  return [...new Set(v as string[])];
}

function noHls(v: unknown): Record<string, string> {
  if (v !== undefined) throw new TypeError('hls applies to container \'hls\' (a .m3u8 target)');
  return {};
}

/** The hls muxer's options: temp files renamed into place, segments beside the playlist. */
function hlsOptions(target: string, v: unknown): Record<string, string> {
  if (v !== undefined && !isObject(v)) throw new TypeError(`hls must be an object {segmentDuration, listSize, deleteSegments}; got ${describe(v)}`);
  const o = (v ?? {}) as Record<string, unknown>;
  checkKeys('hls', o, ['segmentDuration', 'listSize', 'deleteSegments']);
  const seg = o.segmentDuration === undefined ? 2 : o.segmentDuration;
  if (typeof seg !== 'number' || !(seg >= 0.1 && seg <= 3600)) throw new RangeError(`hls.segmentDuration must be within 0.1..3600 s; got ${describe(seg)}`);
  const listSize = o.listSize === undefined ? 5 : int('hls.listSize', o.listSize, 0, 1e6);
  const del = o.deleteSegments === undefined ? false : bool('hls.deleteSegments', o.deleteSegments);
  const base = path.basename(target, path.extname(target));
  return {
    hls_time: String(seg),
    hls_list_size: String(listSize),
    hls_flags: ['temp_file', 'independent_segments', ...(del ? ['delete_segments'] : [])].join('+'),
    hls_segment_filename: path.join(path.dirname(target), `${base}_%05d.ts`),
  };
}
