// The audio reader's options: the public type, the accepted keys, and their
// validation into a complete native options object (every field set).
import type { NativeAudioReaderOptions } from '../types/native';
import { resolveInput, type InputOptions } from './source';
import { checkKeys, describe, filterGraph, int, isObject, oneOf } from './validate';

/** An output sample format: 'f32' (32-bit float, a Float32Array) or 's16' (16-bit signed, an Int16Array). */
export type SampleFormat = 'f32' | 's16';
/** How channels share a chunk's array: 'interleaved' (L R L R ...) or 'planar' (channel 0's samples, then channel 1's, ...). */
export type SampleLayout = 'interleaved' | 'planar';

/** 1 hour of 48 kHz stereo: readAll()/samplesAt() refuse more samples (across all channels) unless maxSamples says so. */
export const DEFAULT_MAX_SAMPLES = 3600 * 48000 * 2;

/** Options of {@link AudioReader.open}: the output's rate, channels and format, the window read, and chunking. */
export interface AudioReaderOptions extends InputOptions {
  /** Audio stream index (default: libav's best audio stream). */
  stream?: number;
  /** Output sample rate in Hz (default: the source's). Resampled by libswresample with the ffmpeg CLI's defaults. */
  sampleRate?: number;
  /** Output channel count (default: the source's layout); N means libav's default layout for N, as `ffmpeg -ac N`. */
  channels?: number;
  /** 'interleaved' (default: L R L R ...) or 'planar' (channel 0's samples, then channel 1's, ... in one array). */
  layout?: SampleLayout;
  /** 'f32' (default, Float32Array) or 's16' (Int16Array). */
  format?: SampleFormat;
  /** Seconds: sequential reading starts at the sample at this time (exact; decoded from the stream's start). */
  start?: number;
  /** Seconds: sequential reading ends before the sample at this time. */
  end?: number;
  /** Samples per channel of a chunk, 1..1048576 (default 4096); the last chunk may be shorter. */
  chunkSamples?: number;
  /** Chunks decoded ahead of the consumer, 1..64 (default 4). Memory is bounded by this. */
  prefetch?: number;
  /** The most samples (across all channels) readAll() and samplesAt() return; default 1 hour of 48 kHz stereo. */
  maxSamples?: number;
  /** Cancels the open and a pending read promptly (ABORTED) and closes the reader. */
  signal?: AbortSignal;
  /** What a corrupt packet/frame or a truncated file does: 'skip' (default; counted in stats) or 'error'. */
  onCorrupt?: 'skip' | 'error';
  /**
   * A libavfilter graph for the decoded audio, as the CLI's -af (e.g.
   * 'volume=0.5', 'atempo=1.25', 'loudnorm'). The output's channels default
   * to the graph's, its sample rate to the source's (a graph that changes
   * the rate is resampled back unless sampleRate says otherwise); positions
   * and times count the graph's output. Filters that open files need
   * allowNestedInputs.
   */
  filter?: string;
}

export const AUDIO_READER_KEYS = ['protocols', 'allowNestedInputs', 'stream', 'sampleRate', 'channels', 'layout', 'format',
  'start', 'end', 'chunkSamples', 'prefetch', 'maxSamples', 'signal', 'onCorrupt', 'filter'] as const;

export interface NormalisedAudio {
  native: NativeAudioReaderOptions;
  prefetch: number;
  maxSamples: number;
  signal?: AbortSignal;
}

/** A finite number of seconds, at least 0. */
export function seconds(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number of seconds; got ${describe(v)}`);
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number of seconds >= 0; got ${v}`);
  return v;
}

export function normaliseAudio(source: unknown, options: unknown): NormalisedAudio {
  const fn = 'AudioReader.open';
  if (!isObject(options)) throw new TypeError(`${fn}: options must be an object`);
  checkKeys(fn, options, AUDIO_READER_KEYS);
  const input = resolveInput(source, { protocols: options.protocols, allowNestedInputs: options.allowNestedInputs }, fn, ['protocols', 'allowNestedInputs']);
  const start = options.start === undefined ? 0 : seconds('start', options.start);
  const end = options.end === undefined ? null : seconds('end', options.end);
  if (end !== null && end < start) throw new RangeError(`end (${end}) must not be before start (${start})`);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  return {
    prefetch: options.prefetch === undefined ? 4 : int('prefetch', options.prefetch, 1, 64),
    maxSamples: options.maxSamples === undefined ? DEFAULT_MAX_SAMPLES : int('maxSamples', options.maxSamples, 1, 2 ** 32),
    signal,
    native: {
      ...input,
      stream: options.stream === undefined ? -1 : int('stream', options.stream, 0, 65535),
      sampleRate: options.sampleRate === undefined ? 0 : int('sampleRate', options.sampleRate, 1000, 768000),
      channels: options.channels === undefined ? 0 : int('channels', options.channels, 1, 64),
      layout: options.layout === undefined ? 'interleaved' : oneOf('layout', options.layout, ['interleaved', 'planar'] as const),
      format: options.format === undefined ? 'f32' : oneOf('format', options.format, ['f32', 's16'] as const),
      start,
      end,
      chunkSamples: options.chunkSamples === undefined ? 4096 : int('chunkSamples', options.chunkSamples, 1, 1 << 20),
      onCorrupt: options.onCorrupt === undefined ? 'skip' : oneOf('onCorrupt', options.onCorrupt, ['skip', 'error'] as const),
      filter: options.filter === undefined ? '' : filterGraph('filter', options.filter),
    },
  };
}
