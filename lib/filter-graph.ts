// FilterGraph: a libavfilter graph that JS pushes frames into and pulls
// frames from (PyAV's av.filter.Graph), for frames that do not come straight
// from a file: after cv operations, from several sources (overlay, hstack,
// amix), or split into several outputs.
import type { NativeFilterGraph, NativeGraphInput, NativeGraphOutput, NativeGraphPad, NativeRational } from '../types/native';
import { AvcvError, fromNative } from './errors';
import { Frame, holdMemory } from './frame';
import { PIXEL_FORMATS, byteLength, type PixelFormat } from './formats';
import { native } from './native';
import { toRational } from './writer-options';
import { bool, checkKeys, describe, filterGraph, int, isObject, oneOf } from './validate';
import type { AudioChunk, SampleFormat, SampleLayout } from './audio';

/** A video input: frames of this size and format (hwc, or planar for YUV). */
export interface VideoGraphInput {
  /** Frame width in pixels (1..16384). */
  width: number;
  /** Frame height in pixels (1..16384). */
  height: number;
  /** The frames' pixel format (hwc, or planar for yuv420p/nv12; chw is refused). */
  format: PixelFormat;
  /** The time base of the pts you push (default 1/fps). */
  timeBase?: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
  /** Frame rate (default 25): the graph's frame_rate, and the step for frames pushed without increasing pts. */
  fps?: number | {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
}
/** An audio input: chunks of samples in this rate, channel count and sample format. */
export interface AudioGraphInput {
  /** Samples per second per channel, 1000..768000 Hz. */
  sampleRate: number;
  /** Channel count, 1..64 (libav's default layout for that count). */
  channels: number;
  /** 'f32' (default: Float32Array data) or 's16' (Int16Array). */
  format?: SampleFormat;
  /** 'interleaved' (default) or 'planar'. */
  layout?: SampleLayout;
  /** The time base of the pts you push (default 1/sampleRate). */
  timeBase?: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
}
/** An output's format: a pixel format for video outputs, 'f32' | 's16' (and a layout) for audio ones. */
export type GraphOutput = {
  /** The video output's pixel format. */
  format: PixelFormat;
} | {
  /** The audio output's sample format. */
  format: SampleFormat;
  /** 'interleaved' (default) or 'planar'. */
  layout?: SampleLayout;
};

/** Options of `new FilterGraph(graph, options)`. */
export interface FilterGraphOptions {
  /** The graph's inputs, in the order the graph string leaves them open: video ({ width, height, format }) or audio ({ sampleRate, channels }). */
  inputs: Array<VideoGraphInput | AudioGraphInput>;
  /** The outputs' formats, in the graph's order of open outputs; default: one output in the first input's format. */
  outputs?: GraphOutput[];
  /** Let the graph name filters that open files or URLs (movie, subtitles, ...): trusted graphs only. */
  allowNestedInputs?: boolean;
  /** libavfilter threads (0 = auto, the default). */
  threads?: number;
}

/** One output of a configured graph (FilterGraph.outputs). */
export interface GraphOutputInfo {
  /** 'video' (pull() gives Frames) or 'audio' (pull() gives AudioChunks). */
  type: 'video' | 'audio';
  /** The time base of the pulled frames' pts. */
  timeBase: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
  /** Video: width in pixels. */
  width?: number;
  /** Video: height in pixels. */
  height?: number;
  /** Video: the frame rate the graph declares (0/1 when it does not know). */
  frameRate?: {
    /** Numerator. */
    num: number;
    /** Denominator. */
    den: number;
  };
  /** Audio: samples per second per channel. */
  sampleRate?: number;
  /** Audio: channel count. */
  channels?: number;
  /** The pixel format (video) or sample format (audio) of what pull() gives. */
  format: PixelFormat | SampleFormat;
  /** Audio: 'interleaved' or 'planar'. */
  layout?: SampleLayout;
}

type InputSpec =
  | { type: 'video'; width: number; height: number; format: PixelFormat; bytes: number; tb: NativeRational; step: number; last: number }
  | { type: 'audio'; sampleRate: number; channels: number; format: SampleFormat; layout: SampleLayout; tb: NativeRational; last: number; next: number };

const SAMPLE_FORMATS = ['f32', 's16'] as const;
const SAMPLE_LAYOUTS = ['interleaved', 'planar'] as const;

function rational(name: string, v: unknown): NativeRational {
  if (!isObject(v)) throw new TypeError(`${name} must be {num, den}; got ${describe(v)}`);
  return { num: int(`${name}.num`, v.num, 1, 2 ** 31 - 1), den: int(`${name}.den`, v.den, 1, 2 ** 31 - 1) };
}

function fpsOf(v: unknown): NativeRational {
  if (v === undefined) return { num: 25, den: 1 };
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0 || v > 1000) throw new RangeError(`fps must be within (0, 1000]; got ${v}`);
    // 29.97 -> 30000/1001, 12.5 -> 25/2 (exact, as the writer reads fps)
    const r = toRational('fps', v);
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    const g = gcd(r.num, r.den);
    return { num: r.num / g, den: r.den / g };
  }
  return rational('fps', v);
}

