#!/usr/bin/env node
// Audio decode benchmark: AudioReader decoding a long AAC track to f32
// against `ffmpeg -i X -f f32le -` read through a child_process pipe in Node
// (and the CLI alone writing to /dev/null, the limit), side by side.
//
//   node bench/audio.mjs [--long] [--minutes N] [--runs N] [--chunk N]
//
// The track (48 kHz stereo AAC, 128 kb/s; 10 minutes, --long an hour) is
// made at run time with the ffmpeg CLI and cached under
// os.tmpdir()/avcv-bench-media. Paths run in a different order each round;
// the table shows medians and the ratio of AudioReader's speed to the pipe's.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runProcess, median, ffmpegVersion, round, printTable, readFlags } from './common.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { AudioReader } = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);

let minutes = 10;
let runs = 3;
let chunk = 4096;
readFlags(process.argv.slice(2), 'node bench/audio.mjs [--long] [--minutes N] [--runs N] [--chunk N]', (k, value, positiveInt) => {
  if (k === '--long') minutes = 60;
  else if (k === '--minutes') minutes = positiveInt(value());
  else if (k === '--runs') runs = positiveInt(value());
  else if (k === '--chunk') chunk = positiveInt(value());
  else return false;
  return true;
});

async function media() {
  const dir = join(os.tmpdir(), 'avcv-bench-media');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `audio-aac-48k-stereo-${minutes}min.m4a`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp.m4a`;
  console.log(`making ${minutes} min of 48 kHz stereo AAC ...`);
  await runProcess('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i',
    `aevalsrc=sin(440*2*PI*t)*0.5+0.1*sin(3*t)*sin(5000*2*PI*t)|0.5*sin(660*2*PI*t):s=48000:d=${minutes * 60}`,
    '-c:a', 'aac', '-b:a', '128k', tmp]);
  renameSync(tmp, file);
  return file;
}

async function avcv(file) {
  const t0 = performance.now();
  let values = 0;
  const r = await AudioReader.open(file, { chunkSamples: chunk });
  for await (const c of r) values += c.data.length;
  await r.close();
  return { ms: performance.now() - t0, bytes: values * 4 };
}

/** The pipe pattern: ffmpeg decodes to f32le on stdout, Node takes each chunk as it comes (no concatenation). */
function pipe(file) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    let bytes = 0;
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-f', 'f32le', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', (d) => { bytes += d.length; });
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res({ ms: performance.now() - t0, bytes }) : rej(new Error(`ffmpeg exited ${code}`))));
  });
}

async function cli(file) {
  const t0 = performance.now();
  await runProcess('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', file, '-f', 'f32le', '/dev/null']);
  return { ms: performance.now() - t0, bytes: null };
}

const file = await media();
const paths = { 'ffmpeg CLI -> /dev/null (the limit)': cli, 'Node pipe (ffmpeg -f f32le -)': pipe, 'avcv AudioReader (f32)': avcv };
const times = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
const sizes = {};
for (let i = 0; i < runs; i++) {
  const order = Object.keys(paths);
  for (let j = 0; j < i % order.length; j++) order.push(order.shift());
  for (const k of order) {
    const r = await paths[k](file);
    times[k].push(r.ms);
    if (r.bytes !== null) sizes[k] = r.bytes;
  }
}
const [pipeBytes, avcvBytes] = [sizes['Node pipe (ffmpeg -f f32le -)'], sizes['avcv AudioReader (f32)']];
if (pipeBytes !== avcvBytes) throw new Error(`the paths decoded different amounts: pipe ${pipeBytes} bytes, avcv ${avcvBytes}`);
const pipeMs = median(times['Node pipe (ffmpeg -f f32le -)']);
console.log(`ffmpeg ${ffmpegVersion()}, ${os.cpus().length} CPUs, ${minutes} min 48 kHz stereo AAC, ${runs} runs, chunkSamples ${chunk}`);
printTable(['path', 'median ms', 'x realtime', 'speed vs pipe'], Object.entries(times).map(([k, t]) => {
  const ms = median(t);
  return [k, round(ms), round((minutes * 60e3) / ms), round(pipeMs / ms, 2)];
}));
