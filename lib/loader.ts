import { AvcvError } from './errors';
import type { Layout, PixelFormat } from './formats';
import { VideoReader, allocFrames, framesInto, type VideoReaderOptions } from './reader';
import { checkKeys, describe, int, isObject, oneOf } from './validate';

/** Options of `new VideoLoader(sources, options)`: clip length and spacing, batching, shuffling and the frames' shape. */
export interface VideoLoaderOptions {
  /** Frames per clip (consecutive displayed frames). */
  clipLength: number;
  /** Frames between the starts of two clips of a video (default clipLength: no overlap). */
  stride?: number;
  /** Clips per batch (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** 'none' (default): videos and clips in order; 'videos': video order shuffled; 'clips': every clip shuffled. */
  shuffle?: 'none' | 'videos' | 'clips';
  /** Seed of the shuffle (default 0); epoch k uses seed + k. */
  seed?: number;
  /**
   * The frames' pixel format: 'rgb24' (default: the order models trained in
   * PyTorch expect; note that VideoReader's default is OpenCV's 'bgr24'),
   * 'bgr24', 'gray', 'bgra' or 'rgba'.
   */
  format?: PixelFormat;
  /** 'hwc' gives batches [B, T, H, W, C]; 'chw' gives [B, C, T, H, W]. */
  layout?: 'hwc' | 'chw';
  /** Resize every video's frames, as VideoReaderOptions.resize; all videos must give the same size (else a RangeError). */
  resize?: VideoReaderOptions['resize'];
  /** Batches decoded ahead (default 1): memory is bounded by it. */
  concurrency?: number;
  /** libav protocols the sources may use (default ['file']). */
  protocols?: string[];
}

/** One batch of clips, as iterating a {@link VideoLoader} yields it. */
export interface ClipBatch {
  /** One buffer: B clips x T frames, in the layout's shape. */
  data: Uint8Array;
  /** [B, T, H, W, C] (hwc) or [B, C, T, H, W] (chw); B may be smaller in an epoch's last batch. */
  shape: number[];
  /** The layout of `data`. */
  layout: 'hwc' | 'chw';
  /** The frames' pixel format. */
  format: PixelFormat;
  /** Each clip's video, as given to the loader. */
  sources: string[];
  /** Each clip's first frame, as a display index in its video. */
  startIndices: number[];
  /** Presentation time (s) of every frame of every clip: [B][T]. */
  times: number[][];
}

interface Clip {
  video: number;
  start: number;
}

/** A small, seedable PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], rand: () => number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Clips from many videos in (optionally shuffled, seeded) batches, decoded
 * exactly by random access: Decord's VideoLoader, done right. Iterating the
 * loader runs one epoch in which every clip of every video appears once.
 *
 * @example
 * ```ts
 * const loader = new VideoLoader(['a.mp4', 'b.mp4'], { clipLength: 16, stride: 8, batchSize: 4,
 *   shuffle: 'clips', seed: 1, format: 'rgb24', layout: 'chw', resize: { width: 224, height: 224 } });
 * for await (const batch of loader) {   // one epoch: every clip of every video exactly once
 *   batch.data; batch.shape;            // [4, 3, 16, 224, 224]
 * }
 * await loader.close();
 * ```
 */