function inputSpec(i: number, v: unknown): { spec: InputSpec; native: NativeGraphInput } {
  const name = `inputs[${i}]`;
  if (!isObject(v)) throw new TypeError(`${name} must be an object; got ${describe(v)}`);
  if ('sampleRate' in v) {
    checkKeys(name, v, ['sampleRate', 'channels', 'format', 'layout', 'timeBase']);
    const sampleRate = int(`${name}.sampleRate`, v.sampleRate, 1000, 768000);
    const channels = int(`${name}.channels`, v.channels, 1, 64);
    const format = v.format === undefined ? 'f32' : oneOf(`${name}.format`, v.format, SAMPLE_FORMATS);
    const layout = v.layout === undefined ? 'interleaved' : oneOf(`${name}.layout`, v.layout, SAMPLE_LAYOUTS);
    const tb = v.timeBase === undefined ? { num: 1, den: sampleRate } : rational(`${name}.timeBase`, v.timeBase);
    return {
      spec: { type: 'audio', sampleRate, channels, format, layout, tb, last: -Infinity, next: 0 },
      native: { type: 'audio', sampleRate, channels, format, layout, timeBase: tb },
    };
  }
  checkKeys(name, v, ['width', 'height', 'format', 'timeBase', 'fps']);
  const width = int(`${name}.width`, v.width, 1, 16384);
  const height = int(`${name}.height`, v.height, 1, 16384);
  const format = oneOf(`${name}.format`, v.format, PIXEL_FORMATS);
  if ((format === 'yuv420p' || format === 'nv12') && (width % 2 || height % 2)) throw new RangeError(`${name}: ${format} needs an even width and height`);
  const fps = fpsOf(v.fps);
  const tb = v.timeBase === undefined ? { num: fps.den, den: fps.num } : rational(`${name}.timeBase`, v.timeBase);
  const step = Math.max(1, Math.round((fps.den * tb.den) / (fps.num * tb.num)));
  const layout = format === 'yuv420p' || format === 'nv12' ? 'planar' : 'hwc';
  return {
    spec: { type: 'video', width, height, format, bytes: byteLength(format, layout, width, height), tb, step, last: -Infinity },
    native: { type: 'video', width, height, format, layout, timeBase: tb, frameRate: fps },
  };
}

function outputSpec(i: number, v: unknown): NativeGraphOutput {
  const name = `outputs[${i}]`;
  if (!isObject(v)) throw new TypeError(`${name} must be an object {format}; got ${describe(v)}`);
  checkKeys(name, v, ['format', 'layout']);
  if ((SAMPLE_FORMATS as readonly unknown[]).includes(v.format)) {
    return { type: 'audio', format: v.format as SampleFormat, layout: v.layout === undefined ? 'interleaved' : oneOf(`${name}.layout`, v.layout, SAMPLE_LAYOUTS) };
  }
  if (v.layout !== undefined) throw new TypeError(`${name}.layout applies to audio outputs`);
  return { type: 'video', format: oneOf(`${name}.format`, v.format, [...PIXEL_FORMATS, ...SAMPLE_FORMATS]) as PixelFormat };
}

