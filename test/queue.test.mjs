// transform() through a BullMQ queue on a real redis-server (loopback, a
// free port, in memory), with `avcv worker` processes as the workers: the
// output equals the threads-only output (the CLI's framemd5 of both) when a
// worker is SIGKILLed mid-chunk; a chunk that fails for good fails the
// caller with its error; calling again resumes without redoing finished
// chunks; Redis that cannot be reached or goes away is a typed error in time.
import { test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { transform, startWorker, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, videoMd5, audioMd5, runCli } from './helpers.mjs';
import { freePort, redisServer } from './servers.mjs';

const T = 120_000;
const dir = tempDir('avcv-queue-');
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
let redis;
let src;
let slow; // 40 ms a frame: a chunk of 50 frames takes 2 s
let logged; // logs every frame index it sees; throws on frame 170 while the flag file exists
let logFile;
let flagFile;
let throwing;
const workers = new Set();

beforeAll(async () => {
  redis = await redisServer(dir);
  src = join(dir, 'src.mp4');
  // 8 s, B-frames, a keyframe every second, AAC
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '8',
    '-c:v', 'libx264', '-bf', '3', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src]);
  const mod = (name, body) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  slow = mod('slow.mjs', `export default async function (frame) {
  await new Promise((r) => setTimeout(r, 40));
  const d = frame.data;
  for (let i = 0; i < 3000; i++) d[i] = 255 - d[i];
  return frame;
}\n`);
  logFile = join(dir, 'frames.log');
  flagFile = join(dir, 'fail.flag');
  logged = mod('logged.mjs', `import { appendFileSync, existsSync } from 'node:fs';
export default async function (frame) {
  appendFileSync(${JSON.stringify(logFile)}, frame.index + '\\n');
  if (frame.index === 170 && existsSync(${JSON.stringify(flagFile)})) throw new Error('flagged frame');
  await new Promise((r) => setTimeout(r, 10));
  return frame;
}\n`);
  throwing = mod('throwing.mjs', 'export default function (frame) { if (frame.index === 170) throw new Error("bad frame"); return frame; }\n');
}, T);

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await redis?.stop();
});

/** An `avcv worker --json` process: { proc, events, waitFor(pred) }. */
function worker(url, extra = []) {
  const proc = spawn(process.execPath, [cli, 'worker', '--redis', url, '--concurrency', '1', '--lock-duration', '2', '--json', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  workers.add(proc);
  proc.once('exit', () => workers.delete(proc));
  const events = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
  });
  return {
    proc, events,
    waitFor: (pred) => {
      const hit = events.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGKILL');
    }),
  };
}

let n = 0;
const folder = () => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  return d;
};

test('three worker processes, one SIGKILLed mid-chunk: the chunk is redone elsewhere and the output equals the threads-only output', async () => {
  const d = folder();
  const ws = [worker(redis.url), worker(redis.url), worker(redis.url)];
  await Promise.all(ws.map((w) => w.waitFor((e) => e.event === 'ready')));
  const out = join(d, 'queued.mkv');
  const p = transform(src, out, slow, { codec: 'ffv1', chunkDuration: 1, queue: { connection: redis.url } });
  // the first worker to start a chunk dies 0.5 s into it
  const started = await Promise.race(ws.map((w) => w.waitFor((e) => e.event === 'start' && e.kind === 'chunk').then((e) => ({ w, e }))));
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!started.w.events.some((e) => e.event === 'done' && e.chunk === started.e.chunk), 'the chunk was still running');
  await started.w.stop();
  const s = await p;
  assert.equal(s.framesOut, 200);
  assert.equal(s.chunks, 8);
  const others = ws.filter((w) => w !== started.w);
  assert.ok(others.some((w) => w.events.some((e) => e.event === 'done' && e.kind === 'chunk' && e.chunk === started.e.chunk)), `chunk ${started.e.chunk} was redone by another worker`);
  assert.ok(others.some((w) => w.events.some((e) => e.event === 'done' && e.kind === 'stitch')));
  const local = join(d, 'threads.mkv');
  await transform(src, local, slow, { codec: 'ffv1', chunkDuration: 1, workers: 2 });
  assert.deepEqual(videoMd5(out), videoMd5(local));
  assert.deepEqual(audioMd5(out), audioMd5(local));
  assert.deepEqual(readdirSync(d).sort(), ['queued.mkv', 'threads.mkv'], 'no job folder left');
  await Promise.all(ws.map((w) => w.stop()));
}, T);

