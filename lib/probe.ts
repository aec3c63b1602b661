import type { NativeProbe, NativeRational, NativeStream } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { cancellableBy } from './cancel';
import { native } from './native';
import { resolveInput, type InputOptions } from './source';

/** A rational number as libav keeps it (a time base, a frame rate, an aspect ratio). */
export interface Rational {
  /** Numerator. */
  num: number;
  /** Denominator. */
  den: number;
  /** num / den as a number (0 when den is 0, and for an unknown value, which libav gives as 0/1 or 0/0). */
  value: number;
}

/** One stream of a probed source, as ffprobe's -show_streams gives it. */
export interface StreamInfo {
  /** The stream's index in the container (what the readers' `stream` option takes). */
  index: number;
  /** null where ffprobe omits codec_type (an unknown media type) */
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | null;
  /** null where ffprobe omits codec_name (no descriptor for the codec) */
  codec: string | null;
  /** The codec's descriptive name, e.g. 'H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10' ('' when unknown). */
  codecLongName: string;
  /** The codec profile's name (e.g. 'High', 'LC'), its number when it has no name, or null when unknown. */
  profile: string | null;
  /** Bits per second, or null when the container does not say. */
  bitRate: number | null;
  /** The unit of the stream's timestamps (e.g. 1/90000): a frame's pts × timeBase is seconds. */
  timeBase: Rational;
  /** Seconds of the stream's first timestamp, or null when unknown. */
  startTime: number | null;
  /** Seconds, or null when the stream does not say (the container's `duration` may). */
  duration: number | null;
  /** The container's frame count (null when it has none). */
  nbFrames: number | null;
  /** The stream's metadata tags (e.g. language, handler_name), as libav reads them. */
  tags: Record<string, string>;
}

/** A video stream: {@link StreamInfo} plus the picture's size, format, colour tags and rates. */
export interface VideoStreamInfo extends StreamInfo {
  /** Always 'video'. */
  type: 'video';
  /** Coded width in pixels (before any rotation). */
  width: number;
  /** Coded height in pixels (before any rotation). */
  height: number;
  /** null where ffprobe omits pix_fmt (not known before decoding) */
  pixelFormat: string | null;
  /** Bits per sample of the pixel format's first component (8, 10, ...; 0 when the format is unknown). */
  bitDepth: number;
  /** The colour tags; null where ffprobe omits them (unspecified). */
  colorRange: string | null;
  /** The colour matrix, libav's name (e.g. 'bt709'); null when unspecified. */
  colorSpace: string | null;
  /** The colour primaries, libav's name (e.g. 'bt709', 'bt2020'); null when unspecified. */
  colorPrimaries: string | null;
  /** The transfer characteristics, libav's name (e.g. 'bt709', 'smpte2084'); null when unspecified. */
  colorTransfer: string | null;
  /** Average frame rate (ffprobe's avg_frame_rate). */
  avgFrameRate: Rational;
  /** Base frame rate (ffprobe's r_frame_rate). */
  baseFrameRate: Rational;
  /** avgFrameRate as a number (falls back to the base rate when the average is unknown). */
  fps: number;
  /** The pixels' aspect ratio (1/1 for square pixels; 0/1 when unknown), as ffprobe guesses it. */
  sampleAspectRatio: Rational;
  /** ffprobe's display-matrix rotation in degrees (counterclockwise), or null. */
  rotation: number | null;
  /** Frame count: exact when the container says so, else estimated from duration × fps. */
  frameCount: number | null;
  /** True when frameCount is the container's own count, false when it is estimated (or null). */
  frameCountExact: boolean;
}

/** An audio stream: {@link StreamInfo} plus its sample rate, channels and sample format. */
export interface AudioStreamInfo extends StreamInfo {
  /** Always 'audio'. */
  type: 'audio';
  /** Samples per second per channel (Hz). */
  sampleRate: number;
  /** Channel count. */
  channels: number;
  /** libav's name of the channel layout (e.g. 'mono', 'stereo', '5.1(side)'); null when unspecified. */
  channelLayout: string | null;
  /** libav's sample format name (e.g. 'fltp', 's16'); null when unknown. */
  sampleFormat: string | null;
}

