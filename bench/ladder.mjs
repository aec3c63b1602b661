#!/usr/bin/env node
// ladder() against the ffmpeg CLI, side by side in one script: a 1080p
// H.264 + AAC source to a four-rendition ladder (1080/720/480/360, x264
// veryfast, capped CRF 23, 6 s fMP4 segments, AAC 128k).
//
//   node bench/ladder.mjs [--seconds 30] [--runs 1]
//
//   avcv       ladder(src, out, { renditions, preset: 'veryfast' }): one decode,
//              one encoder thread per rendition, the audio encoded once
//   cli x4     the seeds' way: one `ffmpeg -f hls` per rendition (each decodes the
//              source and encodes the audio again), the master playlist by hand
//   cli split  one `ffmpeg` with split + var_stream_map + master_pl_name
// All three force keyframes every 6 s and cap each rendition at the same
// maxrate. Reported beside the wall time: whether the segments of all
// renditions start at the same times (ffprobe of every segment), and how far
// each master playlist's BANDWIDTH is from the peak segment bit rate the
// bench measures from the files (RFC 8216bis: the largest rate of any run of
// segments lasting 0.5 to 1.5 target durations; a ratio below 1.00 is a
// playlist that lies). Prints a table and one `BENCH_JSON {...}` line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ladder } from '../dist/index.mjs';
import { ffmpegVersion, median, printTable, readFlags, round, runProcess } from './common.mjs';

const usage = 'node bench/ladder.mjs [--seconds 30] [--runs 1]';
const args = { seconds: 30, runs: 1 };
readFlags(process.argv.slice(2), usage, (k, value, positiveInt) => {
  if (k === '--seconds') args.seconds = positiveInt(value());
  else if (k === '--runs') args.runs = positiveInt(value());
  else return false;
  return true;
});

