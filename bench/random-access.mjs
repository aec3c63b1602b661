#!/usr/bin/env node
// Random-access benchmark: avcv frame(i) / frames(indices) vs the naive
// "open and decode from the start" loop vs a full sequential decode vs
// python3-opencv's cap.set(CAP_PROP_POS_FRAMES, i) + cap.read().
//
//   node bench/random-access.mjs [--quick] [--runs N] [--count N] [--seed S] [--no-opencv] [--keep]
//
// Input: a 1920x1080 H.264 testsrc2 clip, 600 frames at 30 fps, GOP 60, 2
// B-frames (libx264 -preset veryfast -g 60 -bf 2 -pix_fmt yuv420p), made with
// the ffmpeg CLI and cached under os.tmpdir()/avcv-bench-media. Output is
// bgr24. The indices are drawn once from a seeded PRNG (same set every run).
//
// Paths (each timed run is its own child process; the table shows medians):
//   single   16 x `await reader.frame(i)`, in the drawn (random) order
//   single^  the same 16 calls in ascending order (isolates sorting from batching)
//   batch    one `await reader.frames(indices)`
//   naive    for each index: VideoReader.open, `for await` until the frame, close
//   seq      `for await` over all 600 frames
//   opencv   python3 cv2: cap.set(CAP_PROP_POS_FRAMES, i); cap.read() per index
// Times run from VideoReader.open / cv2.VideoCapture to the last frame (the
// index scan that frame()/frames() need is included; its own time is shown).
//
// Correctness (not timed): every avcv path's frames are hashed and compared
// with the ffmpeg CLI's frame i (`ffmpeg -i F -fps_mode passthrough -f rawvideo
// -pix_fmt bgr24 -`, sliced), and OpenCV's frames are compared byte for byte
// (exact count, max abs diff, and which CLI frame they really are).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const SELF = fileURLToPath(import.meta.url);
const PY = '/usr/bin/python3';

const CLIP = { codec: 'libx264', size: '1920x1080', rate: 30, frames: 600, preset: 'veryfast', gop: 60, bf: 2, pixFmt: 'yuv420p', ext: 'mp4' };

const sha = (buf) => createHash('sha1').update(buf).digest('hex');

// ---------------------------------------------------------------- child mode
if (process.argv[2] === '--child') {
  const job = JSON.parse(Buffer.from(process.argv[3], 'base64url').toString());
  const res = await child(job);
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

async function child({ kind, file, indices }) {
  const { VideoReader } = await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href);
  const hashes = {}; // display index -> sha1 of the bgr24 bytes (computed after the clock stops)
  const keep = [];
  let t0;
  let indexMs = null;
  let ra = 0; // stats.randomAccessFramesDecoded delta over the timed accesses
  let seqDecoded = 0; // stats.framesDecoded (the sequential decoder)
  let iterated = 0; // frames pulled by for await
  let opens = 0;
  if (kind === 'single' || kind === 'single-asc' || kind === 'batch') {
    t0 = performance.now();
    const reader = await VideoReader.open(file, { format: 'bgr24' });
    opens++;
    const ti = performance.now();
    await reader.index();
    indexMs = performance.now() - ti;
    const ra0 = reader.stats.randomAccessFramesDecoded ?? 0;
    if (kind === 'batch') {
      const got = await reader.frames(indices);
      got.forEach((f, j) => keep.push([indices[j], f]));
    } else {
      const order = kind === 'single' ? indices : [...indices].sort((a, b) => a - b);
      for (const i of order) keep.push([i, await reader.frame(i)]);
    }
    const st = reader.stats;
    ra = (st.randomAccessFramesDecoded ?? 0) - ra0;
    seqDecoded = st.framesDecoded;
    await reader.close();
  } else if (kind === 'naive') {
    t0 = performance.now();
    for (const i of indices) {
      const reader = await VideoReader.open(file, { format: 'bgr24' });
      opens++;
      let n = 0;
      for await (const f of reader) {
        n++;
        if (n === i + 1) { // the i-th displayed frame (0-based)
          keep.push([i, f]);
          break;
        }
      }
      iterated += n;
      seqDecoded += reader.stats.framesDecoded; // includes what the prefetch decoded ahead
      await reader.close();
    }
  } else if (kind === 'seq') {
    t0 = performance.now();
    const reader = await VideoReader.open(file, { format: 'bgr24' });
    opens++;
    const want = new Set(indices);
    for await (const f of reader) {
      if (want.has(iterated)) keep.push([iterated, f]);
      iterated++;
    }
    seqDecoded = reader.stats.framesDecoded;
    await reader.close();
  } else {
    throw new Error(`unknown child kind ${kind}`);
  }
  const ms = performance.now() - t0;
  for (const [i, f] of keep) {
    if (f.index !== undefined && f.index !== i) hashes[i] = `wrong-index:${f.index}`;
    else hashes[i] = sha(f.data);
  }
  return { ms, indexMs, ra, seqDecoded, iterated, opens, hashes };
}

