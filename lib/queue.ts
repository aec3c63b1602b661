// Chunked transform() across machines: the caller plans the job (frame
// index, chunks at keyframes) into a folder beside the output and enqueues
// it through BullMQ as a flow: a parent job (the stitch) with one child per
// chunk. Workers (startWorker(), `avcv worker`) on any machine that sees the
// same files run the chunks on a thread pool and, once every chunk is done,
// the stitch. Job data carries paths, never frames.
//
// Faults: a worker that dies mid-chunk loses its lock and BullMQ's stalled
// check gives the chunk to another worker; a chunk that fails for good fails
// the parent (failParentOnFailure) and the caller's promise with that
// chunk's error; a chunk's piece and result are written atomically and kept
// under a folder named after the job, so calling transform() again resumes
// a failed or interrupted job without redoing finished chunks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Job, Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { Piscina } from 'piscina';
import type { ChunkResult, ChunkTask } from './chunk-worker';
import { chunkError, planJob, prepare, stitchJob, type JobSpec, type StitchSummary } from './chunked';
import { AvcvError, ERROR_CODES, type AvcvErrorCode } from './errors';
import { writeAtomicSync } from './files';
import { progressReporter } from './progress';
import { addNormalization, type TransformOptions, type TransformSummary } from './transform';
import { checkKeys, describe, int, isObject } from './validate';

/** Where the chunks of a transform() go: a BullMQ queue on Redis. */
export interface TransformQueueOptions {
  /**
   * Redis: a URL ('redis://host:6379/0', 'rediss://…' for TLS,
   * 'unix:///run/redis.sock') or ioredis options ({ host, port, path, password, db, tls }).
   */
  connection: string | RedisOptions;
  /** The queue's name (default 'avcv'); workers must use the same. */
  name?: string;
  /** Seconds to wait for Redis when it cannot be reached (at the start, or while waiting) before an AvcvError (default 30). */
  timeout?: number;
  /** Tries per chunk before it fails for good (default 3; a frame function that throws fails at once). */
  attempts?: number;
}

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** Redis, as TransformQueueOptions.connection. */
  connection: string | RedisOptions;
  /** The queue's name (default 'avcv'). */
  name?: string;
  /** Chunks this worker runs at once, each on its own thread (default: the machine's cores). */
  concurrency?: number;
  /**
   * Seconds a chunk's lock lasts without renewal (default 30): a worker
   * that dies is noticed after about this long, and its chunk given to
   * another worker.
   */
  lockDuration?: number;
  /** What the worker does, as it happens (for logs). */
  onEvent?: (e: WorkerEvent) => void;
}

/** What WorkerOptions.onEvent receives: a job started, finished or failed on this worker. */
export type WorkerEvent =
  | {
    /** The job started. */
    event: 'start';
    /** The BullMQ job's id. */
    job: string;
    /** 'chunk' (frames through fn into a piece) or 'stitch' (the pieces joined into the output). */
    kind: 'chunk' | 'stitch';
    /** kind 'chunk': the chunk's number in the job, from 0. */
    chunk?: number;
    /** The transform's output path. */
    output: string;
  }
  | {
    /** The job finished. */
    event: 'done';
    /** The BullMQ job's id. */
    job: string;
    /** 'chunk' or 'stitch'. */
    kind: 'chunk' | 'stitch';
    /** kind 'chunk': the chunk's number in the job, from 0. */
    chunk?: number;
    /** The transform's output path. */
    output: string;
    /** Wall time the job took on this worker, in seconds. */
    seconds: number;
    /** kind 'chunk': true when an earlier try's saved result was reused (the chunk was not run again). */
    cached?: boolean;
  }
  | {
    /** The job failed (it may be tried again, up to the queue's attempts). */
    event: 'failed';
    /** The BullMQ job's id. */
    job: string;
    /** 'chunk' or 'stitch'. */
    kind: 'chunk' | 'stitch';
    /** kind 'chunk': the chunk's number in the job, from 0. */
    chunk?: number;
    /** The transform's output path. */
    output: string;
    /** The error's message. */
    error: string;
  };

/** A running worker, as {@link startWorker} returns it. */
export interface AvcvWorker {
  /** Stops taking jobs, waits for the running ones, and closes. */
  close(): Promise<void>;
}

const QUEUE_KEYS = ['connection', 'name', 'timeout', 'attempts'];
const WORKER_KEYS = ['connection', 'name', 'concurrency', 'lockDuration', 'onEvent'];

async function bullmq() {
  return import('bullmq');
}

