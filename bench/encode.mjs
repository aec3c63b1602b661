#!/usr/bin/env node
// Encode benchmark: avcv VideoWriter / transform() vs the ffmpeg CLI (the limit)
// vs the child_process stdin pipe pattern.
//
//   node bench/encode.mjs [--quick] [--runs N] [--frames N] [--pool N] [--paths id,id,...]
//
// A. N frames (default 300) of 1920x1080 bgr24 written from JS, libx264 -preset veryfast, yuv420p, crf default.
//    The frames are a pool of --pool (default 30) distinct testsrc2 frames, made once by the CLI as raw bgr24,
//    loaded into memory before timing and cycled; every JS path writes the very same bytes.
//      avcv      VideoWriter.write(buf) per frame, close()
//      pipe      ffmpeg -f rawvideo -pix_fmt bgr24 -s WxH -r 30 -i - ... fed through stdin (write + 'drain')
//      cli-file  the same pool read by ffmpeg itself from the raw file (-stream_loop): same content, no pipe
//      cli       the limit: ffmpeg -f lavfi -i testsrc2 ... (frames generated inside ffmpeg)
// B. transform(in.mp4, out.mp4, identity, { preset: 'veryfast' }) on a 1080p H.264 + AAC clip
//    vs ffmpeg -i in.mp4 -c:v libx264 -preset veryfast -c:a copy out.mp4
//    (plus transform with format 'yuv420p', which skips the yuv->bgr->yuv round trip, and transform
//    with fn null: decode -> encode natively, no frame in JS).
//    Every output is checked: ffprobe -count_frames, and an audio stream with the input's packet count.
//
// Inputs are cached under os.tmpdir()/avcv-bench-media keyed by their parameters; outputs go to a
// scratch dir that is removed at the end. Every JS path runs in its own child node process so its
// peak RSS is its own (pipe: node + ffmpeg, via /usr/bin/time). Paths run in a different order each
// round; the table shows medians. A table per part, then one `BENCH_JSON {...}` line.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runProcess, median, readTimeFile, ffmpegVersion, round, printTable, readFlags, wholeFrames } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const SELF = fileURLToPath(import.meta.url);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const W = 1920;
const H = 1080;
const FPS = 30;
const FRAME_BYTES = W * H * 3;

// ---------------------------------------------------------------- child mode
if (process.argv[2] === '--child') {
  await child(JSON.parse(Buffer.from(process.argv[3], 'base64url').toString()));
  process.exit(0);
}

/** The pool of distinct bgr24 frames, loaded before timing (not timed, in the RSS of every JS path). */
function loadPool(file) {
  const all = readFileSync(file);
  if (all.length % FRAME_BYTES) throw new Error(`${file}: not a whole number of ${W}x${H} bgr24 frames`);
  const pool = [];
  for (let off = 0; off < all.length; off += FRAME_BYTES) pool.push(all.subarray(off, off + FRAME_BYTES));
  return pool;
}

