import type { NativeAudioChunk, NativeAudioReader, NativeAudioStats } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { cancellableBy } from './cancel';
import { native } from './native';
import { convertProbe, convertStream, type AudioStreamInfo, type ProbeResult } from './probe';
import { normaliseAudio, seconds, type AudioReaderOptions, type NormalisedAudio, type SampleFormat, type SampleLayout } from './audio-options';

export type { AudioReaderOptions, SampleFormat, SampleLayout } from './audio-options';

/** What {@link AudioReader.info} holds: the output's sample rate, channels and format, and the source's. */
export interface AudioReaderInfo {
  /** The source as opened: a path, or a URL's href. */
  source: string;
  /** The container's probe. */
  container: ProbeResult;
  /** The decoded audio stream's probe. */
  stream: AudioStreamInfo;
  /** The stream's codec name (e.g. 'aac', 'opus', 'mp3', 'pcm_s16le'). */
  codec: string;
  /** The libavcodec decoder used (e.g. 'aac', 'mp3float', 'opus'). */
  decoder: string;
  /** Output sample rate (Hz). */
  sampleRate: number;
  /** Output channel count. */
  channels: number;
  /** Output channel layout, libav's name (e.g. 'mono', 'stereo', '5.1'). */
  channelLayout: string;
  /** Output sample format: 'f32' or 's16'. */
  format: SampleFormat;
  /** Output layout: 'interleaved' or 'planar'. */
  layout: SampleLayout;
  /** What the decoder gives (its first frame). */
  sourceSampleRate: number;
  /** The decoder's channel count (its first frame). */
  sourceChannels: number;
  /** The decoder's channel layout, libav's name (its first frame). */
  sourceChannelLayout: string;
  /** The decoder's sample format, libav's name (e.g. 'fltp'). */
  sourceSampleFormat: string;
  /** Seconds of the stream's first decoded sample (after the priming samples libavcodec trims): sample i lies at startTime + i / sampleRate. */
  startTime: number;
  /** Seconds (the stream's, else the container's), or null when unknown. */
  duration: number | null;
  /** The window sequential reading covers (seconds; end null = to the end). */
  start: number;
  /** The window's end in seconds, or null: to the end of the stream. */
  end: number | null;
  /** Samples per channel of a full chunk. */
  chunkSamples: number;
  /** The most samples (across all channels) readAll() and samplesAt() return. */
  maxSamples: number;
}

/** A block of samples: a chunk of sequential reading, or readAll()/samplesAt()'s result. */
export interface AudioChunk {
  /** samples * channels values: interleaved, or planar (channel 0's samples, then channel 1's, ...). */
  data: Float32Array | Int16Array;
  /** Samples per second per channel (Hz). */
  sampleRate: number;
  /** Channel count. */
  channels: number;
  /** 'f32' (data is a Float32Array) or 's16' (an Int16Array). */
  format: SampleFormat;
  /** 'interleaved' or 'planar'. */
  layout: SampleLayout;
  /** Samples per channel. */
  samples: number;
  /** The first sample's position on the output: 0 is the stream's first decoded sample. */
  index: number;
  /** The first sample's time in 1/sampleRate units: round(startTime * sampleRate) + index. */
  pts: number;
  /** The first sample's time in seconds: startTime + index / sampleRate. */
  time: number;
}

/**
 * What {@link AudioReader.stats} holds: the decoder's counters, plus the
 * chunks and samples read.
 *
 * @interface
 */
export type AudioReaderStats = NativeAudioStats & {
  /** Chunks returned by read() and iteration. */
  chunksRead: number;
  /** Samples per channel returned by read() and iteration. */
  samplesRead: number;
};

function abortError(signal: AbortSignal, source: string): AvcvError {
  return new AvcvError('ABORTED', 'the read was aborted', { source, cause: signal.reason });
}

/**
 * Decodes an audio stream into samples: decoded, resampled (libswresample,
 * with the ffmpeg CLI's defaults) and converted on a native thread straight
 * into JS-owned memory, at most `prefetch` chunks ahead of the consumer.
 *
 * @example
 * ```ts
 * await using audio = await AudioReader.open('in.m4a', { sampleRate: 16000, channels: 1 });
 * for await (const chunk of audio) { chunk.data; chunk.samples; chunk.time; }
 * const clip = await audio.samplesAt(1.0, 1.5);   // 0.5 s: 8000 samples at 16 kHz
 * ```
 */
