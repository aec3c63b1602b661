// The scripts in examples/ run as a user runs them (node examples/X.mjs,
// importing 'avcv' by its package name) on media made here; what they print
// and write is checked against the ffmpeg CLI, ffprobe and python3-opencv.
import { test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, ffmpeg, ffprobe, countFrames } from './helpers.mjs';
import { rtspServer } from './servers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = tempDir('avcv-examples-');
const clip = join(dir, 'clip.mp4');
const W = 320;
const H = 240;
const N = 75;

beforeAll(() => {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=3`, '-f', 'lavfi', '-i', 'sine=sample_rate=44100:duration=3',
    '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', clip]);
});

function example(name, args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(root, 'examples', name), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout.trim().split('\n').at(-1)) }));
  });
}

test('edge-detection: every frame, the audio kept, and the edges are OpenCV\'s Canny of the CLI\'s frame (python3-opencv)', async () => {
  const out = join(dir, 'edges.mp4');
  const r = await example('edge-detection.mjs', [clip, out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(countFrames(out), N);
  assert.ok(ffprobe(out, ['-show_streams']).streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac'), 'audio kept');
  const py = `
import sys, numpy as np, cv2
raw = sys.stdin.buffer.read()
img = np.frombuffer(raw, np.uint8).reshape(${H}, ${W}, 3)
edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 80, 160)
sys.stdout.buffer.write(edges.tobytes())
`;
  const first = ffmpeg(['-i', clip, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
  const want = spawnSync('/usr/bin/python3', ['-c', py], { input: first, maxBuffer: 1 << 26 }).stdout;
  const got = ffmpeg(['-i', out, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  assert.equal(got.length, want.length);
  let off = 0;
  let edges = 0;
  for (let i = 0; i < got.length; i++) {
    if (want[i]) edges++;
    if ((got[i] > 127) !== (want[i] > 127)) off++;
  }
  assert.ok(edges > 1000, `${edges} edge pixels in the reference`);
  assert.ok(off / got.length < 0.03, `${(100 * off / got.length).toFixed(2)}% of pixels differ from cv2.Canny after H.264`);
}, 60_000);

test('tensor-batch: [8, 3, 224, 224] and the mean of the CLI\'s frames, normalised by hand', async () => {
  const r = await example('tensor-batch.mjs', [clip]);
  assert.equal(r.code, 0, r.stderr);
  const { shape, mean } = r.json();
  assert.deepEqual(shape, [8, 3, 224, 224]);
  const rgb = ffmpeg(['-i', clip, '-vf', 'scale=224:224', '-frames:v', '8', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  const m = [0.485, 0.456, 0.406];
  const s = [0.229, 0.224, 0.225];
  let sum = 0;
  for (let i = 0; i < rgb.length; i++) sum += (rgb[i] / 255 - m[i % 3]) / s[i % 3];
  assert.ok(Math.abs(mean - sum / rgb.length) < 1e-3, `mean ${mean} against ${sum / rgb.length}`);
}, 60_000);

test('training-clips: one epoch has every 16-frame clip (stride 8) of every video once', async () => {
  const other = join(dir, 'other.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', other]);
  const r = await example('training-clips.mjs', [clip, other]);
  assert.equal(r.code, 0, r.stderr);
  const clips = [clip, other].map((f) => Math.floor((countFrames(f) - 16) / 8) + 1).reduce((a, b) => a + b);
  assert.deepEqual(r.json(), { batches: Math.ceil(clips / 4), clips });
}, 60_000);

let rtsp;
afterAll(async () => {
  await rtsp?.stop();
});

test('rtsp-camera: frames from a real RTSP server for the seconds asked, the first one named, no reconnect', async () => {
  rtsp = await rtspServer(clip);
  const r = await example('rtsp-camera.mjs', [rtsp.url, '2']);
  assert.equal(r.code, 0, r.stderr);
  const s = r.json();
  assert.ok(s.frames >= 20, `${s.frames} frames in 2 s`);
  assert.equal(s.reconnects, 0);
  assert.match(r.stderr, new RegExp(`first frame: ${W}x${H}`));
}, 30_000);

test('hls-live: the playlist decodes (CLI) to every frame of the input, with its audio', async () => {
  const playlist = join(dir, 'hls', 'stream.m3u8');
  const r = await example('hls-live.mjs', [clip, playlist]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json(), { playlist, frames: N, audio: 'copy' });
  assert.equal(countFrames(playlist), N);
  assert.ok(ffprobe(playlist, ['-show_streams']).streams.some((s) => s.codec_type === 'audio'), 'audio in the segments');
}, 60_000);

test('hls-ladder: the master playlist names every rendition, whose segments decode (CLI) to every frame of the input', async () => {
  const out = join(dir, 'ladder');
  const r = await example('hls-ladder.mjs', [clip, out, '240,120']);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json();
  assert.deepEqual(j.renditions.map((x) => x.name), ['240p', '120p']);
  const master = readFileSync(join(out, 'master.m3u8'), 'utf8');
  for (const x of j.renditions) {
    assert.match(master, new RegExp(`BANDWIDTH=${x.bandwidth},.*CODECS="${x.codecs.replace('.', '\\.')},mp4a\\.40\\.2"[^\\n]*\\n${x.name}/index\\.m3u8`));
    assert.equal(countFrames(join(out, x.name, 'index.m3u8')), N, `${x.name}: every frame`);
  }
  assert.ok(ffprobe(join(out, 'manifest.mpd'), ['-show_streams']).streams.some((s) => s.codec_type === 'audio'), 'the MPD has the audio');
});