const SEG = 6;
const LADDER = [[1080, 1920, 6_000_000], [720, 1280, 3_000_000], [480, 854, 1_400_000], [360, 640, 800_000]];
const cache = join(os.tmpdir(), 'avcv-bench-media');
mkdirSync(cache, { recursive: true });
const src = join(cache, `ladder-1080p-${args.seconds}s.mp4`);
if (!existsSync(src)) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(args.seconds), '-ac', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', `${src}.tmp.mp4`]);
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  spawnSync('mv', [`${src}.tmp.mp4`, src]);
}
const scratch = mkdtempSync(join(os.tmpdir(), 'avcv-bench-ladder-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const x264 = (i, max) => [`-c:v:${i}`, 'libx264', `-preset:v:${i}`, 'veryfast', `-crf:v:${i}`, '23', `-maxrate:v:${i}`, String(max), `-bufsize:v:${i}`, String(2 * max)];
const hlsOut = (dir, name) => ['-f', 'hls', '-hls_time', String(SEG), '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
  '-hls_segment_filename', join(dir, name, 'seg_%05d.m4s'), '-hls_fmp4_init_filename', 'init.mp4'];
const forceKeys = ['-force_key_frames', `expr:gte(t,n_forced*${SEG})`];

async function cliSeparate(out) {
  mkdirSync(out);
  const t0 = performance.now();
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7'];
  for (const [h, , max] of LADDER) {
    mkdirSync(join(out, `${h}p`));
    await runProcess('ffmpeg', ['-v', 'error', '-y', '-i', src, '-vf', `scale=-2:${h}`, ...x264(0, max), ...forceKeys,
      '-c:a', 'aac', '-b:a', '128k', ...hlsOut(out, `${h}p`), join(out, `${h}p`, 'index.m3u8')]);
    // the seeds' master playlist: a bandwidth made up from the settings
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${max + 128_000},RESOLUTION=${h}p`, `${h}p/index.m3u8`);
  }
  writeFileSync(join(out, 'master.m3u8'), lines.join('\n') + '\n');
  return (performance.now() - t0) / 1000;
}

async function cliSplit(out) {
  mkdirSync(out);
  const t0 = performance.now();
  const graph = `[0:v]split=${LADDER.length}${LADDER.map((_, i) => `[s${i}]`).join('')};` +
    LADDER.map(([h], i) => `[s${i}]scale=-2:${h}[o${i}]`).join(';');
  const a = ['-v', 'error', '-y', '-i', src, '-filter_complex', graph];
  LADDER.forEach(([, , max], i) => a.push('-map', `[o${i}]`, ...x264(i, max)));
  a.push('-map', '0:a', '-c:a', 'aac', '-b:a', '128k', ...forceKeys,
    '-var_stream_map', `${LADDER.map((_, i) => `v:${i},agroup:aud`).join(' ')} a:0,agroup:aud`,
    '-master_pl_name', 'master.m3u8', '-f', 'hls', '-hls_time', String(SEG), '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
    '-hls_segment_filename', join(out, 'stream_%v', 'seg_%05d.m4s'), join(out, 'stream_%v', 'index.m3u8'));
  await runProcess('ffmpeg', a);
  return (performance.now() - t0) / 1000;
}

async function avcv(out) {
  const r = await ladder(src, out, { renditions: LADDER.map(([height, width, maxrate]) => ({ height, width, maxrate, crf: 23 })), preset: 'veryfast', segmentDuration: SEG, audio: { bitrate: 128_000 } });
  return r.wallTime;
}

/** Each video playlist's segments: start times (one ffprobe reading of init + all segments) and sizes. */
function videoRenditions(root) {
  const out = [];
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f === 'index.m3u8') out.push(p);
    }
  };
  walk(root);
  return out.map((pl) => {
    const dir = join(pl, '..');
    const lines = readFileSync(pl, 'utf8').split('\n');
    const segs = lines.filter((l) => l && !l.startsWith('#'));
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(lines.join('\n'))[1];
    const joined = join(scratch, 'joined.mp4');
    const parts = [readFileSync(join(dir, init)), ...segs.map((s) => readFileSync(join(dir, s)))];
    writeFileSync(joined, Buffer.concat(parts));
    const probe = (a) => JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-of', 'json', ...a, joined], { maxBuffer: 1 << 28 }).stdout);
    const type = probe(['-show_streams']).streams.some((x) => x.codec_type === 'video') ? 'video' : 'audio';
    const p = probe(['-select_streams', type === 'video' ? 'v:0' : 'a:0', '-show_entries', 'packet=pts,pos:stream=time_base', '-show_packets', '-show_streams']);
    const [num, den] = p.streams[0].time_base.split('/').map(Number);
    let off = parts[0].length;
    const starts = [];
    const bytes = [];
    for (const b of parts.slice(1)) {
      const pk = p.packets.filter((x) => Number(x.pos) >= off && Number(x.pos) < off + b.length);
      starts.push(Math.min(...pk.map((x) => Number(x.pts))) * num / den);
      bytes.push(b.length);
      off += b.length;
    }
    return { playlist: pl, type, starts, bytes };
  });
}

function peak(bytes, durs, target) {
  let best = 0;
  for (let i = 0; i < bytes.length; i++) {
    let b = 0;
    let d = 0;
    for (let j = i; j < bytes.length && d + durs[j] <= 1.5 * target; j++) {
      b += bytes[j];
      d += durs[j];
      if (d >= 0.5 * target) best = Math.max(best, 8 * b / d);
    }
  }
  return best;
}

/** Alignment across the video renditions, and BANDWIDTH / measured peak per rendition (lowest, highest). */
function check(root, separateAudio) {
  const all = videoRenditions(root);
  const video = all.filter((r) => r.type === 'video');
  const audio = separateAudio ? all.find((r) => r.type === 'audio') : null;
  const aligned = video.every((v) => JSON.stringify(v.starts.map((s) => s.toFixed(3))) === JSON.stringify(video[0].starts.map((s) => s.toFixed(3))));
  const master = readFileSync(join(root, 'master.m3u8'), 'utf8').split('\n');
  const ratios = [];
  for (let i = 0; i < master.length; i++) {
    const m = /^#EXT-X-STREAM-INF:(?:.*,)?BANDWIDTH=(\d+)/.exec(master[i]);
    if (!m) continue;
    const v = video.find((x) => x.playlist === join(root, master[i + 1]));
    if (!v) continue;  // the CLI lists its audio-only stream as a variant too
    const durs = v.starts.map((s, k) => (k + 1 < v.starts.length ? v.starts[k + 1] : v.starts[0] + args.seconds) - s);
    const bytes = v.bytes.map((b, k) => b + (audio?.bytes[k] ?? 0));
    ratios.push(Number(m[1]) / peak(bytes, durs, SEG));
  }
  return { aligned, segments: video[0].starts.length, ratios: [Math.min(...ratios), Math.max(...ratios)] };
}

console.log(`ladder: ${args.seconds} s of 1080p30 + AAC to 1080/720/480/360 (x264 veryfast, capped CRF 23, ${SEG} s fMP4 segments), ` +
  `${args.runs} run(s); ${os.cpus().length} cores, ffmpeg ${ffmpegVersion()}`);
const runs = { avcv: [], separate: [], split: [] };
const checks = {};
for (let k = 0; k < args.runs; k++) {
  for (const [name, fn, separateAudio] of [['avcv', avcv, true], ['split', cliSplit, true], ['separate', cliSeparate, false]]) {
    const out = join(scratch, `${name}-${k}`);
    runs[name].push(await fn(out));
    if (k === 0) checks[name] = check(out, separateAudio);
    rmSync(out, { recursive: true, force: true });
  }
}
const t = { avcv: median(runs.avcv), separate: median(runs.separate), split: median(runs.split) };
const row = (label, name) => [label, round(t[name], 1), round(t[name] / t.avcv, 2).toFixed(2), checks[name].segments, checks[name].aligned ? 'yes' : 'NO',
  `${checks[name].ratios[0].toFixed(2)}..${checks[name].ratios[1].toFixed(2)}`];
printTable(['', 'wall s', 'x avcv', 'segments', 'aligned', 'BANDWIDTH / measured peak'], [
  row('avcv ladder()', 'avcv'), row('cli: 4 runs (the seeds\')', 'separate'), row('cli: split + var_stream_map', 'split'),
]);
console.log(`  avcv / 4 CLI runs: ${round(t.avcv / t.separate, 2)} (target <= 0.6); avcv / CLI split: ${round(t.avcv / t.split, 2)} (target <= 1.0)`);
console.log(`BENCH_JSON ${JSON.stringify({ seconds: args.seconds, cores: os.cpus().length, wall: t, checks })}`);