async function child(job) {
  const { kind, out, frames: n } = job;
  let t0;
  let ffmpegRssKB = null;
  let ffmpegCpuS = null;
  let extra = {};
  let written = 0;
  if (kind === 'avcv-write') {
    const pool = loadPool(job.pool);
    const { VideoWriter } = await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href);
    t0 = performance.now();
    const writer = await VideoWriter.open(out, { width: W, height: H, fps: FPS, codec: 'libx264', preset: 'veryfast', pixelFormat: 'yuv420p' });
    for (let i = 0; i < n; i++) {
      await writer.write(pool[i % pool.length]);
      written++;
    }
    const stats = await writer.close();
    extra = { encoder: stats.encoder, statsFrames: stats.frames };
  } else if (kind === 'pipe-write') {
    // The pattern users write: spawn ffmpeg, write raw frames to its stdin, respect backpressure.
    const pool = loadPool(job.pool);
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${W}x${H}`, '-r', String(FPS),
      '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', out];
    const rssFile = TIME ? join(os.tmpdir(), `avcv-bench-rss-${process.pid}`) : null;
    t0 = performance.now();
    const ff = TIME ? spawn(TIME, ['-f', '%M %U %S', '-o', rssFile, 'ffmpeg', ...args], { stdio: ['pipe', 'ignore', 'pipe'] })
      : spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    ff.stderr.on('data', (d) => { stderr += d; });
    const closed = new Promise((res, rej) => { ff.on('error', rej); ff.on('close', res); });
    ff.stdin.on('error', () => { /* EPIPE if ffmpeg dies: reported by its exit code */ });
    for (let i = 0; i < n; i++) {
      if (!ff.stdin.write(pool[i % pool.length])) await Promise.race([once(ff.stdin, 'drain'), closed]);
      written++;
    }
    ff.stdin.end();
    const code = await closed;
    if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${stderr}`);
    if (rssFile) {
      [ffmpegRssKB, ffmpegCpuS] = readTimeFile(rssFile);
      rmSync(rssFile, { force: true });
    }
  } else if (kind === 'pattern3') {
    // The seeds' Pattern 3 in Node: ffmpeg decodes to bgr24 on stdout, Node
    // cuts whole frames (where the edit would go), a second ffmpeg encodes
    // them from stdin and muxes the input's audio back in (-map 1:a -c:a copy).
    const { input } = job;
    const rss = [0, 1].map((i) => (TIME ? join(os.tmpdir(), `avcv-bench-rss-${process.pid}-${i}`) : null));
    const wrap = (i, args) => (TIME ? spawn(TIME, ['-f', '%M %U %S', '-o', rss[i], 'ffmpeg', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    t0 = performance.now();
    const dec = wrap(0, ['-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
    const enc = wrap(1, ['-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', '-',
      '-i', input, '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'copy', out]);
    let stderr = '';
    for (const p of [dec, enc]) p.stderr.on('data', (d) => { stderr += d; });
    const closed = [dec, enc].map((p) => new Promise((res, rej) => { p.on('error', rej); p.on('close', res); }));
    enc.stdin.on('error', () => { /* EPIPE if ffmpeg dies: reported by its exit code */ });
    for await (const frame of wholeFrames(dec.stdout, FRAME_BYTES)) {
      written++;  // (the edit would go here)
      if (!enc.stdin.write(Buffer.from(frame))) await Promise.race([once(enc.stdin, 'drain'), closed[1]]);
    }
    enc.stdin.end();
    const codes = await Promise.all(closed);
    if (codes.some((c) => c !== 0)) throw new Error(`ffmpeg exited ${codes.join('/')}: ${stderr}`);
    if (TIME) {
      const t = rss.map((f) => readTimeFile(f));
      ffmpegRssKB = t[0][0] + t[1][0];
      ffmpegCpuS = t[0][1] + t[1][1];
      for (const f of rss) rmSync(f, { force: true });
    }
  } else if (kind === 'transform') {
    const { transform } = await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href);
    t0 = performance.now();
    const s = await transform(job.input, out, job.native ? null : (f) => f, { preset: 'veryfast', ...(job.opts ?? {}) });
    written = s.framesOut;
    extra = { framesIn: s.framesIn, framesOut: s.framesOut, audio: s.audio, audioCodec: s.audioCodec, encoder: s.encoder };
  } else {
    throw new Error(`unknown child kind ${kind}`);
  }
  const ms = performance.now() - t0;
  const ru = process.resourceUsage(); // the whole node process, start-up and import included
  const cpuS = (ru.userCPUTime + ru.systemCPUTime) / 1e6 + (ffmpegCpuS ?? 0);
  process.stdout.write(`${JSON.stringify({ written, ms, cpuS, nodeRssKB: ru.maxRSS, ffmpegRssKB, ...extra })}\n`);
}

/** `/usr/bin/time -f '%M %U %S' -o F` -> [peak RSS KB, user+sys CPU s]. */

// ---------------------------------------------------------------- parent mode
function parseArgs(argv) {
  const a = { quick: false, runs: null, frames: null, pool: 30, paths: null, installPeers: false };
  readFlags(argv, 'node bench/encode.mjs [--quick] [--runs N] [--frames N] [--pool N] [--paths id,...] [--install-peers]' +
    '\n' + '  paths: A: avcv, pipe, cli-file, cli (the limit; always kept)   B: transform, transform-nopool, transform-noretain, transform-yuv, transcode, pattern3, pyav, cli-transcode (always kept)' +
    '\n' + '  --install-peers: apt-get install python3-av (PyAV) when it is missing', (k, val, num) => {
    if (k === '--quick') a.quick = true;
    else if (k === '--install-peers') a.installPeers = true;
    else if (k === '--runs') a.runs = num(val());
    else if (k === '--frames') a.frames = num(val());
    else if (k === '--pool') a.pool = num(val());
    else if (k === '--paths') a.paths = val().split(',').map((s) => s.trim()).filter(Boolean);
    else return false;
    return true;
  });
  return { ...a, runs: a.runs ?? (a.quick ? 1 : 3), frames: a.frames ?? (a.quick ? 90 : 300) };
}


/** Makes (or reuses) a cached input; `args` writes to the path given last. */
function cached(dir, name, args) {
  const file = join(dir, name);
  if (existsSync(file) && statSync(file).size > 0) return { file, cached: true, ms: 0 };
  const tmp = join(dir, `.${process.pid}.${name}`);
  const t = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args, tmp], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`making ${name} failed: ${r.stderr}`);
  }
  renameSync(tmp, file);
  return { file, cached: false, ms: performance.now() - t };
}


/** A process run; wall time of the whole process (its start included), peak RSS and CPU via /usr/bin/time. */
async function runTimed(cmd, args) {
  const rssFile = TIME ? join(os.tmpdir(), `avcv-bench-rss-${process.pid}-${++timedRuns}`) : null;
  const t0 = performance.now();
  if (TIME) await runProcess(TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]);
  else await runProcess(cmd, args);
  const ms = performance.now() - t0;
  let rssKB = null;
  let cpuS = null;
  if (rssFile) {
    [rssKB, cpuS] = readTimeFile(rssFile);
    rmSync(rssFile, { force: true });
  }
  return { ms, procMs: ms, cpuS, rssKB };
}
let timedRuns = 0;

/** An ffmpeg CLI run (runTimed). */
const runCli = (args) => runTimed('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);

async function runChild(job) {
  const payload = Buffer.from(JSON.stringify(job)).toString('base64url');
  const t0 = performance.now();
  const { out } = await runProcess(process.execPath, [SELF, '--child', payload], { env: job.env });
  const procMs = performance.now() - t0; // node start + import + pool load + encode + exit
  const r = JSON.parse(out.trim().split('\n').pop());
  return { ...r, procMs, rssKB: r.nodeRssKB + (r.ffmpegRssKB ?? 0) };
}

/** PyAV (python3-av) running bench/pyav_transform.py: process wall, CPU and peak RSS as the CLI's (runTimed). */
const runPyav = (input, out) => runTimed(PYTHON, [join(HERE, 'pyav_transform.py'), input, out]);

/** Debian's python (python3-av is a Debian package; a python3 earlier on PATH, e.g. pyenv's, does not see it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** Debian's python3-av (PyAV) is importable. */
const hasPyav = () => spawnSync(PYTHON, ['-c', 'import av'], { stdio: 'ignore' }).status === 0;

/** ffprobe -count_frames: per stream type, codec, decoded frames and packets. */
function probe(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-count_packets', '-show_entries',
    'stream=index,codec_type,codec_name,nb_read_frames,nb_read_packets,duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  const streams = JSON.parse(r.stdout).streams ?? [];
  const v = streams.filter((s) => s.codec_type === 'video');
  const a = streams.filter((s) => s.codec_type === 'audio');
  return {
    videoStreams: v.length,
    videoFrames: v.length ? Number(v[0].nb_read_frames) : 0,
    videoCodec: v[0]?.codec_name ?? null,
    audioStreams: a.length,
    audioCodec: a[0]?.codec_name ?? null,
    audioPackets: a.length ? Number(a[0].nb_read_packets) : 0,
    audioDuration: a.length ? Number(a[0].duration) : 0,
  };
}

/** MD5 of the decoded video (to tell whether two encodes are the same picture). */
function videoMd5(file) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-f', 'md5', '-'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^MD5=/, '').slice(0, 12) : null;
}

/** The option string libx264 writes into its SEI ("cabac=1 ref=1 ... crf=23.0 ..."), as a map. */
function x264Options(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(Math.min(statSync(file).size, 8 << 20));
  readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const i = buf.indexOf('x264 - core');
  if (i < 0) return null;
  const j = buf.indexOf('options: ', i);
  const end = buf.indexOf(0, j);
  const m = {};
  for (const kv of buf.subarray(j + 9, end).toString('latin1').split(' ')) {
    const [k, ...v] = kv.split('=');
    if (k) m[k] = v.join('=');
  }
  return m;
}

/** Keys whose values differ between two x264 option maps, as 'k=a/b'. */
function optsDiff(a, b) {
  if (!a || !b) return ['(no x264 SEI)'];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).map((k) => `${k}=${a[k] ?? '-'}/${b[k] ?? '-'}`);
}


