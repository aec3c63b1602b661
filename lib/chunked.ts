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
import { defaultCodec, planWriter, type VideoWriterOptions } from './writer-options';

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
function chunkError(r: ChunkResult, plan: ChunkPlan, source: string): Error {
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

/** transform(input, output, fnModule, { workers, chunkDuration }): see transform(). */
export async function transformChunked(input: string, output: string, fnModule: string | URL, options: TransformOptions, t0: number): Promise<TransformSummary> {
  const caller = new Error();
  if (!isObject(options)) throw new TypeError('transform: options must be an object');
  const url = moduleUrl(fnModule);
  const { workers: w, chunkDuration: cd, ...rest } = options;
  if (rest.gpuPassthrough !== undefined) throw new TypeError('gpuPassthrough applies to transcoding only (fn null)');
  const workers = w === undefined ? Math.max(1, os.availableParallelism()) : int('workers', w, 1, 64);
  if (cd !== undefined && !(typeof cd === 'number' && Number.isFinite(cd) && cd > 0)) {
    throw new RangeError(`chunkDuration must be a positive number of seconds; got ${describe(cd)}`);
  }
  const split = splitOptions(rest);
  const { readerOpts, writerOpts, audioMode, audioExtra, onProgress, signal } = split;
  const concurrency = rest.concurrency === undefined ? 1 : int('concurrency', rest.concurrency, 1, 64);
  let out: NonNullable<TransformOptions['output']> = {};
  if (rest.output !== undefined) {
    if (!isObject(rest.output)) throw new TypeError('output must be an object {width, height, format, layout}');
    checkKeys('output', rest.output, ['width', 'height', 'format', 'layout']);
    out = rest.output;
  }
  const container = fileContainer(output, writerOpts.container);
  const cfr = container === 'avi';
  if (typeof output !== 'string' || !output) throw new TypeError(`output must be a file path; got ${describe(output)}`);
  const aborted = () => new AvcvError('ABORTED', 'the transform was aborted', { source: input, cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  await addNormalization(input, split);

  // the pieces and the saved index go in a hidden folder beside the output
  const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.chunks-`));
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let pool: Piscina | null = null;
  let timer: NodeJS.Timeout | null = null;
  let temp: string | null = null;
  try {
    // the plan: the first frame (the output's 0, as the single pass), the index, chunks at keyframes
    const reader = await VideoReader.open(input, { ...(readerOpts as VideoReaderOptions), signal: stop.signal });
    let ix;
    let first;
    const indexPath = path.join(work, 'index.json');
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
    const chunkDuration = cd ?? Math.max(2, span / (workers * 4));
    const plan = planChunks(ix.times, ix.keyframes, chunkDuration);
    // each chunk's pts floor: the single pass's nudged timeline up to its start
    const before: Array<number | null> = [];
    {
      let last = -Infinity;
      let c = 0;
      for (let i = 0; i < n && c < plan.length; i++) {
        if (i === plan[c].start) before[c++] = Number.isFinite(last) ? last : null;
        last = Math.max(ix.pts[i] - first.pts, last + 1);
      }
    }

    const progress = new SharedArrayBuffer(8);
    const done = new Int32Array(progress);
    const halt = () => Atomics.store(done, 1, 1);
    if (stop.signal.aborted) halt();
    else stop.signal.addEventListener('abort', halt, { once: true });
    const report = progressReporter(onProgress, () => n, t0);
    let reported = -1;
    if (onProgress) {
      timer = setInterval(() => {
        const f = Atomics.load(done, 0);
        if (f !== reported) report((reported = f));
      }, 200);
    }
    // loaded when first used: an app that never asks for workers does not load the pool
    const { Piscina: Pool } = await import('piscina');
    pool = new Pool({ filename: path.join(__dirname, 'chunk-worker.js'), minThreads: Math.min(workers, plan.length), maxThreads: workers, idleTimeout: 1000 });
    const readerForWorkers: Record<string, unknown> = { ...readerOpts, index: indexPath };
    const writerForPieces: Record<string, unknown> = { ...writerOpts };
    for (const k of ['container', 'faststart', 'metadata']) delete writerForPieces[k];
    writerForPieces.codec = writerOpts.codec ?? defaultCodec(container);  // the output's, not NUT's default
    const pieces = plan.map((_, c) => path.join(work, `piece-${String(c).padStart(5, '0')}.nut`));
    const tasks = plan.map((p, c) => {
      const task: ChunkTask = {
        chunk: c, input, reader: readerForWorkers, module: url, start: p.start, end: p.end, piece: pieces[c],
        writer: writerForPieces, fps: { num: fps.num, den: fps.den }, timeBase: cfr ? null : { num: tb.num, den: tb.den },
        firstPts: first.pts, lastPtsBefore: before[c] ?? null, output: out, concurrency, progress,
      };
      // no abort signal for piscina: it would end the worker thread while a
      // result may be on its way; a stop flag ends every chunk at its next frame
      return pool!.run(task).then((r: ChunkResult) => {
        if (r.error) throw chunkError(r, p, input);
        return r;
      }).catch((err: unknown) => {
        stop.abort(err);  // the first failure stops every other chunk
        throw err;
      });
    });
    const settled = await Promise.allSettled(tasks);
    if (signal?.aborted) throw aborted();
    // the first failure, not the ABORTED it made the other chunks end with
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason === stop.signal.reason)
      ?? settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<ChunkResult>).value);
    await pool.destroy();
    pool = null;

    // the pieces that have frames, their timestamps continued (a constant
    // frame rate output numbers frames across pieces)
    const used = results.filter((r) => r.framesOut > 0);
    if (used.length === 0) throw new AvcvError('NO_FRAMES', `'${input}' gave no frames to write`, { source: input });
    const { width, height } = used[0];
    const odd = used.find((r) => r.width !== width || r.height !== height);
    if (odd) throw new TypeError(`fn returned ${width}x${height} frames in chunk ${used[0].chunk} and ${odd.width}x${odd.height} in chunk ${odd.chunk}: every frame must have one size`);
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
    const outTb = cfr ? { num: fps.den, den: fps.num } : { num: tb.num, den: tb.den };
    const end = ((lastPts! + lastDuration) * outTb.num) / outTb.den;

    const firstTime = first.time;
    const wp = planWriter(output, {
      ...(writerOpts as Partial<VideoWriterOptions>),
      width, height, fps: { num: fps.num, den: fps.den }, timeBase: outTb,
      ...(audioMode !== 'none' ? { audio: { from: input, mode: audioMode, shift: -firstTime, start: firstTime, protocols: rest.protocols as string[] | undefined, ...audioExtra } } : {}),
    }, false);
    temp = wp.temp;
    const job = native().stitch(wp.native, { pieces: used.map((r) => pieces[r.chunk]), starts, end });
    const cancel = () => job.cancel();
    stop.signal.addEventListener('abort', cancel, { once: true });
    let s;
    try {
      s = await job.promise;
    } catch (err) {
      if (signal?.aborted) throw aborted();
      throw fromNative(err, input, caller);
    } finally {
      stop.signal.removeEventListener('abort', cancel);
    }
    commitSync(wp.temp, wp.target, 'move the finished file onto');
    temp = null;
    if (onProgress) report(n);
    const framesIn = results.reduce((a, r) => a + r.framesIn, 0);
    return {
      input, output, framesIn, framesOut: frames, duration: s.videoDuration, encoder: used[0].encoder,
      audio: s.audioMode, audioCodec: s.audioCodec || null, wallTime: (performance.now() - t0) / 1000,
      writer: {
        frames, bytes: s.bytes, encoder: used[0].encoder, pixelFormat: used[0].pixelFormat,
        audioMode: s.audioMode, audioCodec: s.audioCodec || null, videoDuration: s.videoDuration, audioDuration: s.audioDuration,
        dropped: 0, reconnects: 0, reconnectAttempts: 0, connected: true, lastError: null,
      },
      path: 'js', device: info.device, passthroughReason: null, chunks: plan.length, workers,
    };
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
    if (pool) {
      stop.abort();
      await pool.destroy().catch(() => undefined);
    }
    if (temp) fs.rmSync(temp, { force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}