async function redisClass(): Promise<typeof Redis> {
  const m = await import('ioredis');
  return m.Redis;
}

/** connection as ioredis options, and how to name it in messages. */
function redisOptions(name: string, c: unknown): { options: RedisOptions; where: string } {
  if (typeof c === 'string') {
    let u: URL;
    try {
      u = new URL(c);
    } catch {
      throw new TypeError(`${name} must be a redis://, rediss:// or unix:// URL; got ${describe(c)}`);
    }
    if (u.protocol === 'unix:') return { options: { path: u.pathname }, where: c };
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`${name} must be a redis://, rediss:// or unix:// URL; got ${describe(c)}`);
    const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
    if (!Number.isInteger(db) || db < 0) throw new TypeError(`${name}: '${u.pathname}' is not a database number`);
    return {
      options: {
        host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db,
        ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
        ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      },
      where: `${u.protocol}//${u.host}${u.pathname}`,
    };
  }
  if (isObject(c)) {
    const o = c as RedisOptions;
    return { options: { ...o }, where: o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}` };
  }
  throw new TypeError(`${name} must be a Redis URL or ioredis options; got ${describe(c)}`);
}

/** Connects once, within `seconds`: AvcvError 'CONNECT' naming Redis when it cannot. */
async function probeRedis(options: RedisOptions, where: string, seconds: number): Promise<void> {
  const R = await redisClass();
  const c = new R({ ...options, lazyConnect: true, connectTimeout: seconds * 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
  } catch (err) {
    throw new AvcvError('CONNECT', `cannot reach Redis at ${where}: ${(err as Error).message}`, { source: where, cause: err });
  } finally {
    c.disconnect();
  }
}

// Errors through Redis: BullMQ keeps a message; "[Name:CODE] message" keeps the kind too.
function encodeError(e: unknown): string {
  const err = e as Error & { code?: string };
  const kind = err instanceof AvcvError ? `AvcvError:${err.code}` : err instanceof Error ? err.name : 'Error';
  return `[${kind}] ${err instanceof Error ? err.message : String(e)}`;
}

function decodeError(reason: string, source: string): Error {
  const m = /^\[(\w+)(?::(\w+))?\] ([\s\S]*)$/.exec(reason ?? '');
  if (!m) return new AvcvError('INTERNAL', reason || 'the job failed without a reason', { source });
  const [, name, code, message] = m;
  let err: Error;
  if (name === 'TypeError') err = new TypeError(message);
  else if (name === 'RangeError') err = new RangeError(message);
  else if (name === 'AvcvError' && code && Object.prototype.hasOwnProperty.call(ERROR_CODES, code)) err = new AvcvError(code as AvcvErrorCode, message, { source });
  else err = new AvcvError('FN_FAILED', message, { source });
  const where = /^chunk (\d+) \([^)]*\)(?:, frame (\d+))?:/.exec(message);
  if (where) Object.assign(err, { chunk: Number(where[1]), frame: where[2] === undefined ? null : Number(where[2]) });
  return err;
}

/** The job's key: the same source, output, module and options make the same job (and resume it). */
function jobKey(input: string, output: string, module: string, options: Record<string, unknown>): string {
  const stat = (f: string) => {
    try {
      const s = fs.statSync(f);
      return [s.size, s.mtimeMs];
    } catch {
      return null;
    }
  };
  const plain = JSON.stringify(options, (_k, v) => (typeof v === 'function' || v instanceof AbortSignal ? undefined : v));
  const h = createHash('sha256');
  h.update(JSON.stringify([input, stat(input), output, module, stat(fileURLToPath(module)), plain]));
  return h.digest('hex').slice(0, 20);
}

/**
 * A completed job's return value. The job may have been read before it completed (fromId, then
 * getState said 'completed'): its returnvalue is then still null, so read it again.
 */
async function returnValue(reread: () => Promise<Job | undefined>, job: Job): Promise<StitchSummary> {
  let j: Job | undefined = job;
  for (let i = 0; i < 20 && j && (j.returnvalue === null || j.returnvalue === undefined); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 50));
    j = await reread();
  }
  if (!j || j.returnvalue === null || j.returnvalue === undefined) throw new AvcvError('INTERNAL', `job ${job.id} completed without a result`);
  return j.returnvalue as StitchSummary;
}

const cancelKey = (name: string, run: string) => `avcv:${name}:cancelled:${run}`;

/** transform(input, output, fnModule, { queue, chunkDuration }): see transform(). */
export async function transformQueued(input: string, output: string, fnModule: string | URL, options: TransformOptions, t0: number): Promise<TransformSummary> {
  const q = options.queue;
  if (!isObject(q)) throw new TypeError(`queue must be an object { connection, name?, timeout?, attempts? }; got ${describe(q)}`);
  checkKeys('queue', q, QUEUE_KEYS);
  if (options.workers !== undefined) throw new TypeError('workers and queue: the queue\'s workers are `avcv worker` processes (startWorker); give one or the other');
  const { options: ro, where } = redisOptions('queue.connection', q.connection);
  const name = q.name === undefined ? 'avcv' : q.name;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) throw new TypeError(`queue.name must be letters, digits, '.', '-' or '_'; got ${describe(name)}`);
  const timeout = q.timeout === undefined ? 30 : q.timeout;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) throw new RangeError(`queue.timeout must be a positive number of seconds; got ${describe(timeout)}`);
  const attempts = q.attempts === undefined ? 3 : int('queue.attempts', q.attempts, 1, 100);
  // workers elsewhere open the same paths: absolute ones
  const abs = (f: string) => (/^[a-z][a-z0-9+.-]*:/i.test(f) ? f : path.resolve(f));
  const src = typeof input === 'string' ? abs(input) : input;
  const p = prepare(src, typeof output === 'string' && output ? path.resolve(output) : output, fnModule, options, ['queue']);
  const { onProgress, signal } = p.split;
  const aborted = () => new AvcvError('ABORTED', 'the transform was aborted', { source: src, cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  await probeRedis(ro, where, Math.min(timeout, 10));

  const key = jobKey(src, p.output, p.module, p.rest);
  const work = path.join(path.dirname(p.output), `.${path.basename(p.output)}.avcv-job-${key}`);
  fs.mkdirSync(work, { recursive: true });
  const planFile = path.join(work, 'plan.json');
  let spec: JobSpec;
  const tPlan0 = performance.now();
  if (fs.existsSync(planFile)) spec = JSON.parse(fs.readFileSync(planFile, 'utf8')) as JobSpec;  // a resumed job keeps its plan
  else {
    try {
      await addNormalization(src, p.split);
      spec = await planJob(p, work, 4, signal);
      writeAtomicSync(planFile, JSON.stringify(spec), 'save the job plan to');
    } catch (err) {
      fs.rmSync(work, { recursive: true, force: true });  // nothing planned: nothing to resume
      throw err;
    }
  }

  const tPlan = performance.now();
  const bull = await bullmq();
  const R = await redisClass();
  // commands fail (not wait) while Redis is away: the wait below bounds it by queue.timeout
  const conn: Redis = new R({ ...ro, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  conn.on('error', () => undefined);
  const queue: BullQueue = new bull.Queue(name, { connection: conn });
  queue.on('error', () => undefined);
  const flow = new bull.FlowProducer({ connection: conn });
  flow.on('error', () => undefined);
  let keepWork = true;
  const summary = ({ stitchTime, ...s }: StitchSummary): TransformSummary => {
    const now = performance.now();
    return {
      ...s, wallTime: (now - t0) / 1000, chunks: spec.tasks.length,
      timings: { plan: (tPlan - tPlan0) / 1000, chunks: Math.max(0, (now - tPlan) / 1000 - stitchTime), stitch: stitchTime },
    };
  };
  try {
    // the run: the newest one of this job that is not over, or a new one
    let runNo = 1;
    let parent: Job | undefined;
    for (;; runNo++) {
      parent = await bull.Job.fromId(queue, `${key}-${runNo}`);
      if (!parent) break;
      const state = await parent.getState();
      if (state === 'completed' && fs.existsSync(p.output)) {
        keepWork = false;
        return summary(await returnValue(() => bull.Job.fromId(queue, parent!.id as string), parent));
      }
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') break;  // still going: wait for it
    }
    const run = `${key}-${runNo}`;
    const childId = (c: number) => `${run}-c${c}`;
    if (!parent) {
      await conn.del(cancelKey(name, run));  // a cancelled run of the same number went before
      await flow.add({
        name: 'stitch', queueName: name, data: { spec, run }, opts: { jobId: run, removeOnFail: false, removeOnComplete: { age: 7 * 86400 } },
        children: spec.tasks.map((t) => ({
          name: 'chunk', queueName: name, data: { task: t, run, output: spec.output },
          opts: { jobId: childId(t.chunk), attempts, backoff: { type: 'exponential', delay: 1000 }, failParentOnFailure: true, removeOnComplete: { age: 7 * 86400 } },
        })),
      });
    }

    const report = progressReporter(onProgress, () => spec.frames, t0);
    let reported = -1;
    let downSince: number | null = null;
    for (;;) {
      if (signal?.aborted) {
        await conn.set(cancelKey(name, run), '1', 'EX', 7 * 86400).catch(() => undefined);
        // chunks not started yet go; running ones see the mark and stop
        await Promise.all(spec.tasks.map(async (t) => (await bull.Job.fromId(queue, childId(t.chunk)))?.remove().catch(() => undefined))).catch(() => undefined);
        await (await bull.Job.fromId(queue, run).catch(() => undefined))?.remove().catch(() => undefined);
        keepWork = false;
        throw aborted();
      }
      try {
        const job = await bull.Job.fromId(queue, run);
        if (!job) throw new AvcvError('INTERNAL', `job ${run} disappeared from the queue '${name}'`, { source: src });
        const state = await job.getState();
        if (onProgress) {
          let frames = 0;
          for (const t of spec.tasks) {
            const c = await bull.Job.fromId(queue, childId(t.chunk));
            if (c && typeof c.progress === 'number') frames += c.progress;
          }
          if (frames !== reported) report((reported = frames));
        }
        downSince = null;
        if (state === 'completed') {
          keepWork = false;
          return summary(await returnValue(() => bull.Job.fromId(queue, run), job));
        }
        if (state === 'failed') {
          // the chunk that failed it, else the stitch; chunks still waiting go
          let reason = job.failedReason;
          for (const t of spec.tasks) {
            const c = await bull.Job.fromId(queue, childId(t.chunk));
            if (!c) continue;
            const cs = await c.getState();
            if (cs === 'failed' && /^\[/.test(c.failedReason ?? '')) reason = c.failedReason;
            else if (cs === 'waiting' || cs === 'delayed' || cs === 'prioritized') await c.remove().catch(() => undefined);
          }
          throw decodeError(reason, src);
        }
      } catch (err) {
        if (err instanceof AvcvError || err instanceof TypeError || err instanceof RangeError) throw err;
        // Redis is away: wait for it, within queue.timeout
        downSince ??= Date.now();
        if (Date.now() - downSince > timeout * 1000) {
          throw new AvcvError('DISCONNECTED', `lost Redis at ${where} for ${timeout} s while waiting for job ${run}: ${(err as Error).message}; call transform() again to resume it`, { source: where, cause: err });
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await Promise.allSettled([queue.close(), flow.close()]);
    conn.disconnect();
    if (!keepWork) fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A chunk's result from an earlier try (its piece and result are written atomically), or null. */
function cachedResult(t: Omit<ChunkTask, 'progress'>): ChunkResult | null {
  try {
    if (!fs.existsSync(t.piece)) return null;
    const r = JSON.parse(fs.readFileSync(`${t.piece}.json`, 'utf8')) as ChunkResult;
    return r.chunk === t.chunk && !r.error ? r : null;
  } catch {
    return null;
  }
}

/**
 * Runs the chunks and stitches of transform() jobs enqueued with the
 * `queue` option, on this machine's threads, until close(). The machine
 * must see the jobs' files at the same paths (a shared folder). Rejects
 * with AvcvError 'CONNECT' when Redis cannot be reached.
 *
 * @example
 * ```ts
 * const w = await startWorker({ connection: 'redis://10.0.0.5:6379', concurrency: 4,
 *   onEvent: (e) => console.log(e.event, e.kind, e.chunk ?? '', e.output) });
 * process.once('SIGINT', () => void w.close());   // finishes the running chunks first
 * ```
 */
export async function startWorker(options: WorkerOptions): Promise<AvcvWorker> {
  if (!isObject(options)) throw new TypeError('startWorker: options must be an object');
  checkKeys('startWorker', options, WORKER_KEYS);
  const { options: ro, where } = redisOptions('connection', options.connection);
  const name = options.name === undefined ? 'avcv' : options.name;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) throw new TypeError(`name must be letters, digits, '.', '-' or '_'; got ${describe(name)}`);
  const concurrency = options.concurrency === undefined ? Math.max(1, os.availableParallelism()) : int('concurrency', options.concurrency, 1, 64);
  const lock = options.lockDuration === undefined ? 30 : options.lockDuration;
  if (typeof lock !== 'number' || !(lock >= 1) || !Number.isFinite(lock)) throw new RangeError(`lockDuration must be at least 1 second; got ${describe(lock)}`);
  const onEvent = options.onEvent;
  if (onEvent !== undefined && typeof onEvent !== 'function') throw new TypeError('onEvent must be a function');
  const emit = (e: WorkerEvent) => {
    try {
      onEvent?.(e);
    } catch {
      // a logger's failure is not the job's
    }
  };
  await probeRedis(ro, where, 10);

  const bull = await bullmq();
  const R = await redisClass();
  const { Piscina: Pool } = await import('piscina');
  const pool: Piscina = new Pool({ filename: path.join(__dirname, 'chunk-worker.js'), minThreads: 1, maxThreads: concurrency, idleTimeout: 30_000 });
  // BullMQ's workers wait on Redis (blocking calls): no retry limit, reconnects without end
  const conn: Redis = new R({ ...ro, maxRetriesPerRequest: null });
  conn.on('error', () => undefined);
  const isCancelled = async (run: string) => (await conn.get(cancelKey(name, run)).catch(() => null)) === '1';
  const fatal = (e: unknown) => {
    // what another try cannot change: the frame function's error, a bad argument, an abort
    const code = (e as { code?: string }).code;
    return e instanceof TypeError || e instanceof RangeError || code === 'FN_FAILED' || code === 'ABORTED' || code === 'NO_FRAMES';
  };

  const chunk = async (job: Job): Promise<{ result: ChunkResult; cached: boolean }> => {
    const { task, run } = job.data as { task: Omit<ChunkTask, 'progress'>; run: string };
    if (await isCancelled(run)) throw new bull.UnrecoverableError(encodeError(new AvcvError('ABORTED', 'the job was cancelled')));
    const saved = cachedResult(task);
    if (saved) return { result: saved, cached: true };
    const progress = new SharedArrayBuffer(8);
    const done = new Int32Array(progress);
    const tick = setInterval(() => {
      job.updateProgress(Atomics.load(done, 0)).catch(() => undefined);
      isCancelled(run).then((c) => { if (c) Atomics.store(done, 1, 1); }, () => undefined);
    }, 500);
    let r: ChunkResult;
    try {
      r = await pool.run({ ...task, progress } satisfies ChunkTask);
    } finally {
      clearInterval(tick);
    }
    if (r.error) {
      const e = chunkError(r, task, task.input);
      throw fatal(e) ? new bull.UnrecoverableError(encodeError(e)) : new Error(encodeError(e));
    }
    writeAtomicSync(`${task.piece}.json`, JSON.stringify(r), 'save the chunk result to');
    await job.updateProgress(r.framesIn).catch(() => undefined);
    return { result: r, cached: false };
  };

  const stitch = async (job: Job): Promise<StitchSummary> => {
    const { spec, run } = job.data as { spec: JobSpec; run: string };
    if (await isCancelled(run)) throw new bull.UnrecoverableError(encodeError(new AvcvError('ABORTED', 'the job was cancelled')));
    const values = Object.values(await job.getChildrenValues()) as ChunkResult[];
    if (values.length !== spec.tasks.length) {
      throw new Error(encodeError(new AvcvError('INTERNAL', `job ${run}: ${values.length} of ${spec.tasks.length} chunk results`)));
    }
    try {
      const s = await stitchJob(spec, values);
      fs.rmSync(spec.work, { recursive: true, force: true });
      return s;
    } catch (e) {
      throw fatal(e) ? new bull.UnrecoverableError(encodeError(e)) : new Error(encodeError(e));
    }
  };

  const worker: BullWorker = new bull.Worker(name, async (job: Job) => {
    const kind = job.name === 'stitch' ? 'stitch' : 'chunk';
    const info = { job: job.id ?? '', kind, output: String(job.data?.spec?.output ?? job.data?.output ?? ''), ...(kind === 'chunk' ? { chunk: job.data.task.chunk as number } : {}) } as const;
    const t0 = performance.now();
    emit({ event: 'start', ...info });
    try {
      const { result, cached } = kind === 'stitch' ? { result: await stitch(job), cached: false } : await chunk(job);
      emit({ event: 'done', ...info, seconds: (performance.now() - t0) / 1000, ...(cached ? { cached } : {}) });
      return result;
    } catch (e) {
      emit({ event: 'failed', ...info, error: (e as Error).message });
      throw e;
    }
  }, { connection: conn, concurrency, lockDuration: lock * 1000, stalledInterval: Math.max(500, (lock * 1000) / 2), maxStalledCount: 1 });
  worker.on('error', () => undefined);  // Redis going away: the worker reconnects by itself
  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        await worker.close();
        await pool.destroy();
        conn.disconnect();
      })();
      return closing;
    },
  };
}