/** Runs every path `runs` times, rotating the order per round and reversing it on odd rounds. */
async function rounds(paths, runs, outDir, check) {
  const results = new Map(paths.map((p) => [p.id, []]));
  for (let r = 0; r < runs; r++) {
    let order = paths.map((_, i) => paths[(i + r) % paths.length]);
    if (r % 2) order = order.reverse();
    for (const p of order) {
      const out = join(outDir, `${p.id}.mp4`);
      rmSync(out, { force: true });
      try {
        const res = await p.run(out);
        Object.assign(res, check(p, out, r));
        results.get(p.id).push(res);
        process.stderr.write(`  round ${r + 1}/${runs} ${p.id.padEnd(14)} ${(res.ms / 1000).toFixed(2)} s  ${res.probe.videoFrames} frames\n`);
      } catch (e) {
        results.get(p.id).push({ error: String(e.message ?? e).split('\n')[0] });
        process.stderr.write(`  round ${r + 1}/${runs} ${p.id} FAILED: ${e.message}\n`);
      }
    }
  }
  return results;
}

/** Median ms, proc ms, CPU, max RSS over the successful runs of a path. */
function summarize(rs, frames) {
  const ok = rs.filter((x) => !x.error);
  const ms = ok.length ? median(ok.map((x) => x.ms)) : NaN;
  return {
    ok,
    ms,
    procMs: ok.length ? median(ok.map((x) => x.procMs)) : NaN,
    cpuS: ok.length && ok.every((x) => x.cpuS != null) ? median(ok.map((x) => x.cpuS)) : NaN,
    fps: frames / (ms / 1000),
    rssKB: ok.length ? Math.max(...ok.map((x) => x.rssKB ?? NaN)) : NaN,
    range: ok.length ? `${(Math.min(...ok.map((x) => x.ms)) / 1000).toFixed(2)}-${(Math.max(...ok.map((x) => x.ms)) / 1000).toFixed(2)}` : '-',
    error: rs.find((x) => x.error)?.error,
  };
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench/encode.mjs: ${e.message} (see --help)`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'dist/index.mjs')) || !existsSync(join(ROOT, 'build/Release/avcv.node'))) {
    throw new Error('avcv is not built: run `npm run build` first');
  }
  const ffv = ffmpegVersion();
  const cpus = os.cpus();
  const N = args.frames;
  console.log(`avcv encode benchmark — node ${process.version}, ffmpeg CLI ${ffv}, ${cpus.length} x ${cpus[0]?.model ?? '?'}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; runs=${args.runs}${args.quick ? ' (quick)' : ''}; ` +
    `${N} frames ${W}x${H}@${FPS}, libx264 -preset veryfast, yuv420p, crf default; ` +
    `peak RSS via ${TIME ? '/usr/bin/time -f %M (ffmpeg) + process.resourceUsage().maxRSS (node)' : 'process.resourceUsage().maxRSS (ffmpeg RSS n/a)'}`);

  if (args.installPeers && !hasPyav()) {
    console.log('installing python3-av (PyAV) with apt-get...');
    const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
    const r = spawnSync(sudo.length ? 'sudo' : 'apt-get', [...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', '--no-install-recommends', 'python3-av'],
      { encoding: 'utf8', timeout: 300e3, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) console.log(`  apt-get install python3-av failed: ${(r.stderr || String(r.error)).slice(-500)}`);
  }
  const mediaDir = join(os.tmpdir(), 'avcv-bench-media');
  mkdirSync(mediaDir, { recursive: true });
  const outDir = mkdtempSync(join(os.tmpdir(), 'avcv-bench-encode-'));
  const keep = (id) => !args.paths || args.paths.includes(id);
  const summary = {
    node: process.version, ffmpeg: ffv, cpus: cpus.length, cpuModel: cpus[0]?.model ?? null, loadAvgAtStart: os.loadavg(),
    runs: args.runs, quick: args.quick, frames: N, size: `${W}x${H}`, fps: FPS, encoder: 'libx264', preset: 'veryfast', parts: {},
  };
  let failed = false;
  try {
    // ------------------------------------------------------------ A: frames from JS
    const pool = cached(mediaDir, `testsrc2_${W}x${H}_${args.pool}f.bgr24`,
      ['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`, '-frames:v', String(args.pool), '-pix_fmt', 'bgr24', '-f', 'rawvideo']);
    const poolFrames = statSync(pool.file).size / FRAME_BYTES;
    console.log(`\n== A. ${N} bgr24 frames from JS -> libx264 veryfast mp4; pool of ${poolFrames} distinct testsrc2 frames cycled ` +
      `(${(statSync(pool.file).size / 2 ** 20).toFixed(0)} MiB in memory, ${pool.cached ? 'cached' : `made in ${(pool.ms / 1000).toFixed(1)} s`}) ${pool.file}`);
    const encArgs = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];
    const pathsA = [
      { id: 'cli', label: 'ffmpeg CLI lavfi testsrc2 (limit)', run: (out) => runCli(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`, '-frames:v', String(N), ...encArgs, out]) },
      { id: 'cli-file', label: 'ffmpeg CLI same frames from file', run: (out) => runCli(['-stream_loop', '-1', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', pool.file, '-frames:v', String(N), ...encArgs, out]) },
      { id: 'avcv', label: 'avcv VideoWriter.write()', run: (out) => runChild({ kind: 'avcv-write', out, frames: N, pool: pool.file }) },
      { id: 'pipe', label: 'child_process stdin pipe', run: (out) => runChild({ kind: 'pipe-write', out, frames: N, pool: pool.file }) },
    ].filter((p) => p.id === 'cli' || keep(p.id));
    const gens = [];
    for (let r = 0; r < args.runs; r++) gens.push(await runCli(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}`, '-frames:v', String(N), '-f', 'null', '-']));
    const gen = { ms: median(gens.map((g) => g.ms)), cpuS: median(gens.map((g) => g.cpuS ?? NaN)) };
    const infoA = new Map(); // per path: x264 options + decoded md5 of the first run's output
    const resA = await rounds(pathsA, args.runs, outDir, (p, out) => {
      const pr = probe(out);
      if (!infoA.has(p.id)) infoA.set(p.id, { x264: x264Options(out), md5: videoMd5(out), bytes: statSync(out).size });
      return { probe: pr };
    });
    const sA = new Map(pathsA.map((p) => [p.id, summarize(resA.get(p.id), N)]));
    const limitFps = sA.get('cli').fps;
    const pipeFps = sA.get('pipe')?.fps ?? NaN;
    const refOpts = infoA.get('pipe')?.x264 ?? infoA.get('cli')?.x264;
    const rowsA = [];
    summary.parts.A = { poolFrames, poolFile: pool.file, testsrc2SynthesisMs: round(gen.ms), testsrc2SynthesisCpuS: round(gen.cpuS, 2), paths: {} };
    for (const p of pathsA) {
      const s = sA.get(p.id);
      const counts = [...new Set(s.ok.map((x) => x.probe.videoFrames))];
      const countOk = s.ok.length === resA.get(p.id).length && counts.length === 1 && counts[0] === N;
      if (!countOk) failed = true;
      const inf = infoA.get(p.id) ?? {};
      const diff = p.id === 'pipe' ? [] : optsDiff(inf.x264, refOpts);
      const sameMd5 = p.id === 'pipe' || p.id === 'cli' ? '' : inf.md5 && infoA.get('pipe')?.md5 ? (inf.md5 === infoA.get('pipe').md5 ? 'yes' : 'no') : '?';
      rowsA.push([p.label, s.ok.length ? fmtMs(s.ms) : 'failed', s.range, s.ok.length ? fmtMs(s.procMs) : '-', num(s.cpuS, 1), num(s.fps, 1),
        ratio(s.fps / limitFps), ratio(s.fps / pipeFps), num(s.rssKB / 1024, 0), countOk ? String(counts[0]) : `MISMATCH ${counts.join('/') || s.error}`,
        inf.bytes ? (inf.bytes / 2 ** 20).toFixed(1) : '-', short(diff), sameMd5]);
      summary.parts.A.paths[p.id] = {
        label: p.label, medianMs: round(s.ms), medianProcessMs: round(s.procMs), medianCpuS: round(s.cpuS, 2), fps: round(s.fps, 1),
        ratioToLimit: round(s.fps / limitFps, 3), ratioToPipe: round(s.fps / pipeFps, 3), peakRssMB: round(s.rssKB / 1024, 1),
        frames: counts.length === 1 ? counts[0] : counts, framesOk: countOk, outputBytes: inf.bytes ?? null,
        x264OptionsDiffVsPipe: diff, decodedMd5: inf.md5 ?? null, allMs: s.ok.map((x) => round(x.ms)), ...(s.error ? { error: s.error } : {}),
      };
    }
    printTable(['path', 'median', 'range s', 'proc wall', 'cpu s', 'fps', 'vs limit', 'vs pipe', 'peak RSS MB', 'frames', 'out MiB', 'x264 opts vs pipe', 'pic = pipe'], rowsA);
    console.log('  range s: fastest-slowest run; on a small shared VM the spread is wide, cpu s (median) is the steadier figure.');
  console.log('  median: CLI rows = ffmpeg process wall time (its start included); avcv = VideoWriter.open -> close() resolved;');
    console.log('  pipe = spawn -> ffmpeg exited. proc wall = the node child spawn -> exit (node start, import, pool load included).');
    console.log(`  JS rows hold the ${(poolFrames * FRAME_BYTES / 2 ** 20).toFixed(0)} MiB frame pool in their peak RSS; pipe RSS = node + ffmpeg.`);
    console.log('  frames: ffprobe -count_frames of every run\'s output. x264 opts: the SEI option string vs the pipe\'s (same = same settings).');
    console.log('  pic = pipe: decoded output MD5 equal to the pipe\'s. "no" is expected: the CLI\'s scale filter converts bgr24->yuv420p');
  console.log('  in threaded slices, which differ from a one-pass conversion at a slice seam (rows ~718-721 here); avcv converts in one');
  console.log('  pass and matches the CLI run with -filter_threads 1 byte for byte.');
  console.log(`  testsrc2 synthesis alone (ffmpeg -f lavfi -i testsrc2 -frames:v ${N} -f null -): ${fmtMs(gen.ms)}, ${num(gen.cpuS, 1)} cpu s, ` +
    'inside the limit\'s time; cli-file encodes the same pool as the JS rows with no pipe.');

    // ------------------------------------------------------------ B: transform()
    const clipName = `testsrc2_sine_${W}x${H}_${FPS}fps_${N}f_libx264_veryfast_aac_v2.mp4`;
    // durations, not -frames:v: a -frames:v limit closes the whole output and cuts the audio short
    const clip = cached(mediaDir, clipName, ['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}:duration=${N / FPS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${N / FPS}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k']);
    const inProbe = probe(clip.file);
    console.log(`\n== B. transform(identity) of ${clipName} (${(statSync(clip.file).size / 2 ** 20).toFixed(1)} MiB, ` +
      `${inProbe.videoFrames} video frames, ${inProbe.audioCodec} ${inProbe.audioPackets} packets; ${clip.cached ? 'cached' : `made in ${(clip.ms / 1000).toFixed(1)} s`}) -> libx264 veryfast, audio copied`);
    if (inProbe.videoFrames !== N || inProbe.audioStreams !== 1) throw new Error(`bad input clip ${clip.file}: ${JSON.stringify(inProbe)}`);
    const pathsB = [
      { id: 'cli-transcode', label: 'ffmpeg CLI -c:v libx264 -c:a copy', run: (out) => runCli(['-i', clip.file, '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'copy', out]) },
      { id: 'transform', label: "avcv transform() identity", run: (out) => runChild({ kind: 'transform', input: clip.file, out }) },
      // fresh memory per frame instead of the frame pool (as in Electron, where external buffers are not allowed)
      { id: 'transform-nopool', label: 'avcv transform() identity, no frame pool', run: (out) => runChild({ kind: 'transform', input: clip.file, out, env: { AVCV_FRAME_POOL: '0' } }) },
      { id: 'transform-noretain', label: 'avcv transform() identity, heap not kept', run: (out) => runChild({ kind: 'transform', input: clip.file, out, env: { AVCV_HEAP_RETAIN: '0' } }) },
      { id: 'transform-yuv', label: "avcv transform() format:'yuv420p'", run: (out) => runChild({ kind: 'transform', input: clip.file, out, opts: { format: 'yuv420p' } }) },
      { id: 'transcode', label: 'avcv transform() fn null (native)', run: (out) => runChild({ kind: 'transform', input: clip.file, out, native: true }) },
      { id: 'pattern3', label: 'Pattern 3: ffmpeg | node | ffmpeg', run: (out) => runChild({ kind: 'pattern3', input: clip.file, out }) },
      ...(hasPyav() ? [{ id: 'pyav', label: 'PyAV ndarray bgr24 loop', run: (out) => runPyav(clip.file, out) }] : []),
    ].filter((p) => p.id === 'cli-transcode' || keep(p.id));
    if (!hasPyav()) console.log('  PyAV: python3-av is not installed, its row is left out (--install-peers: apt-get install python3-av)');
    const infoB = new Map();
    const resB = await rounds(pathsB, args.runs, outDir, (p, out) => {
      if (!infoB.has(p.id)) infoB.set(p.id, { x264: x264Options(out), bytes: statSync(out).size });
      return { probe: probe(out) };
    });
    const sB = new Map(pathsB.map((p) => [p.id, summarize(resB.get(p.id), N)]));
    const cliFps = sB.get('cli-transcode').fps;
    const rowsB = [];
    summary.parts.B = { input: clip.file, inputProbe: inProbe, paths: {} };
    for (const p of pathsB) {
      const s = sB.get(p.id);
      const counts = [...new Set(s.ok.map((x) => x.probe.videoFrames))];
      const countOk = s.ok.length === resB.get(p.id).length && counts.length === 1 && counts[0] === N;
      const audioOk = s.ok.length > 0 && s.ok.every((x) => x.probe.audioStreams === 1 && x.probe.audioCodec === inProbe.audioCodec && x.probe.audioPackets === inProbe.audioPackets);
      if (!countOk || !audioOk) failed = true;
      const a = s.ok[0]?.probe;
      const inf = infoB.get(p.id) ?? {};
      const diff = p.id === 'cli-transcode' ? [] : optsDiff(inf.x264, infoB.get('cli-transcode')?.x264);
      rowsB.push([p.label, s.ok.length ? fmtMs(s.ms) : 'failed', s.range, s.ok.length ? fmtMs(s.procMs) : '-', num(s.cpuS, 1), num(s.fps, 1), ratio(s.fps / cliFps),
        num(s.rssKB / 1024, 0), countOk ? String(counts[0]) : `MISMATCH ${counts.join('/') || s.error}`,
        a ? (a.audioStreams ? `${audioOk ? '' : 'BAD '}${a.audioCodec} ${a.audioPackets}/${inProbe.audioPackets} pkts` : 'NONE') : '-',
        inf.bytes ? (inf.bytes / 2 ** 20).toFixed(1) : '-', short(diff)]);
      summary.parts.B.paths[p.id] = {
        label: p.label, medianMs: round(s.ms), medianProcessMs: round(s.procMs), medianCpuS: round(s.cpuS, 2), fps: round(s.fps, 1),
        ratioToCli: round(s.fps / cliFps, 3), peakRssMB: round(s.rssKB / 1024, 1), frames: counts.length === 1 ? counts[0] : counts, framesOk: countOk,
        audioOk, audio: a ? { streams: a.audioStreams, codec: a.audioCodec, packets: a.audioPackets, duration: a.audioDuration } : null,
        outputBytes: inf.bytes ?? null, x264OptionsDiffVsCli: diff, allMs: s.ok.map((x) => round(x.ms)),
        ...(s.ok[0]?.framesIn !== undefined ? { framesIn: s.ok[0].framesIn, framesOut: s.ok[0].framesOut, summaryAudio: s.ok[0].audio } : {}),
        ...(s.error ? { error: s.error } : {}),
      };
    }
    printTable(['path', 'median', 'range s', 'proc wall', 'cpu s', 'fps', 'vs CLI', 'peak RSS MB', 'frames', 'audio', 'out MiB', 'x264 opts vs CLI'], rowsB);
    console.log('  range s: fastest-slowest run; on a small shared VM the spread is wide, cpu s (median) is the steadier figure.');
    console.log('  median: CLI = process wall time; transform = the call -> resolved (open, decode, fn, encode, audio mux, rename).');
    console.log(`  frames/audio: ffprobe -count_frames -count_packets of every run's output; audio must be the input's ${inProbe.audioPackets} ${inProbe.audioCodec} packets`);
  console.log('  (ffmpeg -c:a copy keeps them all, the AAC priming packet at pts < 0 included).');
    console.log("  transform() identity decodes to bgr24 and converts back to yuv420p; format:'yuv420p' keeps the decoder's planes;");
    console.log('  fn null never hands a frame to JS (decode -> swscale -> encode on one native thread).');
    console.log('  Pattern 3: ffmpeg -f rawvideo bgr24 | node (whole frames) | ffmpeg -i - -i in -map 1:a -c:a copy; cpu and RSS are all three');
    console.log('  processes. PyAV: bench/pyav_transform.py (to_ndarray(bgr24) -> from_ndarray -> libx264, audio packets remuxed).');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  summary.loadAvgAtEnd = os.loadavg();
  console.log(`\nload at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
  if (failed) {
    console.error('FAILED: an output has the wrong frame count or lacks the input\'s audio (see the tables)');
    process.exitCode = 1;
  }
}

/** A diff list for a table cell (the JSON has all of it). */
function short(diff) {
  if (!diff.length) return 'same';
  const s = diff.join(' ');
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function num(x, d) {
  return Number.isFinite(x) ? x.toFixed(d) : 'n/a';
}

function ratio(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : '-';
}



main().catch((e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
