// transform() over chunks on worker threads: the source is split at
// keyframes into frame ranges, each range goes through the frame function
// and the encoder on a worker of a piscina pool (lib/chunk-worker.ts), and
// the encoded pieces are joined natively with the source's audio, copied or
// encoded once (native/core/stitch.h). The output is the single pass's: the
// same frames, timestamps, encoder settings and audio.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Piscina } from 'piscina';
import type { ChunkResult, ChunkTask } from './chunk-worker';
import { AvcvError, fromNative } from './errors';
import { commitSync } from './files';
import { native } from './native';
import { progressReporter } from './progress';
import { VideoReader } from './reader';
import type { VideoReaderOptions } from './reader-options';
import { addNormalization, fileContainer, splitOptions, type TransformOptions, type TransformSummary } from './transform';
import { checkKeys, describe, int, isObject } from './validate';
import { defaultCodec, planWriter, type Container, type VideoWriterOptions } from './writer-options';
import type { DeviceInfo } from './device';

/** A chunk of the plan: display frames [start, end). */
export interface ChunkPlan {
  start: number;
  end: number;
}

/**
 * Split points: keyframes (each chunk decodes from its own), a chunk ending
 * at the first keyframe at least `chunkDuration` seconds after its start.
 */
export function planChunks(times: ArrayLike<number>, keyframes: ArrayLike<number>, chunkDuration: number): ChunkPlan[] {
  const n = times.length;
  const chunks: ChunkPlan[] = [];
  let start = 0;
  for (let j = 0; j < keyframes.length; j++) {
    const k = keyframes[j];
    if (k <= start || k >= n) continue;
    if (times[k] - times[start] >= chunkDuration) {
      chunks.push({ start, end: k });
      start = k;
    }
  }
  if (start < n) chunks.push({ start, end: n });
  return chunks;
}

/** fnModule as a file: URL, checked to exist (the import itself runs on the workers). */
function moduleUrl(fnModule: string | URL): string {
  let file: string;
  if (fnModule instanceof URL || (typeof fnModule === 'string' && fnModule.startsWith('file:'))) {
    const u = new URL(fnModule);
    if (u.protocol !== 'file:') throw new TypeError(`fnModule must be a file path or file: URL; got ${u.href}`);
    file = new URL(u).pathname;
  } else if (typeof fnModule === 'string' && fnModule) {
    file = path.resolve(fnModule);
  } else {
    throw new TypeError(`fnModule must be a module's path or file: URL; got ${describe(fnModule)}`);
  }
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new TypeError(`fnModule: no module at '${file}'`);
  return pathToFileURL(file).href;
}

/** What a worker threw, rebuilt on this thread naming the chunk and frame. */
export function chunkError(r: ChunkResult, plan: ChunkPlan, source: string): Error {
  const e = r.error!;
  const where = `chunk ${r.chunk} (frames ${plan.start}-${plan.end - 1})${e.frame !== null ? `, frame ${e.frame}` : ''}`;
  const message = `${where}: ${e.message}`;
  let err: Error;
  if (e.name === 'TypeError') err = new TypeError(message);
  else if (e.name === 'RangeError') err = new RangeError(message);
  else if (e.name === 'AvcvError' && e.code) err = new AvcvError(e.code as never, message, { source });
  else err = new AvcvError('FN_FAILED', message, { source, cause: Object.assign(new Error(e.message), { name: e.name, stack: e.stack }) });
  Object.assign(err, { chunk: r.chunk, frame: e.frame });
  return err;
}

/** What both ways of running chunks (threads, a queue) take from transform()'s arguments, checked. */
export interface Prepared {
  input: string;
  output: string;
  module: string;
  split: ReturnType<typeof splitOptions>;
  chunkDuration: number | undefined;
  concurrency: number;
  out: NonNullable<TransformOptions['output']>;
  container: Container;
  cfr: boolean;
}