/**
 * A libavfilter graph fed from JS. Open inputs and outputs are taken in the
 * order the graph string leaves them open (as `-filter_complex` does):
 *
 * ```ts
 * const g = new FilterGraph('[0][1]overlay=10:10', { inputs: [a.info, b.info].map(({ width, height, format }) => ({ width, height, format })) });
 * await g.push(frameA, 0); await g.push(frameB, 1);
 * const out = await g.pull();  // a Frame, or null when the graph needs more input
 * ```
 *
 * @example
 * ```ts
 * // reader: a VideoReader of 1280x720 bgr24 frames
 * const g = new FilterGraph('hflip,scale=640:-2', { inputs: [{ width: 1280, height: 720, format: 'bgr24', fps: 25 }] });
 * for await (const frame of reader) {
 *   await g.push(frame);
 *   for (let f = await g.pull(); f; f = await g.pull()) console.log(f.pts);   // 640x360 Frames
 * }
 * await g.flush();                                  // end of input: drain what the graph holds
 * for (let f = await g.pull(); f; f = await g.pull()) console.log(f.pts);
 * await g.close();
 * ```
 *
 * Filtering runs off the event loop (the libuv pool), one call at a time, in
 * the order the calls were made. Frames pushed with a pts that does not
 * increase get the previous one plus one frame (video) or the samples pushed
 * so far (audio). Errors: a bad graph is an AvcvError 'INVALID_FILTER', a
 * file-opening filter 'NESTED_INPUT_BLOCKED'; a frame of the wrong size or
 * format a TypeError.
 */
export class FilterGraph {
  #native: NativeFilterGraph | null;
  #inputs: InputSpec[];
  #outputs: GraphOutputInfo[];
  #ended: boolean[];
  #queue: Promise<unknown> = Promise.resolve();
  /** The graph string, as given (the CLI's -vf/-af/-filter_complex syntax). */
  readonly graph: string;

