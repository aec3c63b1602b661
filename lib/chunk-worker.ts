// One chunk of a chunked transform, on a worker thread of the pool
// (lib/chunked.ts): frames [start, end) of the source by exact random access
// (the saved frame index, so no worker scans the file again), the frame
// function on each, and the results encoded into a video-only NUT piece
// with the single pass's timestamps. NUT keeps any time base exactly; the
// stitcher copies the packets into the real output with the audio.
import { AvcvError } from './errors';
import { Frame } from './frame';
import type { Layout, PixelFormat } from './formats';
import { VideoReader } from './reader';
import type { VideoReaderOptions } from './reader-options';
import type { TransformFn } from './transform';
import { describe } from './validate';
import { VideoWriter } from './writer';
import type { VideoWriterOptions } from './writer-options';

export interface ChunkTask {
  chunk: number;
  input: string;
  /** The source's reader options (no signal), with the saved index. */
  reader: Record<string, unknown>;
  /** file: URL of the frame function's module. */
  module: string;
  start: number;
  end: number;
  piece: string;
  /** Writer options shared by every piece (codec, crf, ...); size and shape follow fn's first result. */
  writer: Record<string, unknown>;
  fps: { num: number; den: number };
  /** The video time base (null: constant frame rate, frames numbered from 0 in the piece). */
  timeBase: { num: number; den: number } | null;
  /** The source's first frame's pts: the output's 0. */
  firstPts: number;
  /** The output pts of the frame before `start` (a repeated timestamp is nudged past it), or null. */
  lastPtsBefore: number | null;
  output: { width?: number; height?: number; format?: PixelFormat; layout?: Layout };
  concurrency: number;
  /** Int32Array over it: [0] frames done across every chunk; [1] set to stop every chunk (abort, or another chunk failed). */
  progress: SharedArrayBuffer;
}

export interface ChunkResult {
  chunk: number;
  framesIn: number;
  framesOut: number;
  /** The first and the last two output pts written (null when fewer), in the piece's time base. */
  firstPts: number | null;
  lastPts: number | null;
  prevPts: number | null;
  width: number;
  height: number;
  encoder: string;
  pixelFormat: string;
  /** Set instead of the rest when the chunk failed: what was thrown, made cloneable. */
  error?: { name: string; message: string; code?: string; frame: number | null; stack?: string };
}

const modules = new Map<string, Promise<TransformFn>>();

/** The module's default export, once per worker. */
function load(url: string): Promise<TransformFn> {
  let p = modules.get(url);
  if (!p) {
    p = import(url).then((m: { default?: unknown }) => {
      const fn = m.default;
      if (typeof fn !== 'function') {
        throw new TypeError(`fnModule '${url}' must have a default export that is the frame function; ${fn === undefined ? 'it has none' : `got ${describe(fn)}`}`);
      }
      return fn as TransformFn;
    });
    modules.set(url, p);
  }
  return p;
}

export default async function runChunk(t: ChunkTask): Promise<ChunkResult> {
  const done = new Int32Array(t.progress);
  const r: ChunkResult = { chunk: t.chunk, framesIn: 0, framesOut: 0, firstPts: null, lastPts: null, prevPts: null, width: 0, height: 0, encoder: '', pixelFormat: '' };
  let frameAt: number | null = null;
  let reader: VideoReader | null = null;
  let writer: VideoWriter | null = null;
  const pending: Array<{ frame: Frame; result: Promise<Frame | Uint8Array | null | undefined> }> = [];
  const stopped = () => {
    if (Atomics.load(done, 1)) throw new AvcvError('ABORTED', 'the transform was stopped', { source: t.input });
  };
  try {
    stopped();
    const fn = await load(t.module);
    reader = await VideoReader.open(t.input, t.reader as VideoReaderOptions);
    const info = reader.info;
    let lastPts = t.lastPtsBefore ?? -Infinity;
    const emit = async (frame: Frame, result: Frame | Uint8Array | null | undefined) => {
      frameAt = frame.index;
      if (result === null || result === undefined) return;
      if (!(result instanceof Frame) && !(result instanceof Uint8Array)) {
        throw new TypeError(`fn must return a Frame, a Uint8Array or null; got ${describe(result)}`);
      }
      if (!writer) {
        const isFrame = result instanceof Frame;
        const o: VideoWriterOptions = {
          ...(t.writer as Partial<VideoWriterOptions>),
          width: isFrame ? result.width : (t.output.width ?? info.width),
          height: isFrame ? result.height : (t.output.height ?? info.height),
          inputFormat: isFrame ? result.format : (t.output.format ?? info.format),
          inputLayout: isFrame ? result.layout : (t.output.layout ?? info.layout),
          fps: t.fps, container: 'nut',
          ...(t.timeBase ? { timeBase: t.timeBase } : {}),
        };
        writer = await VideoWriter.open(t.piece, o);
        r.width = o.width;
        r.height = o.height;
      }
      const w: VideoWriter = writer;
      if (!t.timeBase) {
        await w.write(result);
        r.prevPts = r.lastPts;
        r.lastPts = r.framesOut;
      } else {
        // as the single pass: a repeated or backwards timestamp is nudged forward
        const pts = Math.max(frame.pts - t.firstPts, lastPts + 1);
        lastPts = pts;
        await w.write(result, { pts });
        r.prevPts = r.lastPts;
        r.lastPts = pts;
      }
      r.firstPts ??= r.lastPts;
      r.framesOut++;
    };
    for await (const frame of reader.range({ start: t.start, end: t.end })) {
      stopped();
      frameAt = frame.index;
      r.framesIn++;
      const result = Promise.resolve().then(() => fn(frame));
      result.catch(() => undefined);  // handled when its turn comes
      pending.push({ frame, result });
      while (pending.length >= t.concurrency) {
        const p = pending.shift()!;
        await emit(p.frame, await p.result);
        Atomics.add(done, 0, 1);
      }
    }
    while (pending.length) {
      const p = pending.shift()!;
      await emit(p.frame, await p.result);
      Atomics.add(done, 0, 1);
    }
    if (writer) {
      const w: VideoWriter = writer;
      writer = null;
      const st = await w.close();
      r.encoder = st.encoder;
      r.pixelFormat = st.pixelFormat;
    }
    return r;
  } catch (err) {
    await Promise.allSettled(pending.map((p) => p.result));
    const e = err as Error & { code?: string };
    return {
      ...r,
      error: {
        name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(err),
        ...(e instanceof AvcvError || typeof e?.code === 'string' ? { code: e.code } : {}),
        frame: frameAt, ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
      },
    };
  } finally {
    const w = writer as VideoWriter | null;
    if (w) await w.abort().catch(() => undefined);
    await reader?.close();
  }
}