export class AudioReader implements AsyncIterable<AudioChunk> {
  #native: NativeAudioReader | null;
  #info: AudioReaderInfo;
  #chunkBytes: number;
  #queue: Promise<unknown> = Promise.resolve();
  #raQueue: Promise<unknown> = Promise.resolve();
  #closePromise: Promise<void> | null = null;
  #done = false;
  #chunksRead = 0;
  #samplesRead = 0;
  #finalStats: NativeAudioStats | null = null;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #abortReject: ((e: Error) => void) | null = null;

  private constructor(nat: NativeAudioReader, info: AudioReaderInfo, bytesPerSample: number, n: NormalisedAudio) {
    this.#native = nat;
    this.#info = info;
    this.#chunkBytes = info.chunkSamples * info.channels * bytesPerSample;
    this.#signal = n.signal;
    for (let i = 0; i < n.prefetch; i++) nat.push(this.#alloc());
    if (n.signal) {
      this.#onAbort = () => {
        this.#abortReject?.(abortError(n.signal!, info.source));
        void this.close();
      };
      n.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /**
   * Opens a source's audio. Rejects with AvcvError for missing or invalid media, NO_AUDIO_STREAM without audio.
   *
   * @example
   * ```ts
   * const audio = await AudioReader.open('talk.m4a', { sampleRate: 16000, channels: 1, format: 's16' });
   * const all = await audio.readAll();   // one chunk: every sample, an Int16Array
   * await audio.close();
   * ```
   */
  static async open(source: string | URL, options: AudioReaderOptions = {}): Promise<AudioReader> {
    const caller = new Error();
    const n = normaliseAudio(source, options);
    const src = n.native.source;
    if (n.signal?.aborted) throw abortError(n.signal, src);
    let nat: NativeAudioReader;
    try {
      nat = await cancellableBy(n.signal, native().openAudioReader(n.native), src, (late) => late.close());
    } catch (err) {
      if (n.signal?.aborted) throw abortError(n.signal, src);
      throw fromNative(err, src, caller);
    }
    const raw = nat.info()!;
    const stream = convertStream(raw.stream) as AudioStreamInfo;
    const info: AudioReaderInfo = {
      source: src,
      container: convertProbe(raw.container),
      stream,
      codec: stream.codec ?? '',
      decoder: raw.decoder,
      sampleRate: raw.sampleRate,
      channels: raw.channels,
      channelLayout: raw.channelLayout,
      format: n.native.format,
      layout: n.native.layout,
      sourceSampleRate: raw.sourceSampleRate,
      sourceChannels: raw.sourceChannels,
      sourceChannelLayout: raw.sourceChannelLayout,
      sourceSampleFormat: raw.sourceSampleFormat,
      startTime: raw.startTime,
      duration: stream.duration ?? raw.container.duration,
      start: n.native.start,
      end: n.native.end,
      chunkSamples: raw.chunkSamples,
      maxSamples: n.maxSamples,
    };
    const reader = new AudioReader(nat, info, raw.bytesPerSample, n);
    if (n.signal?.aborted) {
      await reader.close();
      throw abortError(n.signal, src);
    }
    return reader;
  }

  /** The stream's probe and the output's rate, channels and format. */
  get info(): AudioReaderInfo {
    return this.#info;
  }

  /** Decode counters, plus the chunks and samples (per channel) read so far. */
  get stats(): AudioReaderStats {
    const s = this.#native ? this.#native.stats() : this.#finalStats!;
    return { ...s, chunksRead: this.#chunksRead, samplesRead: this.#samplesRead };
  }

  /** True once close() was called (or an abort closed the reader). */
  get closed(): boolean {
    return this.#native === null;
  }

  #alloc(): Uint8Array {
    const buf = Buffer.allocUnsafeSlow(this.#chunkBytes);
    return new Uint8Array(buf.buffer, buf.byteOffset, this.#chunkBytes);
  }

  #chunkOf(res: NativeAudioChunk): AudioChunk {
    const i = this.#info;
    const n = res.samples * i.channels;
    const u8 = res.data;
    const data = i.format === 'f32' ? new Float32Array(u8.buffer, u8.byteOffset, n) : new Int16Array(u8.buffer, u8.byteOffset, n);
    return {
      data, sampleRate: i.sampleRate, channels: i.channels, format: i.format, layout: i.layout,
      samples: res.samples, index: res.index, pts: res.pts, time: res.time,
    };
  }

  /** The next chunk of the window, or null at the end. Concurrent calls queue in order. */
  read(): Promise<AudioChunk | null> {
    const p = this.#queue.then(() => this.#readOne());
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #readOne(): Promise<AudioChunk | null> {
    const nat = this.#native;
    if (this.#signal?.aborted) throw abortError(this.#signal, this.#info.source);
    if (!nat) throw new AvcvError('CLOSED', 'the reader is closed', { source: this.#info.source });
    if (this.#done) return null;
    let res;
    try {
      res = this.#signal
        ? await new Promise<NativeAudioChunk | null>((resolve, reject) => {
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
    this.#chunksRead++;
    this.#samplesRead += res.samples;
    if (this.#native === nat) nat.push(this.#alloc());
    return this.#chunkOf(res);
  }

  /** `for await (const chunk of audio)`: read() until the end of the window. */
  async *[Symbol.asyncIterator](): AsyncIterator<AudioChunk> {
    for (;;) {
      const c = await this.read();
      if (!c) return;
      yield c;
    }
  }

  #range(start: number, end: number | null): Promise<AudioChunk> {
    const i = this.#info;
    const run = async () => {
      if (this.#signal?.aborted) throw abortError(this.#signal, i.source);
      const nat = this.#native;
      if (!nat) throw new AvcvError('CLOSED', 'the reader is closed', { source: i.source });
      try {
        return this.#chunkOf(await nat.range(start, end ?? -1, i.maxSamples));
      } catch (err) {
        if (this.#signal?.aborted) throw abortError(this.#signal, i.source);
        if (!this.#native) throw new AvcvError('CLOSED', 'the reader was closed', { source: i.source, cause: err });
        throw fromNative(err, i.source);
      }
    };
    const p = this.#raQueue.then(run);
    this.#raQueue = p.catch(() => undefined);
    return p;
  }

  /** RangeError when [start, end) of the output is known to hold more than maxSamples. */
  #checkSize(what: string, start: number, end: number | null): void {
    const i = this.#info;
    const until = end ?? (i.duration !== null ? i.startTime + i.duration : null);
    if (until === null) return;  // unknown: the native side stops at maxSamples
    const values = Math.max(0, Math.round((until - Math.max(start, i.startTime)) * i.sampleRate)) * i.channels;
    if (values > i.maxSamples) {
      throw new RangeError(`${what}: ${values} samples (across ${i.channels} channels) exceed maxSamples (${i.maxSamples}); raise maxSamples or read chunks`);
    }
  }

  /**
   * Every sample of the window (start/end of open(), the whole stream by
   * default) as one chunk. Refused with a RangeError when it would hold more
   * than maxSamples (across all channels): up front when the duration says
   * so, else once decoding gets there. Independent of iteration.
   */
  async readAll(): Promise<AudioChunk> {
    const { start, end } = this.#info;
    this.#checkSize('readAll', start, end);
    return this.#range(start, end);
  }

  /**
   * The samples played in [start, end) seconds (end omitted: to the end):
   * output samples round((start - startTime) * sampleRate) up to
   * round((end - startTime) * sampleRate), exactly what sequential decoding of
   * the whole stream gives there. Decoded on a second decoder from the
   * stream's start, or continued from the previous samplesAt() when this one
   * starts at or after where it ended (so ascending requests cost one pass).
   */
  async samplesAt(start: number, end?: number): Promise<AudioChunk> {
    const s = seconds('start', start);
    const e = end === undefined ? null : seconds('end', end);
    if (e !== null && e < s) throw new RangeError(`end (${e}) must not be before start (${s})`);
    this.#checkSize('samplesAt', s, e);
    return this.#range(s, e);
  }

  /** Stops decoding and frees native memory. Idempotent. Pending and later reads reject with code 'CLOSED'. */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    const nat = this.#native;
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#closePromise = (async () => {
      if (!nat) return;
      this.#finalStats = nat.stats();
      this.#native = null;
      await nat.close();
    })();
    return this.#closePromise;
  }

  /** `await using audio = ...`: close() when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
