#!/usr/bin/env node
// Decode benchmark: avcv vs the ffmpeg CLI (the limit) vs the child_process
// pipe pattern (vs node-av / @u4/opencv4nodejs when they resolve).
//
//   node bench/decode.mjs [--quick] [--frames N] [--hevc-frames N] [--runs N]
//                         [--paths id,id,...] [--threads 0,2,3] [--install-peers]
//
// Inputs are made at run time with the ffmpeg CLI (testsrc2) and cached under
// os.tmpdir()/avcv-bench-media, keyed by their parameters. Every decoder path
// but the CLI runs in a child node process so that its peak RSS is its own.
// Paths run in a different order each round; the table shows medians.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runProcess, median, readTimeFile, ffmpegVersion, round, printTable, readFlags } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const SELF = fileURLToPath(import.meta.url);
const PEERS = join(os.tmpdir(), 'avcv-bench-peers'); // npm install --no-save --prefix here, never into the repo
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

// ---------------------------------------------------------------- child mode
if (process.argv[2] === '--child') {
  await child(JSON.parse(Buffer.from(process.argv[3], 'base64url').toString()));
  process.exit(0);
}

async function child(job) {
  const { kind, file, opts = {}, width, height, peerRoot } = job;
  let frames = 0;
  let first = null; // every path copies its first frame once (same cost for all) for the cross-check hash
  let t0;
  let frameBytes = 0;
  let ffmpegRssKB = null;
  let ffmpegCpuS = null;
  if (kind === 'avcv') {
    const { VideoReader } = await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href);
    t0 = performance.now();
    const reader = await VideoReader.open(file, { format: 'bgr24', ...opts });
    frameBytes = reader.info.frameBytes;
    for await (const frame of reader) {
      if (frames === 0) first = Buffer.from(frame.data);
      frames++;
      if (job.release) frame.release();
    }
    await reader.close();
  } else if (kind === 'pipe') {
    // The usual pattern: width/height known up front (a real program ffprobes first; not timed here).
    frameBytes = width * height * 3;
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-'];
    const rssFile = TIME ? join(os.tmpdir(), `avcv-bench-rss-${process.pid}`) : null;
    t0 = performance.now();
    const ff = TIME ? spawn(TIME, ['-f', '%M %U %S', '-o', rssFile, 'ffmpeg', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const frame = Buffer.allocUnsafeSlow(frameBytes); // the preallocated frame buffer
    let off = 0;
    let stderr = '';
    ff.stderr.on('data', (d) => { stderr += d; });
    ff.stdout.on('data', (chunk) => {
      let p = 0;
      while (p < chunk.length) {
        const k = Math.min(chunk.length - p, frameBytes - off);
        chunk.copy(frame, off, p, p + k); // the one copy: pipe chunk -> frame buffer
        off += k;
        p += k;
        if (off === frameBytes) {
          if (frames === 0) first = Buffer.from(frame);
          frames++;
          off = 0;
        }
      }
    });
    const code = await new Promise((res, rej) => { ff.on('error', rej); ff.on('close', res); });
    if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${stderr}`);
    if (off !== 0) throw new Error(`pipe: ${off} trailing bytes (not a whole frame)`);
    if (rssFile) {
      [ffmpegRssKB, ffmpegCpuS] = readTimeFile(rssFile);
      rmSync(rssFile, { force: true });
    }
  } else if (kind === 'node-av') {
    // node-av's demuxer awaits Promise.withResolvers() (Node >= 22); on Node 20
    // the packet generator otherwise ends at once and the reader yields 0 frames.
    if (typeof Promise.withResolvers !== 'function') {
      Promise.withResolvers = function withResolvers() {
        let resolve, reject;
        const promise = new this((a, b) => { resolve = a; reject = b; });
        return { promise, resolve, reject };
      };
    }
    const api = await importPeer('node-av/api', peerRoot);
    const { Demuxer, Decoder, FilterAPI } = api;
    t0 = performance.now();
    const input = await Demuxer.open(file);
    const vs = input.video();
    const dec = await Decoder.create(vs); // threadCount 0 = auto, like the others
    const filt = FilterAPI.create('format=pix_fmts=bgr24');
    for await (const f of filt.frames(dec.frames(input.packets(vs.index)))) {
      if (f === null) break;
      const buf = f.toBuffer(); // AVFrame -> JS Buffer
      frameBytes = buf.length;
      if (frames === 0) first = Buffer.from(buf);
      frames++;
      f.free();
    }
    filt.close();
    dec.close();
    await input.close();
  } else if (kind === 'opencv') {
    // Not exercised by default (its build takes ~10 min); runs only if the package resolves.
    const mod = await importPeer('@u4/opencv4nodejs', peerRoot);
    const cv = mod.default ?? mod;
    t0 = performance.now();
    const cap = new cv.VideoCapture(file);
    for (;;) {
      const m = cap.read();
      if (m.empty) break;
      const buf = m.getData(); // Mat -> JS Buffer
      frameBytes = buf.length;
      if (frames === 0) first = Buffer.from(buf);
      frames++;
    }
    cap.release();
  } else {
    throw new Error(`unknown child kind ${kind}`);
  }
  const ms = performance.now() - t0;
  const ru = process.resourceUsage(); // CPU includes node start + import: the whole process
  const cpuS = (ru.userCPUTime + ru.systemCPUTime) / 1e6 + (ffmpegCpuS ?? 0);
  const hash = first ? createHash('sha1').update(first).digest('hex').slice(0, 12) : null;
  process.stdout.write(`${JSON.stringify({
    frames, ms, frameBytes, hash, cpuS, nodeRssKB: ru.maxRSS, ffmpegRssKB,
  })}\n`);
}

/** `/usr/bin/time -f '%M %U %S' -o F` -> [peak RSS KB, user+sys CPU s]. */

async function importPeer(spec, peerRoot) {
  const where = resolvePeer(spec, peerRoot);
  if (!where) throw new Error(`${spec} is not installed`);
  return import(pathToFileURL(where).href);
}

/** Resolves a package from the repo first, then from the scratch peer prefix. Never installs. */
function resolvePeer(spec, peerRoot = PEERS) {
  for (const base of [join(ROOT, 'package.json'), join(peerRoot, 'package.json')]) {
    try {
      return createRequire(base).resolve(spec);
    } catch { /* next */ }
  }
  return null;
}

// ---------------------------------------------------------------- parent mode
function parseArgs(argv) {
  const a = { quick: false, runs: null, frames: null, hevcFrames: null, paths: null, threads: [], installPeers: false };
  readFlags(argv, 'node bench/decode.mjs [--quick] [--frames N] [--hevc-frames N] [--runs N] [--paths id,...] [--threads 0,2,3] [--install-peers]', (k, val, num) => {
    if (k === '--quick') a.quick = true;
    else if (k === '--runs') a.runs = num(val());
    else if (k === '--frames') a.frames = num(val());
    else if (k === '--hevc-frames') a.hevcFrames = num(val());
    else if (k === '--paths') a.paths = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (k === '--threads') a.threads = val().split(',').map((s) => Number(s));
    else if (k === '--install-peers') a.installPeers = true;
    else return false;
    return true;
  });
  const frames = a.frames ?? (a.quick ? 120 : 600);
  return {
    ...a,
    runs: a.runs ?? (a.quick ? 1 : 3),
    frames,
    hevcFrames: a.hevcFrames ?? (a.frames || a.quick ? Math.max(1, Math.round(frames / 4)) : 150),
  };
}


/** Makes (or reuses) a testsrc2 clip; the name is its parameters. */
function makeClip(dir, c) {
  const name = `${c.codec}_${c.size}_${c.rate}fps_${c.frames}f_${c.preset}_${c.pixFmt}.${c.ext}`;
  const file = join(dir, name);
  if (existsSync(file) && statSync(file).size > 0) return { file, cached: true, ms: 0 };
  const tmp = join(dir, `.${process.pid}.${name}`);
  const extra = c.codec === 'libx265' ? ['-x265-params', 'log-level=error'] : [];
  const t = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i',
    `testsrc2=size=${c.size}:rate=${c.rate}`, '-frames:v', String(c.frames), '-c:v', c.codec, '-preset', c.preset,
    '-pix_fmt', c.pixFmt, ...extra, tmp], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`making ${name} failed: ${r.stderr}`);
  }
  renameSync(tmp, file);
  return { file, cached: false, ms: performance.now() - t };
}


/** The limit: `ffmpeg -i F -pix_fmt bgr24 -f null -`; wall time of the whole process (includes its start). */
async function runCli(file, { firstFrameOnly = false } = {}) {
  const rssFile = TIME ? join(os.tmpdir(), `avcv-bench-rss-cli-${process.pid}`) : null;
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-progress', 'pipe:1', '-i', file,
    ...(firstFrameOnly ? ['-frames:v', '1'] : []), '-pix_fmt', 'bgr24', '-f', 'null', '-'];
  const t0 = performance.now();
  const { out } = TIME ? await runProcess(TIME, ['-f', '%M %U %S', '-o', rssFile, 'ffmpeg', ...args]) : await runProcess('ffmpeg', args);
  const ms = performance.now() - t0;
  const m = [...out.matchAll(/^frame=(\d+)/gm)].pop();
  let rssKB = null;
  let cpuS = null;
  if (rssFile) {
    [rssKB, cpuS] = readTimeFile(rssFile);
    rmSync(rssFile, { force: true });
  }
  return { frames: m ? Number(m[1]) : NaN, ms, procMs: ms, cpuS, rssKB, hash: null };
}

async function runChild(job) {
  const payload = Buffer.from(JSON.stringify(job)).toString('base64url');
  const t0 = performance.now();
  const { out } = await runProcess(process.execPath, [SELF, '--child', payload], { env: job.env });
  const procMs = performance.now() - t0; // node start + import + decode + exit, comparable to the CLI's wall time
  const r = JSON.parse(out.trim().split('\n').pop());
  return { frames: r.frames, ms: r.ms, procMs, cpuS: r.cpuS, hash: r.hash, rssKB: r.nodeRssKB + (r.ffmpegRssKB ?? 0), nodeRssKB: r.nodeRssKB, ffmpegRssKB: r.ffmpegRssKB };
}


function installPeers() {
  console.log(`installing node-av@6.1.1 into ${PEERS} (--no-save, 3 min limit)...`);
  mkdirSync(PEERS, { recursive: true });
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PEERS, 'node-av@6.1.1'],
    { encoding: 'utf8', timeout: 180e3 });
  if (r.status !== 0) console.log(`  npm install failed or timed out: ${(r.stderr || String(r.error)).slice(-500)}`);
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench/decode.mjs: ${e.message} (see --help)`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'dist/index.mjs')) || !existsSync(join(ROOT, 'build/Release/avcv.node'))) {
    throw new Error('avcv is not built: run `npm run build` first');
  }
  const ffv = ffmpegVersion();
  const cpus = os.cpus();
  console.log(`avcv decode benchmark — node ${process.version}, ffmpeg CLI ${ffv}, ${cpus.length} x ${cpus[0]?.model ?? '?'}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; runs=${args.runs}${args.quick ? ' (quick)' : ''}; ` +
    `peak RSS via ${TIME ? '/usr/bin/time -f %M (ffmpeg) + process.resourceUsage().maxRSS (node)' : 'process.resourceUsage().maxRSS (ffmpeg RSS n/a)'}`);

  if (args.installPeers && !resolvePeer('node-av/api')) installPeers();

  // Paths. copies: extra full-frame copies after the bgr24 conversion, in user space.
  const paths = [
    { id: 'cli', label: 'ffmpeg CLI -f null (limit)', copies: '-', run: (clip) => runCli(clip.file) },
    { id: 'avcv', label: 'avcv for-await', copies: '0', job: { kind: 'avcv', opts: {} } },
    // the same loop with fresh memory per frame instead of the frame pool (as in Electron, where external buffers are not allowed)
    { id: 'avcv-nopool', label: 'avcv for-await, no frame pool', copies: '0', job: { kind: 'avcv', opts: {}, env: { AVCV_FRAME_POOL: '0' } } },
    { id: 'avcv-noretain', label: 'avcv for-await, heap not kept', copies: '0', job: { kind: 'avcv', opts: {}, env: { AVCV_HEAP_RETAIN: '0' } } },
    { id: 'avcv-reuse', label: 'avcv reuseBuffers', copies: '0', job: { kind: 'avcv', opts: { reuseBuffers: true } } },
    { id: 'avcv-release', label: 'avcv for-await + release()', copies: '0', job: { kind: 'avcv', opts: {}, release: true } },
    ...args.threads.map((t) => ({ id: `avcv-t${t}`, label: `avcv threads:${t}`, copies: '0', job: { kind: 'avcv', opts: { threads: t } } })),
    { id: 'pipe', label: 'child_process pipe', copies: '1', job: { kind: 'pipe' } },
  ];
  const notes = [];
  const nodeAv = resolvePeer('node-av/api');
  if (nodeAv) paths.push({ id: 'node-av', label: 'node-av 6.1.1 (filter+toBuffer)', copies: '1', job: { kind: 'node-av', peerRoot: PEERS } });
  else notes.push(`node-av: not installed (try --install-peers: npm install --no-save --prefix ${PEERS} node-av@6.1.1)`);
  if (resolvePeer('@u4/opencv4nodejs')) paths.push({ id: 'opencv', label: '@u4/opencv4nodejs VideoCapture', copies: '1', job: { kind: 'opencv', peerRoot: PEERS } });
  else notes.push('@u4/opencv4nodejs: not installed — skipped (its native build takes ~10 min; this script never installs it)');
  // --paths keeps the CLI (the reference) and the --threads variants
  const selected = args.paths ? paths.filter((p) => p.id === 'cli' || /^avcv-t\d+$/.test(p.id) || args.paths.includes(p.id)) : paths;
  for (const n of notes) console.log(n);

  const mediaDir = join(os.tmpdir(), 'avcv-bench-media');
  mkdirSync(mediaDir, { recursive: true });
  const clipSpecs = [
    { name: 'h264 1080p', codec: 'libx264', size: '1920x1080', width: 1920, height: 1080, rate: 30, frames: args.frames, preset: 'veryfast', pixFmt: 'yuv420p', ext: 'mp4' },
    { name: 'hevc 2160p', codec: 'libx265', size: '3840x2160', width: 3840, height: 2160, rate: 30, frames: args.hevcFrames, preset: 'ultrafast', pixFmt: 'yuv420p', ext: 'mp4' },
  ];

  const summary = {
    node: process.version, ffmpeg: ffv, cpus: cpus.length, cpuModel: cpus[0]?.model ?? null, loadAvgAtStart: os.loadavg(), runs: args.runs,
    quick: args.quick, copiesPerFrame: { avcv: 0, pipe: 1, 'node-av': 1 }, clips: [], notes,
  };
  let failed = false;

  for (const spec of clipSpecs) {
    const clip = { ...spec, ...makeClip(mediaDir, spec) };
    console.log(`\n== ${spec.name}: ${spec.size} ${spec.codec} -preset ${spec.preset}, ${spec.frames} frames @${spec.rate} fps ` +
      `(${(statSync(clip.file).size / 2 ** 20).toFixed(1)} MiB, ${clip.cached ? 'cached' : `made in ${(clip.ms / 1000).toFixed(1)} s`}) ${clip.file}`);

    // Fixed cost inside the CLI's wall time: process start + open + first frame.
    const startup = [];
    for (let r = 0; r < Math.max(args.runs, 3); r++) startup.push((await runCli(clip.file, { firstFrameOnly: true })).ms);

    const results = new Map(selected.map((p) => [p.id, []]));
    for (let r = 0; r < args.runs; r++) {
      // alternate the order per round: rotate by the round, reverse on odd rounds
      let order = selected.map((_, i) => selected[(i + r) % selected.length]);
      if (r % 2) order = order.reverse();
      for (const p of order) {
        try {
          const res = p.run ? await p.run(clip)
            : await runChild({ ...p.job, file: clip.file, width: spec.width, height: spec.height });
          results.get(p.id).push(res);
          process.stderr.write(`  round ${r + 1}/${args.runs} ${p.id.padEnd(11)} ${res.frames} frames ${(res.ms / 1000).toFixed(2)} s\n`);
        } catch (e) {
          results.get(p.id).push({ error: String(e.message ?? e).split('\n')[0] });
          process.stderr.write(`  round ${r + 1}/${args.runs} ${p.id} FAILED: ${e.message}\n`);
        }
      }
    }

    const cliMs = median(results.get('cli').filter((x) => !x.error).map((x) => x.ms));
    const expected = spec.frames;
    const refHash = results.get('pipe')?.find((x) => x.hash)?.hash ?? null; // the CLI's own bgr24 bytes
    const rows = [];
    const clipSummary = { name: spec.name, codec: spec.codec, size: spec.size, frames: expected, file: clip.file,
      cliStartupMs: Math.round(median(startup)), paths: {} };
    for (const p of selected) {
      const rs = results.get(p.id);
      const ok = rs.filter((x) => !x.error);
      const counts = [...new Set(ok.map((x) => x.frames))];
      const countOk = ok.length === rs.length && counts.length === 1 && counts[0] === expected;
      if (!countOk) failed = true;
      const ms = ok.length ? median(ok.map((x) => x.ms)) : NaN;
      const procMs = ok.length ? median(ok.map((x) => x.procMs)) : NaN;
      const cpuS = ok.length && ok.every((x) => x.cpuS != null) ? median(ok.map((x) => x.cpuS)) : NaN;
      const fps = expected / (ms / 1000);
      const rssKB = ok.length ? Math.max(...ok.map((x) => x.rssKB ?? NaN)) : NaN;
      const hash = ok.find((x) => x.hash)?.hash ?? null;
      const same = p.id === 'cli' ? '' : hash && refHash ? (hash === refHash ? 'yes' : 'NO') : '?';
      const err = rs.find((x) => x.error)?.error;
      rows.push([p.label, ok.length ? fmtMs(ms) : 'failed', ok.length ? fmtMs(procMs) : '-', Number.isFinite(cpuS) ? cpuS.toFixed(2) : 'n/a', ok.length ? fps.toFixed(1) : '-', ok.length ? `${(fps / (expected / (cliMs / 1000))).toFixed(2)}x` : '-',
        Number.isFinite(rssKB) ? (rssKB / 1024).toFixed(0) : 'n/a', countOk ? String(counts[0]) : `MISMATCH ${counts.join('/') || err}`,
        p.copies, same]);
      clipSummary.paths[p.id] = {
        label: p.label, medianMs: round(ms), medianProcessMs: round(procMs), medianCpuS: round(cpuS, 2), fps: round(fps, 1), ratioToCli: round(fps / (expected / (cliMs / 1000)), 3),
        peakRssMB: Number.isFinite(rssKB) ? round(rssKB / 1024, 1) : null, frames: counts.length === 1 ? counts[0] : counts,
        framesOk: countOk, copiesPerFrame: p.copies === '-' ? null : Number(p.copies), firstFrameMatchesCli: same === '' || same === '?' ? null : same === 'yes',
        allMs: ok.map((x) => round(x.ms)), ...(err ? { error: err } : {}),
      };
    }
    printTable(['path', 'median', 'proc wall', 'cpu s', 'fps', 'vs CLI', 'peak RSS MB', 'frames', 'copies/frame', '=CLI bytes'], rows);
    console.log(`  median: CLI = process wall time (includes ffmpeg start + open + first frame: ${fmtMs(median(startup))}, median of ${startup.length});`);
    console.log('  others = open -> last frame inside a node process; proc wall = that node process spawn -> exit. fps/vs CLI use median.');
    console.log('  cpu s = user+sys CPU seconds of the whole process tree used (node incl. start-up; + the ffmpeg child for the pipe).');
    summary.clips.push(clipSummary);
  }

  console.log('\ncopies/frame: avcv 0 — swscale writes the bgr24 frame straight into the JS-owned buffer (no copy after the conversion);');
  console.log('  pipe 1 — pipe chunk -> preallocated frame buffer (plus the kernel pipe copies and the 64 KiB chunk reads);');
  console.log('  node-av 1 — the bgr24 AVFrame is copied into a Buffer by frame.toBuffer().');
  console.log('  pipe peak RSS = node + ffmpeg child; "=CLI bytes": first frame byte-identical to the CLI\'s rawvideo output.');
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
  if (failed) {
    console.error('FAILED: not every path decoded the expected number of frames');
    process.exitCode = 1;
  }
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}



main().catch((e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