// ---------------------------------------------------------------- parent mode
function parseArgs(argv) {
  const a = { quick: false, runs: null, count: null, seed: 20240611, opencv: true, keep: false };
  readFlags(argv, 'node bench/random-access.mjs [--quick] [--runs N] [--count N] [--seed S] [--no-opencv] [--keep]', (k, val, num) => {
    if (k === '--quick') a.quick = true;
    else if (k === '--runs') a.runs = num(val());
    else if (k === '--count') a.count = num(val());
    else if (k === '--seed') a.seed = num(val());
    else if (k === '--no-opencv') a.opencv = false;
    else if (k === '--keep') a.keep = true;
    else return false;
    return true;
  });
  const count = a.count ?? (a.quick ? 6 : 16);
  if (count > CLIP.frames) throw new Error(`--count: at most ${CLIP.frames}`);
  return { ...a, count, runs: a.runs ?? (a.quick ? 1 : 3) };
}


/** `count` distinct indices in [0, n), in draw order (not sorted). */
function drawIndices(n, count, seed) {
  const rnd = mulberry32(seed);
  const out = [];
  const seen = new Set();
  while (out.length < count) {
    const i = Math.floor(rnd() * n);
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  }
  return out;
}

function makeClip(dir, c) {
  const name = `${c.codec}_${c.size}_${c.rate}fps_${c.frames}f_${c.preset}_g${c.gop}_bf${c.bf}_${c.pixFmt}.${c.ext}`;
  const file = join(dir, name);
  if (existsSync(file) && statSync(file).size > 0) return { file, cached: true, ms: 0 };
  const tmp = join(dir, `.${process.pid}.${name}`);
  const t = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i',
    `testsrc2=size=${c.size}:rate=${c.rate}`, '-frames:v', String(c.frames), '-c:v', c.codec, '-preset', c.preset,
    '-g', String(c.gop), '-bf', String(c.bf), '-pix_fmt', c.pixFmt, tmp], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`making ${name} failed: ${r.stderr}`);
  }
  renameSync(tmp, file);
  return { file, cached: false, ms: performance.now() - t };
}


async function runChild(job) {
  const { out } = await runProcess(process.execPath, [SELF, '--child', Buffer.from(JSON.stringify(job)).toString('base64url')]);
  return JSON.parse(out.trim().split('\n').pop());
}


// ---------------------------------------------------------------- OpenCV (python3-opencv)
const PY_SCRIPT = String.raw`
import sys, time, json
import cv2
f, out = sys.argv[1], sys.argv[2]
idx = [int(x) for x in sys.argv[3].split(',')]
t0 = time.perf_counter()
cap = cv2.VideoCapture(f, cv2.CAP_FFMPEG)
if not cap.isOpened():
    raise SystemExit('cv2.VideoCapture could not open ' + f)
imgs = []
for i in idx:
    cap.set(cv2.CAP_PROP_POS_FRAMES, i)
    ok, img = cap.read()
    imgs.append(img if ok else None)
cap.release()
ms = (time.perf_counter() - t0) * 1000
shapes = []
with open(out, 'wb') as fh:
    for img in imgs:
        if img is None:
            shapes.append(None)
        else:
            b = img.tobytes()  # HxWx3 BGR, C-contiguous
            shapes.append(list(img.shape))
            fh.write(b)
print(json.dumps({'ms': ms, 'shapes': shapes, 'version': cv2.__version__,
                  'threads': cv2.getNumThreads()}))
`;
import { runProcess, median, readFlags, wholeFrames } from './common.mjs';
import { mulberry32 } from '../test/helpers.mjs';