/** Checks transform()'s arguments for a chunked run (`own`: the options only that run takes). */
export function prepare(input: string, output: string, fnModule: string | URL, options: TransformOptions, own: readonly string[]): Prepared & { rest: Record<string, unknown> } {
  if (!isObject(options)) throw new TypeError('transform: options must be an object');
  if (typeof output !== 'string' || !output) throw new TypeError(`output must be a file path; got ${describe(output)}`);
  const module = moduleUrl(fnModule);
  const rest: Record<string, unknown> = { ...options };
  for (const k of own) delete rest[k];
  delete rest.chunkDuration;
  if (rest.gpuPassthrough !== undefined) throw new TypeError('gpuPassthrough applies to transcoding only (fn null)');
  const cd = options.chunkDuration;
  if (cd !== undefined && !(typeof cd === 'number' && Number.isFinite(cd) && cd > 0)) {
    throw new RangeError(`chunkDuration must be a positive number of seconds; got ${describe(cd)}`);
  }
  const split = splitOptions(rest);
  const concurrency = rest.concurrency === undefined ? 1 : int('concurrency', rest.concurrency, 1, 64);
  let out: NonNullable<TransformOptions['output']> = {};
  if (rest.output !== undefined) {
    if (!isObject(rest.output)) throw new TypeError('output must be an object {width, height, format, layout}');
    checkKeys('output', rest.output, ['width', 'height', 'format', 'layout']);
    out = rest.output;
  }
  const container = fileContainer(output, split.writerOpts.container);
  return { input, output, module, split, chunkDuration: cd, concurrency, out, container, cfr: container === 'avi', rest };
}

/**
 * Everything the chunks and the stitch need, as plain data: it crosses
 * into worker threads, and through Redis to other machines (paths, never
 * frames).
 */
export interface JobSpec {
  input: string;
  output: string;
  /** The folder of the saved index and the pieces. */
  work: string;
  frames: number;
  /** Per chunk, less the progress memory each run gives it. */
  tasks: Array<Omit<ChunkTask, 'progress'>>;
  stitch: {
    writer: Record<string, unknown>;
    audio: Record<string, unknown> | null;
    cfr: boolean;
    fps: { num: number; den: number };
    timeBase: { num: number; den: number };
  };
  device: DeviceInfo;
}

/**
 * The plan, made once: the first frame (the output's 0, as the single
 * pass), the frame index (saved in `work` for the workers), chunks at
 * keyframes about `chunkDuration` long (default: about 4 per worker, at
 * least 2 s), and each chunk's task.
 */
export async function planJob(p: Prepared, work: string, workers: number, signal?: AbortSignal): Promise<JobSpec> {
  const { input, split, cfr } = p;
  const { readerOpts, writerOpts, audioMode, audioExtra } = split;
  const reader = await VideoReader.open(input, { ...(readerOpts as VideoReaderOptions), ...(signal ? { signal } : {}) });
  const indexPath = path.join(work, 'index.json');
  let ix;
  let first;
  try {
    first = await reader.read();
    if (!first) throw new AvcvError('NO_FRAMES', `'${input}' gave no frames to write`, { source: input });
    ix = await reader.index();
    await reader.saveIndex(indexPath);
  } finally {
    await reader.close();
  }
  const info = reader.info;
  const tb = info.filter?.timeBase ?? info.stream.timeBase;
  const fps = info.filter && info.filter.frameRate.num > 0 ? info.filter.frameRate
    : info.stream.avgFrameRate.num > 0 ? info.stream.avgFrameRate : info.stream.baseFrameRate;
  const n = ix.frameCount;
  const span = n ? ix.times[n - 1] - ix.times[0] : 0;
  const plan = planChunks(ix.times, ix.keyframes, p.chunkDuration ?? Math.max(2, span / (workers * 4)));
  // each chunk's pts floor: the single pass's nudged timeline up to its start
  const before: Array<number | null> = [];
  let last = -Infinity;
  for (let i = 0, c = 0; i < n && c < plan.length; i++) {
    if (i === plan[c].start) before[c++] = Number.isFinite(last) ? last : null;
    last = Math.max(ix.pts[i] - first.pts, last + 1);
  }
  const readerForWorkers: Record<string, unknown> = { ...readerOpts, index: indexPath };
  const pieceWriter: Record<string, unknown> = { ...writerOpts };
  for (const k of ['container', 'faststart', 'metadata']) delete pieceWriter[k];
  pieceWriter.codec = writerOpts.codec ?? defaultCodec(p.container);  // the output's, not NUT's default
  const rate = { num: fps.num, den: fps.den };
  const tasks = plan.map((c, i) => ({
    chunk: i, input, reader: readerForWorkers, module: p.module, start: c.start, end: c.end,
    piece: path.join(work, `piece-${String(i).padStart(5, '0')}.nut`), writer: pieceWriter, fps: rate,
    timeBase: cfr ? null : { num: tb.num, den: tb.den }, firstPts: first.pts, lastPtsBefore: before[i] ?? null,
    output: p.out, concurrency: p.concurrency,
  }));
  const protocols = readerOpts.protocols as string[] | undefined;
  return {
    input, output: p.output, work, frames: n, tasks,
    stitch: {
      writer: { ...writerOpts }, cfr, fps: rate, timeBase: cfr ? { num: fps.den, den: fps.num } : { num: tb.num, den: tb.den },
      audio: audioMode === 'none' ? null
        : { from: input, mode: audioMode, shift: -first.time, start: first.time, ...(protocols ? { protocols } : {}), ...audioExtra },
    },
    device: info.device,
  };
}

