import type { NativeProbe, NativeRational, NativeStream } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { cancellableBy } from './cancel';
import { native } from './native';
import { resolveInput, type InputOptions } from './source';

export interface Rational { num: number; den: number; value: number }

export interface StreamInfo {
  index: number;
  /** null where ffprobe omits codec_type (an unknown media type) */
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | null;
  /** null where ffprobe omits codec_name (no descriptor for the codec) */
  codec: string | null;
  codecLongName: string;
  profile: string | null;
  bitRate: number | null;
  timeBase: Rational;
  startTime: number | null;
  duration: number | null;
  /** The container's frame count (null when it has none). */
  nbFrames: number | null;
  tags: Record<string, string>;
}

export interface VideoStreamInfo extends StreamInfo {
  type: 'video';
  width: number;
  height: number;
  /** null where ffprobe omits pix_fmt (not known before decoding) */
  pixelFormat: string | null;
  bitDepth: number;
  /** The colour tags; null where ffprobe omits them (unspecified). */
  colorRange: string | null;
  colorSpace: string | null;
  colorPrimaries: string | null;
  colorTransfer: string | null;
  /** Average frame rate (ffprobe's avg_frame_rate). */
  avgFrameRate: Rational;
  /** Base frame rate (ffprobe's r_frame_rate). */
  baseFrameRate: Rational;
  /** avgFrameRate as a number (falls back to the base rate when the average is unknown). */
  fps: number;
  sampleAspectRatio: Rational;
  /** ffprobe's display-matrix rotation in degrees (counterclockwise), or null. */
  rotation: number | null;
  /** Frame count: exact when the container says so, else estimated from duration × fps. */
  frameCount: number | null;
  frameCountExact: boolean;
}

export interface AudioStreamInfo extends StreamInfo {
  type: 'audio';
  sampleRate: number;
  channels: number;
  channelLayout: string | null;
  sampleFormat: string | null;
}

export interface ProbeResult {
  /** Container format name, as ffprobe's format_name. */
  format: string;
  formatLongName: string;
  /** Seconds. */
  duration: number | null;
  startTime: number | null;
  bitRate: number | null;
  /** Bytes. */
  size: number | null;
  tags: Record<string, string>;
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

/** Reads a source's metadata without decoding frames. Values follow ffprobe's. */
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