function opencvAvailable() {
  const probe = () => spawnSync(PY, ['-c', 'import cv2; print(cv2.__version__)'], { encoding: 'utf8' });
  if (!existsSync(PY)) return { ok: false, why: `${PY} not found` };
  let r = probe();
  if (r.status === 0) return { ok: true, version: r.stdout.trim() };
  console.log('  python3-opencv is missing: trying `apt-get install -y python3-opencv` once (5 min limit)...');
  const a = spawnSync('apt-get', ['install', '-y', 'python3-opencv'], { encoding: 'utf8', timeout: 300e3,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (a.status !== 0) console.log(`  apt-get failed: ${(a.stderr || String(a.error)).trim().split('\n').slice(-2).join(' | ')}`);
  r = probe();
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: 'not installed' };
}

async function runOpencv(file, indices, outFile) {
  const { out } = await runProcess(PY, ['-c', PY_SCRIPT, file, outFile, indices.join(',')]);
  return JSON.parse(out.trim().split('\n').pop());
}

// ---------------------------------------------------------------- reference frames
/**
 * Streams the CLI's bgr24 frames through `visit(j, frame)` (the buffer is
 * reused; copy what you keep). Returns the frame count.
 */
async function cliFrames(file, frameBytes, visit) {
  const ff = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-fps_mode', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let j = 0;
  let stderr = '';
  ff.stderr.on('data', (d) => { stderr += d; });
  let partial = null;
  try {
    for await (const frame of wholeFrames(ff.stdout, frameBytes)) visit(j++, frame);
  } catch (e) {
    partial = e;
  }
  const code = await new Promise((res) => (ff.exitCode !== null ? res(ff.exitCode) : ff.on('close', res)));
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${stderr}`);
  if (partial) throw new Error(`ffmpeg: ${partial.message}`);
  return j;
}

function diffStats(a, b) {
  let max = 0;
  let sum = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k] > b[k] ? a[k] - b[k] : b[k] - a[k];
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}

// ---------------------------------------------------------------- main
async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench/random-access.mjs: ${e.message} (see --help)`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'dist/index.mjs')) || !existsSync(join(ROOT, 'build/Release/avcv.node'))) {
    throw new Error('avcv is not built: run `npm run build` first');
  }
  const ffr = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (ffr.status !== 0) throw new Error('the ffmpeg CLI is needed (apt-get install ffmpeg)');
  const ffv = ffr.stdout.split('\n')[0].replace(/^ffmpeg version /, '').split(' ')[0];

  const media = join(os.tmpdir(), 'avcv-bench-media');
  mkdirSync(media, { recursive: true });
  const clip = makeClip(media, CLIP);
  const { file } = clip;
  const indices = drawIndices(CLIP.frames, args.count, args.seed);

  console.log(`avcv random-access benchmark — ffmpeg CLI ${ffv}, node ${process.version}, ${os.cpus().length} CPUs, ${os.platform()} ${os.arch()}`);
  console.log(`clip: ${file} (${clip.cached ? 'cached' : `made in ${(clip.ms / 1000).toFixed(1)} s`}, ${(statSync(file).size / 1e6).toFixed(1)} MB)`);
  console.log(`      ${CLIP.size} ${CLIP.codec} -preset ${CLIP.preset} -g ${CLIP.gop} -bf ${CLIP.bf} -pix_fmt ${CLIP.pixFmt}, ${CLIP.frames} frames at ${CLIP.rate} fps; output bgr24`);
  console.log(`indices (${indices.length}, seed ${args.seed}, draw order): ${indices.join(', ')}`);

  // GOP structure from avcv's own index (not timed)
  const { VideoReader } = await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href);
  const probe = await VideoReader.open(file, { format: 'bgr24' });
  const ix = await probe.index();
  const frameBytes = probe.info.frameBytes;
  const keys = Array.from(ix.keyframes).sort((a, b) => a - b);
  const gopOf = (i) => { // the last keyframe at or before i (display order)
    let g = keys[0];
    for (const k of keys) if (k <= i) g = k;
    return g;
  };
  const gops = new Map(); // keyframe -> highest wanted index in it
  for (const i of indices) gops.set(gopOf(i), Math.max(gops.get(gopOf(i)) ?? -1, i));
  const batchMin = [...gops].reduce((s, [k, hi]) => s + (hi - k + 1), 0); // decode each needed GOP once, up to its last wanted frame
  const singleMin = indices.reduce((s, i) => s + (i - gopOf(i) + 1), 0); // each call from its keyframe
  const naiveMin = indices.reduce((s, i) => s + i + 1, 0);
  console.log(`index: ${ix.frameCount} frames, ${keys.length} keyframes at ${keys.join(',')}`);
  console.log(`GOPs touched by the indices: ${gops.size} of ${keys.length}; least frames to decode: batch ${batchMin}, each call from its keyframe ${singleMin}, from the start ${naiveMin}`);

  // ---- timed runs
  const paths = [
    { id: 'single', label: '(a) frame(i) x N, draw order' },
    { id: 'single-asc', label: '(a^) frame(i) x N, ascending' },
    { id: 'batch', label: '(b) frames(indices), 1 call' },
    { id: 'naive', label: '(c) naive: open + for await to i' },
    { id: 'seq', label: `(d) full sequential, ${CLIP.frames} frames` },
  ];
  const cv = args.opencv ? opencvAvailable() : { ok: false, why: 'skipped (--no-opencv)' };
  if (cv.ok) paths.push({ id: 'opencv', label: `(e) OpenCV ${cv.version} set(POS_FRAMES)+read` });
  else console.log(`OpenCV (python3-opencv): ${cv.why}`);
  const cvOut = join(os.tmpdir(), `avcv-bench-ra-opencv-${process.pid}.bgr`);

  const results = new Map(paths.map((p) => [p.id, []]));
  let cvMeta = null;
  console.log(`\nruns: ${args.runs} (each path in its own process per run; order rotates, reversed on odd rounds)`);
  for (let r = 0; r < args.runs; r++) {
    let order = paths.map((_, i) => paths[(i + r) % paths.length]);
    if (r % 2) order = order.reverse();
    for (const p of order) {
      let res;
      try {
        if (p.id === 'opencv') {
          res = await runOpencv(file, indices, cvOut);
          cvMeta = res;
        } else {
          res = await runChild({ kind: p.id, file, indices });
        }
      } catch (e) {
        res = { error: String(e.message ?? e).slice(0, 500) };
      }
      results.get(p.id).push(res);
      console.log(`  round ${r + 1} ${p.id.padEnd(10)} ${res.error ? `ERROR ${res.error}` : fmtMs(res.ms)}`);
    }
  }

  // ---- correctness: CLI reference vs every avcv path's hashes, and OpenCV's bytes
  console.log('\nchecking frames against the ffmpeg CLI (-fps_mode passthrough, rawvideo bgr24)...');
  const want = new Set(indices);
  const cliHash = {};
  const cvFrames = new Map(); // i -> Buffer | null
  if (cv.ok && existsSync(cvOut)) {
    const all = readFileSync(cvOut);
    let off = 0;
    cvMeta.shapes.forEach((sh, j) => {
      if (!sh) { cvFrames.set(indices[j], null); return; }
      const n = sh.reduce((a, b) => a * b, 1);
      cvFrames.set(indices[j], n === frameBytes ? all.subarray(off, off + n) : null);
      off += n;
    });
  }
  // avcv bytes for max-abs-diff reporting on mismatches (one batch call, not timed)
  const avcvFrames = new Map((await probe.frames(indices)).map((f, j) => [indices[j], f.data]));
  await probe.close();
  const WINDOW = 4; // which CLI frame within +-4 is OpenCV's closest to
  const cvCheck = new Map(indices.map((i) => [i, { exact: false, diff: null, best: null }]));
  const avcvDiff = new Map();
  const cliCount = await cliFrames(file, frameBytes, (j, fr) => {
    if (want.has(j)) {
      cliHash[j] = sha(fr);
      const a = avcvFrames.get(j);
      if (!fr.equals(a)) avcvDiff.set(j, diffStats(a, fr));
    }
    for (const [i, img] of cvFrames) {
      if (!img || Math.abs(j - i) > WINDOW) continue;
      const c = cvCheck.get(i);
      if (j === i) {
        c.exact = fr.equals(img);
        c.diff = c.exact ? { max: 0, mean: 0 } : diffStats(img, fr);
      }
      const d = j === i ? c.diff : diffStats(img, fr);
      if (!c.best || d.mean < c.best.mean) c.best = { j, mean: d.mean, max: d.max };
    }
  });
  if (cliCount !== CLIP.frames) console.log(`  note: the CLI produced ${cliCount} frames, expected ${CLIP.frames}`);

  const exactFor = (id) => {
    const runs = results.get(id).filter((x) => !x.error);
    if (!runs.length) return null;
    // every run must match: count the indices exact in all runs
    return indices.filter((i) => runs.every((x) => x.hashes[i] === cliHash[i])).length;
  };

  // ---- table
  const row = (p) => {
    const ok = results.get(p.id).filter((x) => !x.error);
    if (!ok.length) return { p, ok, ms: NaN };
    return { p, ok, ms: median(ok.map((x) => x.ms)), last: ok[ok.length - 1] };
  };
  const rows = paths.map(row);
  const byId = Object.fromEntries(rows.map((x) => [x.p.id, x]));
  const N = indices.length;
  const table = rows.map(({ p, ok, ms, last }) => {
    if (!ok.length) return [p.label, 'ERROR', '', '', '', '', ''];
    const idxMs = ok[0].indexMs != null ? fmtMs(median(ok.map((x) => x.indexMs))) : '-';
    let decoded;
    let note = '';
    if (p.id === 'opencv') {
      decoded = 'n/a';
    } else if (p.id === 'naive') {
      decoded = `${last.iterated}`;
      note = `${last.opens} opens${last.seqDecoded !== last.iterated ? `; decoder output ${last.seqDecoded} (prefetch)` : ''}`;
    } else if (p.id === 'seq') {
      decoded = `${last.seqDecoded}`;
      note = `${last.iterated} iterated`;
    } else {
      decoded = `${last.ra}`;
      if (p.id === 'batch') note = `${gops.size} GOPs touched, least ${batchMin}`;
      else note = p.id === 'single' ? `${singleMin} if every call restarted at its keyframe` : `least ${batchMin} (reuses the decoder)`;
    }
    let exact;
    if (p.id === 'opencv') exact = cvFrames.size ? `${[...cvCheck.values()].filter((c) => c.exact).length}/${N}` : '-';
    else exact = `${exactFor(p.id)}/${N}`;
    const perFrame = p.id === 'seq' ? ms / CLIP.frames : ms / N;
    return [p.label, fmtMs(ms), idxMs, `${perFrame.toFixed(1)} ms`, decoded, exact, note];
  });
  console.log('');
  printTable(['path', 'median', 'index scan', 'per frame', 'frames decoded', '=CLI', 'notes'], table);
  console.log('  median: open -> last frame (includes the index scan for (a)/(b); OpenCV: VideoCapture -> last read, inside python).');
  console.log('  frames decoded: (a)/(b) stats.randomAccessFramesDecoded delta; (c) frames iterated; (d) stats.framesDecoded.');
  console.log('  per frame: median / N requested (seq: / all frames). =CLI: byte-identical to the CLI\'s frame i (avcv: in every run).');

  const ratio = (a, b) => (byId[a]?.ms && byId[b]?.ms ? byId[b].ms / byId[a].ms : NaN);
  console.log('');
  console.log(`  batch vs naive:            ${ratio('batch', 'naive').toFixed(1)}x faster (${byId.batch?.last?.ra} vs ${byId.naive?.last?.iterated} frames decoded)`);
  console.log(`  batch vs ${N} single calls:  ${ratio('batch', 'single').toFixed(2)}x faster (${byId.batch?.last?.ra} vs ${byId.single?.last?.ra} frames decoded); ascending single calls: ${ratio('batch', 'single-asc').toFixed(2)}x`);
  console.log(`  batch vs full sequential:  ${ratio('batch', 'seq').toFixed(2)}x faster`);
  if (byId.opencv?.ok?.length) console.log(`  batch vs OpenCV:           ${ratio('batch', 'opencv').toFixed(2)}x faster`);

  // ---- correctness detail
  console.log('');
  const avcvExact = N - avcvDiff.size;
  console.log(`  avcv frames(indices) vs CLI: ${avcvExact}/${N} exact${avcvDiff.size ? ` — mismatches: ${[...avcvDiff].map(([i, d]) => `${i} (max abs diff ${d.max}, mean ${d.mean.toFixed(3)})`).join(', ')}` : ''}`);
  if (cvFrames.size) {
    const cvExact = [...cvCheck.values()].filter((c) => c.exact).length;
    console.log(`  OpenCV vs CLI: ${cvExact}/${N} exact (threads ${cvMeta.threads})`);
    for (const i of [...indices].sort((a, b) => a - b)) {
      const c = cvCheck.get(i);
      const img = cvFrames.get(i);
      if (!img) { console.log(`    frame ${String(i).padStart(3)}: read failed or wrong shape`); continue; }
      if (c.exact) continue;
      const off = c.best ? c.best.j - i : 0;
      const which = c.best && c.best.j !== i ? `closest CLI frame ${c.best.j} (${off > 0 ? '+' : ''}${off}; mean ${c.best.mean.toFixed(3)}, max ${c.best.max})` : 'closest CLI frame is i itself';
      console.log(`    frame ${String(i).padStart(3)}: max abs diff ${c.diff.max}, mean ${c.diff.mean.toFixed(3)}; ${which}`);
    }
  }
  for (const p of paths) {
    if (p.id === 'opencv') continue;
    const e = exactFor(p.id);
    if (e !== null && e !== N) console.log(`  WARNING: ${p.id} returned ${N - e} frame(s) that differ from the CLI in some run`);
  }
  if (!args.keep) rmSync(cvOut, { force: true });
  else if (existsSync(cvOut)) console.log(`  OpenCV frames kept in ${cvOut}`);

  const round = (x, d = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
  const summary = {
    bench: 'random-access', ffmpeg: ffv, node: process.version, cpus: os.cpus().length, runs: args.runs, seed: args.seed,
    clip: { ...CLIP, file }, indices, keyframes: keys, gopsTouched: gops.size, leastDecode: { batch: batchMin, single: singleMin, naive: naiveMin },
    paths: Object.fromEntries(rows.map(({ p, ok, ms, last }) => [p.id, {
      label: p.label, medianMs: round(ms, 1), runs: ok.length, errors: results.get(p.id).length - ok.length,
      indexMs: ok[0]?.indexMs != null ? round(median(ok.map((x) => x.indexMs)), 1) : null,
      randomAccessFramesDecoded: last?.ra ?? null, framesDecoded: last?.seqDecoded ?? null, framesIterated: last?.iterated ?? null,
      exact: p.id === 'opencv' ? (cvFrames.size ? [...cvCheck.values()].filter((c) => c.exact).length : null) : exactFor(p.id),
    }])),
    ratios: { batchVsNaive: round(ratio('batch', 'naive'), 2), batchVsSingle: round(ratio('batch', 'single'), 2),
      batchVsSingleAscending: round(ratio('batch', 'single-asc'), 2), batchVsSeq: round(ratio('batch', 'seq'), 2),
      batchVsOpencv: round(ratio('batch', 'opencv'), 2) },
    avcvExact, opencvExact: cvFrames.size ? [...cvCheck.values()].filter((c) => c.exact).length : null,
    opencv: cv.ok ? cv.version : cv.why,
  };
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
  const failed = avcvExact !== N || paths.some((p) => p.id !== 'opencv' && exactFor(p.id) !== N);
  if (failed) {
    console.error('FAILED: avcv returned frames that are not byte-identical to the ffmpeg CLI');
    process.exitCode = 1;
  }
}

function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function printTable(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `  ${r.map((c, i) => (i === 0 || i === r.length - 1 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')}`;
  console.log(line(head));
  console.log(`  ${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

main().catch((e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
