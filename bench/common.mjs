// Helpers shared by the benchmarks in bench/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function runProcess(cmd, args, { timeoutMs = 20 * 60e3, env } = {}) {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', (e) => { clearTimeout(timer); rej(e); });
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code !== 0) rej(new Error(`${cmd} ${args.slice(0, 3).join(' ')}... exited ${code ?? sig}: ${err.slice(-2000)}`));
      else res({ out, err });
    });
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function readTimeFile(f) {
  const [rss, u, sy] = readFileSync(f, 'utf8').trim().split('\n').pop().trim().split(/\s+/).map(Number);
  return [rss, u + sy];
}

export function ffmpegVersion() {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('the ffmpeg CLI is needed (apt-get install ffmpeg)');
  return r.stdout.split('\n')[0].replace(/^ffmpeg version /, '').split(' ')[0];
}

export function round(x, d = 0) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export function printTable(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `  ${r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')}`;
  console.log(line(head));
  console.log(`  ${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

/**
 * The flag loop every bench shares: `handle(flag, value, positiveInt)` sets
 * what it knows and returns false for an unknown flag (an error); -h/--help
 * prints `usage` and exits.
 */
export function readFlags(argv, usage, handle) {
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    const positiveInt = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k}: expected a positive integer, got ${v}`);
      return n;
    };
    if (k === '-h' || k === '--help') {
      console.log(usage);
      process.exit(0);
    }
    if (!handle(k, value, positiveInt)) throw new Error(`unknown argument ${k}`);
  }
}

/**
 * An H.264 testsrc2 clip of `frames` frames at w x h (30 fps, veryfast),
 * made once with the ffmpeg CLI and cached under os.tmpdir()/avcv-bench-media.
 */
export function testsrcClip(w, h, frames) {
  const dir = join(os.tmpdir(), 'avcv-bench-media');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `testsrc2-${w}x${h}-${frames}.mp4`);
  if (!existsSync(file)) {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=30`, '-frames:v', String(frames),
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file]);
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  }
  return file;
}

/** `--runs N` and `--frames N` (the defaults given), -h prints `usage`. */
export function runsAndFrames(argv, usage, defaults) {
  const args = { ...defaults };
  readFlags(argv, usage, (k, value, positiveInt) => {
    if (k === '--runs') args.runs = positiveInt(value());
    else if (k === '--frames') args.frames = positiveInt(value());
    else return false;
    return true;
  });
  return args;
}

/**
 * The whole frames of `frameBytes` in a raw byte stream (an ffmpeg
 * -f rawvideo pipe), each in the same reused buffer: copy what you keep.
 * Bytes left over at the end (a partial frame) throw.
 */
export async function* wholeFrames(readable, frameBytes) {
  const frame = Buffer.allocUnsafe(frameBytes);
  let have = 0;
  for await (const chunk of readable) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, frameBytes - have);
      chunk.copy(frame, have, off, off + n);
      have += n;
      off += n;
      if (have === frameBytes) {
        have = 0;
        yield frame;
      }
    }
  }
  if (have !== 0) throw new Error(`${have} trailing bytes after the last whole frame`);
}