/** What stitchJob() gives back: the parts of the summary the stitch knows. */
export type StitchSummary = Omit<TransformSummary, 'wallTime' | 'chunks' | 'workers' | 'timings'> & { stitchTime: number };

/**
 * Joins the chunks' pieces into the output (a temp file renamed onto it):
 * the pieces that have frames, their timestamps continued (a constant
 * frame rate output numbers its frames across pieces), the audio once.
 */
export async function stitchJob(spec: JobSpec, results: ChunkResult[], signal?: AbortSignal): Promise<StitchSummary> {
  const caller = new Error();
  const t0 = performance.now();
  const { input, output } = spec;
  const sorted = [...results].sort((a, b) => a.chunk - b.chunk);
  const used = sorted.filter((r) => r.framesOut > 0);
  if (used.length === 0) throw new AvcvError('NO_FRAMES', `'${input}' gave no frames to write`, { source: input });
  const { width, height } = used[0];
  const odd = used.find((r) => r.width !== width || r.height !== height);
  if (odd) throw new TypeError(`fn returned ${width}x${height} frames in chunk ${used[0].chunk} and ${odd.width}x${odd.height} in chunk ${odd.chunk}: every frame must have one size`);
  const { cfr, fps, timeBase: tb } = spec.stitch;
  const starts: number[] = [];
  let frames = 0;
  let lastPts: number | null = null;
  let lastDuration = 1;
  for (const r of used) {
    const off = cfr ? frames : 0;
    starts.push(r.firstPts! + off);
    frames += r.framesOut;
    // the single pass's last frame duration: the step between the last two frames written
    const prev = r.prevPts !== null ? r.prevPts + off : lastPts;
    lastPts = r.lastPts! + off;
    if (prev !== null) lastDuration = lastPts - prev;
  }
  const end = ((lastPts! + lastDuration) * tb.num) / tb.den;
  const wp = planWriter(output, {
    ...(spec.stitch.writer as Partial<VideoWriterOptions>), width, height, fps, timeBase: tb,
    ...(spec.stitch.audio ? { audio: spec.stitch.audio as unknown as VideoWriterOptions['audio'] } : {}),
  }, false);
  const job = native().stitch(wp.native, { pieces: used.map((r) => spec.tasks[r.chunk].piece), starts, end });
  const cancel = () => job.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  let s;
  try {
    s = await job.promise;
  } catch (err) {
    fs.rmSync(wp.temp, { force: true });
    if (signal?.aborted) throw new AvcvError('ABORTED', 'the transform was aborted', { source: input, cause: signal.reason });
    throw fromNative(err, input, caller);
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  commitSync(wp.temp, wp.target, 'move the finished file onto');
  const encoder = used[0].encoder;
  return {
    input, output, framesIn: sorted.reduce((a, r) => a + r.framesIn, 0), framesOut: frames, duration: s.videoDuration, encoder,
    audio: s.audioMode, audioCodec: s.audioCodec || null,
    writer: {
      frames, bytes: s.bytes, encoder, pixelFormat: used[0].pixelFormat, audioMode: s.audioMode, audioCodec: s.audioCodec || null,
      videoDuration: s.videoDuration, audioDuration: s.audioDuration, dropped: 0, reconnects: 0, reconnectAttempts: 0,
      connected: true, lastError: null,
    },
    path: 'js', device: spec.device, passthroughReason: null, stitchTime: (performance.now() - t0) / 1000,
  };
}

/** transform(input, output, fnModule, { workers, chunkDuration }): see transform(). */
export async function transformChunked(input: string, output: string, fnModule: string | URL, options: TransformOptions, t0: number): Promise<TransformSummary> {
  const p = prepare(input, output, fnModule, options, ['workers']);
  const workers = options.workers === undefined ? Math.max(1, os.availableParallelism()) : int('workers', options.workers, 1, 64);
  const { onProgress, signal } = p.split;
  const aborted = () => new AvcvError('ABORTED', 'the transform was aborted', { source: input, cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  await addNormalization(input, p.split);

  // the pieces and the saved index go in a hidden folder beside the output
  const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.chunks-`));
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let pool: Piscina | null = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    const spec = await planJob(p, work, workers, stop.signal);
    const tPlan = performance.now();
    const progress = new SharedArrayBuffer(8);
    const done = new Int32Array(progress);
    const halt = () => Atomics.store(done, 1, 1);
    if (stop.signal.aborted) halt();
    else stop.signal.addEventListener('abort', halt, { once: true });
    const report = progressReporter(onProgress, () => spec.frames, t0);
    let reported = -1;
    if (onProgress) {
      timer = setInterval(() => {
        const f = Atomics.load(done, 0);
        if (f !== reported) report((reported = f));
      }, 200);
    }
    // loaded when first used: an app that never asks for workers does not load the pool
    const { Piscina: Pool } = await import('piscina');
    pool = new Pool({ filename: path.join(__dirname, 'chunk-worker.js'), minThreads: Math.min(workers, spec.tasks.length), maxThreads: workers, idleTimeout: 1000 });
    const tasks = spec.tasks.map((t) =>
      // no abort signal for piscina: it would end the worker thread while a
      // result may be on its way; the stop flag ends every chunk at its next frame
      pool!.run({ ...t, progress } satisfies ChunkTask).then((r: ChunkResult) => {
        if (r.error) throw chunkError(r, t, input);
        return r;
      }).catch((err: unknown) => {
        stop.abort(err);  // the first failure stops every other chunk
        throw err;
      }));
    const settled = await Promise.allSettled(tasks);
    if (signal?.aborted) throw aborted();
    // the first failure, not the ABORTED it made the other chunks end with
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason === stop.signal.reason)
      ?? settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<ChunkResult>).value);
    await pool.destroy();
    pool = null;
    const tChunks = performance.now();
    const { stitchTime, ...s } = await stitchJob(spec, results, stop.signal);
    if (onProgress) report(spec.frames);
    return {
      ...s, wallTime: (performance.now() - t0) / 1000, chunks: spec.tasks.length, workers,
      timings: { plan: (tPlan - t0) / 1000, chunks: (tChunks - tPlan) / 1000, stitch: stitchTime },
    };
  } catch (err) {
    if (signal?.aborted && !(err instanceof AvcvError && err.code === 'ABORTED')) throw aborted();
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
    if (pool) {
      stop.abort();
      await pool.destroy().catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}