/** What {@link probe} returns: the container's metadata and every stream's, as ffprobe's JSON has them. */
export interface ProbeResult {
  /** Container format name, as ffprobe's format_name. */
  format: string;
  /** The container format's descriptive name, e.g. 'QuickTime / MOV'. */
  formatLongName: string;
  /** Seconds. */
  duration: number | null;
  /** Seconds of the container's first timestamp, or null when unknown. */
  startTime: number | null;
  /** Total bits per second, or null when unknown. */
  bitRate: number | null;
  /** Bytes. */
  size: number | null;
  /** The container's metadata tags (e.g. title, encoder, creation_time). */
  tags: Record<string, string>;
  /** Every stream, in container order; video and audio streams carry their extra fields. */
  streams: Array<VideoStreamInfo | AudioStreamInfo | StreamInfo>;
}

function rational(r: NativeRational | undefined): Rational {
  const num = r?.num ?? 0;
  const den = r?.den ?? 1;
  return { num, den, value: den ? num / den : 0 };
}

export function convertStream(s: NativeStream): VideoStreamInfo | AudioStreamInfo | StreamInfo {
  const base: StreamInfo = {
    index: s.index, type: s.type, codec: s.codec, codecLongName: s.codecLongName, profile: s.profile,
    bitRate: s.bitRate, timeBase: rational(s.timeBase), startTime: s.startTime, duration: s.duration,
    nbFrames: s.nbFrames, tags: s.tags,
  };
  if (s.type === 'video') {
    const avg = rational(s.avgFrameRate);
    const r = rational(s.baseFrameRate);
    const v: VideoStreamInfo = {
      ...base, type: 'video', width: s.width!, height: s.height!, pixelFormat: s.pixelFormat!,
      bitDepth: s.bitDepth!, colorRange: s.colorRange!, colorSpace: s.colorSpace!,
      colorPrimaries: s.colorPrimaries!, colorTransfer: s.colorTransfer!, avgFrameRate: avg, baseFrameRate: r,
      fps: avg.value || r.value, sampleAspectRatio: rational(s.sampleAspectRatio), rotation: s.rotation ?? null,
      frameCount: s.frameCount ?? null, frameCountExact: s.frameCountExact ?? false,
    };
    return v;
  }
  if (s.type === 'audio') {
    const a: AudioStreamInfo = {
      ...base, type: 'audio', sampleRate: s.sampleRate!, channels: s.channels!,
      channelLayout: s.channelLayout ?? null, sampleFormat: s.sampleFormat!,
    };
    return a;
  }
  return base;
}

export function convertProbe(p: NativeProbe): ProbeResult {
  return {
    format: p.format, formatLongName: p.formatLongName, duration: p.duration, startTime: p.startTime,
    bitRate: p.bitRate, size: p.size, tags: p.tags, streams: p.streams.map(convertStream),
  };
}

/**
 * Reads a source's metadata without decoding frames. Values follow ffprobe's
 * (`ffprobe -of json -show_format -show_streams`); where ffprobe omits a field
 * the value is null. Options: `protocols` and `allowNestedInputs` as for
 * VideoReader, and `signal` to abort (AvcvError 'ABORTED').
 *
 * @example
 * ```ts
 * const info = await probe('in.mp4');
 * const video = info.streams.find((s) => s.type === 'video');
 * console.log(info.format, info.duration, video);
 * ```
 */
export async function probe(source: string | URL, options: InputOptions & { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const caller = new Error();
  const input = resolveInput(source, options, 'probe', ['protocols', 'allowNestedInputs', 'signal']);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  try {
    return convertProbe(await cancellableBy(signal, native().probe(input), input.source));
  } catch (err) {
    throw err instanceof AvcvError ? err : fromNative(err, input.source, caller);
  }
}