test('a chunk that fails for good fails the caller with its error; called again, finished chunks are not redone', async () => {
  const d = folder();
  const w1 = worker(redis.url);
  const w2 = worker(redis.url);
  await Promise.all([w1, w2].map((w) => w.waitFor((e) => e.event === 'ready')));
  const out = join(d, 'out.mp4');
  writeFileSync(flagFile, '');
  rmSync(logFile, { force: true });
  const opts = { chunkDuration: 2, queue: { connection: redis.url } };
  await assert.rejects(transform(src, out, logged, opts), (e) => {
    assert.ok(e instanceof AvcvError, String(e));
    assert.equal(e.code, 'FN_FAILED');
    assert.match(e.message, /chunk 3 \(frames 150-199\), frame 170: flagged frame/);
    assert.equal(e.chunk, 3);
    assert.equal(e.frame, 170);
    return true;
  });
  assert.ok(!existsSync(out));
  // wait for the workers to be idle, then see which chunks ran whole (frames 50 c .. 50 c + 49)
  await new Promise((r) => setTimeout(r, 1500));
  const first = new Set(readFileSync(logFile, 'utf8').trim().split('\n').map(Number));
  const whole = [0, 1, 2].filter((c) => Array.from({ length: 50 }, (_, i) => 50 * c + i).every((f) => first.has(f)));
  assert.ok(whole.length > 0, 'some chunk finished before chunk 3 failed');
  rmSync(flagFile);
  rmSync(logFile);
  const s = await transform(src, out, logged, opts);
  assert.equal(s.framesOut, 200);
  const second = new Set(readFileSync(logFile, 'utf8').trim().split('\n').map(Number));
  for (const c of whole) assert.ok(!Array.from({ length: 50 }, (_, i) => 50 * c + i).some((f) => second.has(f)), `chunk ${c} was redone`);
  assert.ok(second.has(170));
  // the workers said which chunks they took from the first try
  const done = [...w1.events, ...w2.events].filter((e) => e.event === 'done' && e.kind === 'chunk');
  for (const c of whole) assert.ok(done.some((e) => e.chunk === c && e.cached === true), `chunk ${c}: a 'done' event with cached: true`);
  assert.ok(done.some((e) => e.chunk === 3 && e.cached === undefined), 'chunk 3 ran: no cached flag');
  // the same output as threads on this machine
  const local = join(d, 'threads.mp4');
  await transform(src, local, logged, { chunkDuration: 2, workers: 2 });
  assert.deepEqual(JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'frame=pts', '-select_streams', 'v', out]).stdout).frames,
    JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'frame=pts', '-select_streams', 'v', local]).stdout).frames);
  assert.deepEqual(audioMd5(out), audioMd5(local));
  assert.deepEqual(readdirSync(d).sort(), ['out.mp4', 'threads.mp4']);
  await Promise.all([w1.stop(), w2.stop()]);
}, T);

test('the CLI: avcv transform --module --redis with an API worker (startWorker); a throwing function exits 1 naming chunk and frame', async () => {
  const d = folder();
  const events = [];
  const w = await startWorker({ connection: redis.url, concurrency: 2, lockDuration: 2, onEvent: (e) => events.push(e) });
  try {
    const out = join(d, 'cli.mkv');
    // asynchronously: this process runs the worker the CLI waits for
    const r = await runCli(['transform', src, out, '--module', slow, '--redis', redis.url, '--chunk-duration', '2', '--codec', 'ffv1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).event, 'done');
    assert.equal(lines.at(-1).framesOut, 200);
    assert.ok(lines.some((l) => l.event === 'progress' && l.frames > 0 && l.frames < 200));
    assert.ok(events.some((e) => e.event === 'done' && e.kind === 'stitch' && e.output === out));
    const bad = await runCli(['transform', src, join(d, 'bad.mkv'), '--module', throwing, '--redis', redis.url, '--chunk-duration', '2']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /FN_FAILED: chunk 3 \(frames 150-199\), frame 170: bad frame/);
    const usage = await runCli(['transform', src, join(d, 'u.mkv'), '--workers', '2']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /need --module/);
  } finally {
    await w.close();
  }
}, T);

test('Redis that cannot be reached: CONNECT naming it, in time; a source that cannot be planned leaves nothing; Redis that goes away while waiting: DISCONNECTED after queue.timeout', async () => {
  const d = folder();
  const port = await freePort();
  const t0 = Date.now();
  await assert.rejects(transform(src, join(d, 'x.mkv'), slow, { queue: { connection: `redis://127.0.0.1:${port}`, timeout: 2 } }),
    (e) => e instanceof AvcvError && e.code === 'CONNECT' && e.message.includes(`127.0.0.1:${port}`));
  assert.ok(Date.now() - t0 < 10_000);
  await assert.rejects(startWorker({ connection: `redis://127.0.0.1:${port}` }), (e) => e instanceof AvcvError && e.code === 'CONNECT');
  await assert.rejects(transform(src, join(d, 'x.mkv'), slow, { queue: { connection: 'http://127.0.0.1' } }), (e) => e instanceof TypeError && /redis:\/\//.test(e.message));
  await assert.rejects(transform(src, join(d, 'x.mkv'), slow, { queue: { connection: redis.url }, workers: 2 }), (e) => e instanceof TypeError && /workers/.test(e.message));
  await assert.rejects(transform(src, join(d, 'x.mkv'), (f) => f, { queue: { connection: redis.url } }), (e) => e instanceof TypeError && /module/.test(e.message));
  // a source that cannot be planned: its error, and no job folder left
  await assert.rejects(transform(join(d, 'missing.mp4'), join(d, 'm.mkv'), slow, { queue: { connection: redis.url } }), (e) => e instanceof AvcvError && e.code === 'ENOENT');
  assert.deepEqual(readdirSync(d).filter((f) => /avcv-job/.test(f)), []);
  // no worker runs: the job waits; then its Redis goes away
  const lone = await redisServer(d);
  const p = transform(src, join(d, 'y.mkv'), slow, { queue: { connection: lone.url, timeout: 2, name: 'lonely' } });
  await new Promise((r) => setTimeout(r, 1500));
  const t1 = Date.now();
  await lone.stop();
  await assert.rejects(p, (e) => e instanceof AvcvError && e.code === 'DISCONNECTED' && /resume/.test(e.message));
  assert.ok(Date.now() - t1 < 10_000, `${Date.now() - t1} ms`);
  assert.ok(!existsSync(join(d, 'y.mkv')));
}, T);