  /**
   * Parses and configures `graph` (libavfilter's syntax, e.g.
   * '[0][1]overlay=10:10' or 'split[a][b];[a]hflip[o1];[b]vflip[o2]') for the
   * inputs and outputs given. Throws AvcvError 'INVALID_FILTER' when
   * libavfilter cannot, and 'NESTED_INPUT_BLOCKED' for a file-opening filter
   * without allowNestedInputs.
   */
  constructor(graph: string, options: FilterGraphOptions) {
    this.graph = filterGraph('graph', graph);
    if (!isObject(options)) throw new TypeError('FilterGraph: options must be an object {inputs, outputs}');
    checkKeys('FilterGraph', options, ['inputs', 'outputs', 'allowNestedInputs', 'threads']);
    if (!Array.isArray(options.inputs)) throw new TypeError(`inputs must be an array; got ${describe(options.inputs)}`);
    const ins = options.inputs.map((v, i) => inputSpec(i, v));
    this.#inputs = ins.map((x) => x.spec);
    let outs: NativeGraphOutput[];
    if (options.outputs === undefined) {
      const first = ins[0]?.native;
      outs = !first ? [{ type: 'video', format: 'bgr24' }]
        : first.type === 'video' ? [{ type: 'video', format: first.format }] : [{ type: 'audio', format: first.format, layout: first.layout }];
    } else {
      if (!Array.isArray(options.outputs) || options.outputs.length === 0) throw new TypeError('outputs must be a non-empty array of {format}');
      outs = options.outputs.map((v, i) => outputSpec(i, v));
    }
    const opts = {
      allowNestedInputs: options.allowNestedInputs === undefined ? false : bool('allowNestedInputs', options.allowNestedInputs),
      threads: options.threads === undefined ? 0 : int('threads', options.threads, 0, 64),
    };
    try {
      this.#native = new (native().NativeFilterGraph)(this.graph, ins.map((x) => x.native), outs, opts);
    } catch (err) {
      throw fromNative(err);
    }
    const pads = this.#native.info() as NativeGraphPad[];
    this.#outputs = pads.map((p, i): GraphOutputInfo => {
      const o = outs[i];
      if (p.type !== o.type) {
        this.#native?.close();
        throw new TypeError(`outputs[${i}]: the graph's output ${i} is ${p.type}; got a ${o.type} format`);
      }
      return {
        type: p.type, timeBase: p.timeBase, format: o.format as PixelFormat | SampleFormat,
        ...(p.type === 'video' ? { width: p.width, height: p.height, frameRate: p.frameRate } : { sampleRate: p.sampleRate, channels: p.channels }),
        ...(o.type === 'audio' ? { layout: o.layout } : {}),
      };
    });
    this.#ended = this.#outputs.map(() => false);
  }

  /** Each output's size, rate, time base and format, as the configured graph says. */
  get outputs(): readonly GraphOutputInfo[] {
    return this.#outputs;
  }

  #run<T>(fn: (nat: NativeFilterGraph) => Promise<T>): Promise<T> {
    const p = this.#queue.then(() => {
      const nat = this.#native;
      if (!nat) throw new AvcvError('CLOSED', 'the filter graph is closed');
      return fn(nat);
    }).catch((err: unknown) => {
      throw err instanceof AvcvError || err instanceof TypeError || err instanceof RangeError ? err : fromNative(err);
    });
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Feeds a frame (video input: a Frame of the input's size and format) or a
   * chunk of samples (audio input: {data, pts?} with data a Float32Array or
   * Int16Array of the input's format) to input `input`; null ends it.
   */
  push(frame: Frame | Pick<AudioChunk, 'data'> & { pts?: number } | null, input = 0): Promise<void> {
    const i = int('input', input, 0, this.#inputs.length - 1);
    const spec = this.#inputs[i];
    if (frame === null) return this.#run((nat) => nat.push(i, null, 0, 0));
    let bytes: Uint8Array;
    let samples = 0;
    let pts: number;
    const given = (frame as { pts?: unknown }).pts;
    if (spec.type === 'video') {
      if (!(frame instanceof Frame)) throw new TypeError(`input ${i} takes Frames; got ${describe(frame)}`);
      if (frame.width !== spec.width || frame.height !== spec.height || frame.format !== spec.format || frame.layout === 'chw') {
        throw new TypeError(`input ${i} takes ${spec.width}x${spec.height} ${spec.format} frames; got ${frame.width}x${frame.height} ${frame.format} ${frame.layout}`);
      }
      bytes = frame.data;
      pts = typeof given === 'number' && Number.isInteger(given) && given > spec.last ? given : spec.last === -Infinity ? 0 : spec.last + spec.step;
    } else {
      const data = (frame as { data?: unknown }).data;
      const Want = spec.format === 's16' ? Int16Array : Float32Array;
      if (!(data instanceof Want)) throw new TypeError(`input ${i} takes ${spec.format} samples (${Want.name}); got ${describe(data)}`);
      if (data.length === 0 || data.length % spec.channels) throw new TypeError(`input ${i}: ${data.length} values are not whole samples of ${spec.channels} channels`);
      samples = data.length / spec.channels;
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const auto = Math.round((spec.next * spec.tb.den) / (spec.sampleRate * spec.tb.num));
      pts = typeof given === 'number' && Number.isInteger(given) && given > spec.last ? given : Math.max(auto, spec.last + 1);
      spec.next += samples;
    }
    spec.last = pts;
    const nat = this.#native;
    if (!nat) return Promise.reject(new AvcvError('CLOSED', 'the filter graph is closed'));
    const done = holdMemory(bytes);  // a release() of the frame meanwhile waits for the push
    const pushed = this.#run(() => nat.push(i, bytes, pts, samples));
    pushed.then(done, done);
    return pushed;
  }

  /** Ends every input: later pulls drain what the graph still holds. */
  flush(): Promise<void> {
    return this.#run(async (nat) => {
      for (let i = 0; i < this.#inputs.length; i++) await nat.push(i, null, 0, 0);
    });
  }

  /** True once output `output` has given its last frame. */
  ended(output = 0): boolean {
    return this.#ended[int('output', output, 0, this.#outputs.length - 1)];
  }

  /**
   * The next frame of output `output`: a Frame (video) or an AudioChunk
   * (audio), or null when the graph needs more input or has ended (ended()
   * says which).
   */
  pull(output = 0): Promise<Frame | AudioChunk | null> {
    const o = int('output', output, 0, this.#outputs.length - 1);
    const info = this.#outputs[o];
    return this.#run(async (nat) => {
      const r = await nat.pull(o);
      if (r === 'again') return null;
      if (r === 'end') {
        this.#ended[o] = true;
        return null;
      }
      const tb = info.timeBase;
      const time = (r.pts * tb.num) / tb.den;
      // typed views need aligned offsets: a copy when the addon's buffer is not
      if (r.data.byteOffset % 4) r.data = Buffer.from(r.data);
      if (info.type === 'video') {
        return new Frame({ data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength), width: r.width, height: r.height, format: info.format as PixelFormat, pts: r.pts, time });
      }
      const s16 = info.format === 's16';
      const data = s16 ? new Int16Array(r.data.buffer, r.data.byteOffset, r.data.byteLength / 2) : new Float32Array(r.data.buffer, r.data.byteOffset, r.data.byteLength / 4);
      return {
        data, sampleRate: info.sampleRate!, channels: info.channels!, format: info.format as SampleFormat, layout: info.layout!,
        samples: r.samples, index: Math.round(time * info.sampleRate!), pts: r.pts, time,
      };
    });
  }

  /** Frees the graph once the calls already made have finished. */
  async close(): Promise<void> {
    await this.#queue;
    this.#native?.close();
    this.#native = null;
  }

  /** `await using g = new FilterGraph(...)`: close() when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