export class VideoLoader implements AsyncIterable<ClipBatch> {
  /** The videos, as given. */
  readonly sources: readonly string[];
  #opts: Required<Pick<VideoLoaderOptions, 'clipLength' | 'stride' | 'batchSize' | 'shuffle' | 'seed' | 'concurrency'>> & {
    format: PixelFormat; layout: 'hwc' | 'chw'; resize?: VideoReaderOptions['resize']; protocols?: string[];
  };
  #readers: Promise<VideoReader[]> | null = null;
  #epoch = 0;
  #closed = false;

  constructor(sources: readonly string[], options: VideoLoaderOptions) {
    if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === 'string' && s)) {
      throw new TypeError(`sources must be a non-empty array of paths; got ${describe(sources)}`);
    }
    if (!isObject(options)) throw new TypeError('VideoLoader: options must be an object');
    checkKeys('VideoLoader', options, ['clipLength', 'stride', 'batchSize', 'shuffle', 'seed', 'format', 'layout', 'resize', 'concurrency', 'protocols']);
    const clipLength = int('clipLength', options.clipLength, 1, 100000);
    this.sources = Object.freeze([...sources]);
    this.#opts = {
      clipLength,
      stride: options.stride === undefined ? clipLength : int('stride', options.stride, 1, 1e9),
      batchSize: int('batchSize', options.batchSize, 1, 100000),
      shuffle: options.shuffle === undefined ? 'none' : oneOf('shuffle', options.shuffle, ['none', 'videos', 'clips'] as const),
      seed: options.seed === undefined ? 0 : int('seed', options.seed, 0, 2 ** 32 - 1),
      concurrency: options.concurrency === undefined ? 1 : int('concurrency', options.concurrency, 1, 64),
      format: options.format === undefined ? 'rgb24' : oneOf('format', options.format, ['bgr24', 'rgb24', 'gray', 'bgra', 'rgba'] as const),
      layout: options.layout === undefined ? 'hwc' : oneOf('layout', options.layout, ['hwc', 'chw'] as const),
      resize: options.resize,
      protocols: options.protocols,
    };
  }

  #open(): Promise<VideoReader[]> {
    if (!this.#readers) {
      const o = this.#opts;
      this.#readers = (async () => {
        const readers: VideoReader[] = [];
        try {
          for (const s of this.sources) {
            readers.push(await VideoReader.open(s, {
              format: o.format, layout: o.layout as Layout, ...(o.resize ? { resize: o.resize } : {}),
              ...(o.protocols ? { protocols: o.protocols } : {}), prefetch: 1,
            }));
          }
        } catch (err) {
          await Promise.all(readers.map((r) => r.close()));
          throw err;
        }
        const first = readers[0].info;
        for (const r of readers) {
          if (r.info.width !== first.width || r.info.height !== first.height) {
            await Promise.all(readers.map((x) => x.close()));
            throw new RangeError(`all videos must give the same frame size (use resize): '${r.info.source}' is ${r.info.width}x${r.info.height}, '${first.source}' is ${first.width}x${first.height}`);
          }
        }
        return readers;
      })();
    }
    return this.#readers;
  }

  /** The clips of one epoch, in order (default: the epoch the next iteration runs). */
  async clips(epoch = this.#epoch): Promise<Array<{
    /** The clip's video. */
    source: string;
    /** The clip's first frame, as a display index. */
    start: number;
  }>> {
    const readers = await this.#open();
    return (await this.#plan(readers, epoch)).map((c) => ({ source: this.sources[c.video], start: c.start }));
  }

  async #plan(readers: VideoReader[], epoch: number): Promise<Clip[]> {
    const o = this.#opts;
    const perVideo: Clip[][] = [];
    for (let v = 0; v < readers.length; v++) {
      const n = (await readers[v].index()).frameCount;
      const clips: Clip[] = [];
      for (let s = 0; s + o.clipLength <= n; s += o.stride) clips.push({ video: v, start: s });
      perVideo.push(clips);
    }
    const rand = rng(o.seed + epoch);
    if (o.shuffle === 'clips') return shuffled(perVideo.flat(), rand);
    if (o.shuffle === 'videos') return shuffled(perVideo, rand).flat();
    return perVideo.flat();
  }

  async #batch(readers: VideoReader[], clips: Clip[]): Promise<ClipBatch> {
    const o = this.#opts;
    const info = readers[clips[0].video].info;
    const { width: W, height: H, channels: C, frameBytes } = info;
    const T = o.clipLength;
    const B = clips.length;
    // hwc clips are decoded straight into their slots (ascending indices);
    // the reader pads the buffer for its conversion
    const data = readers[clips[0].video][allocFrames](B * T);
    const times: number[][] = [];
    const plane = W * H;
    for (let b = 0; b < B; b++) {
      const c = clips[b];
      const indices = Array.from({ length: T }, (_, t) => c.start + t);
      if (o.layout === 'hwc') {  // [B, T, H, W, C]: no copy
        const frames = await readers[c.video][framesInto](indices, data, b * T * frameBytes);
        times.push(frames.map((f) => f.time));
        continue;
      }
      const frames = await readers[c.video].frames(indices);
      times.push(frames.map((f) => f.time));
      frames.forEach((f, t) => {  // [B, C, T, H, W]: each plane copied into place
        for (let ch = 0; ch < C; ch++) {
          data.set(f.data.subarray(ch * plane, (ch + 1) * plane), ((b * C + ch) * T + t) * plane);
        }
      });
    }
    return {
      data,
      shape: o.layout === 'hwc' ? [B, T, H, W, C] : [B, C, T, H, W],
      layout: o.layout,
      format: o.format,
      sources: clips.map((c) => this.sources[c.video]),
      startIndices: clips.map((c) => c.start),
      times,
    };
  }

  /** One epoch of batches; at most `concurrency` batches are decoded ahead. */
  async *[Symbol.asyncIterator](): AsyncIterator<ClipBatch> {
    if (this.#closed) throw new AvcvError('CLOSED', 'the loader is closed');
    const readers = await this.#open();
    const plan = await this.#plan(readers, this.#epoch++);
    const o = this.#opts;
    const groups: Clip[][] = [];
    for (let i = 0; i < plan.length; i += o.batchSize) groups.push(plan.slice(i, i + o.batchSize));
    const inflight: Promise<ClipBatch>[] = [];
    let next = 0;
    const fill = () => {
      while (inflight.length < o.concurrency && next < groups.length) {
        const p = this.#batch(readers, groups[next++]);
        p.catch(() => undefined);  // awaited in order below
        inflight.push(p);
      }
    };
    fill();
    while (inflight.length) {
      const batch = await inflight.shift()!;
      fill();
      yield batch;
    }
  }

  /** Closes every reader. */
  async close(): Promise<void> {
    this.#closed = true;
    const r = this.#readers;
    this.#readers = null;
    if (r) await Promise.all((await r.catch(() => [] as VideoReader[])).map((x) => x.close()));
  }
}
