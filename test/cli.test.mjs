// The CLI's record and stream commands, run as a user runs them (the bin,
// spawned), against nginx-rtmp started here; outputs checked with the ffmpeg
// CLI and ffprobe. Exit codes: 0 done, 1 failed, 2 usage, 130 interrupted.
import { test, describe, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, ffmpeg, ffprobe, grayFrames, assertConsecutive, runCli } from './helpers.mjs';
import { nginxRtmp, publish } from './servers.mjs';

const dir = tempDir('avcv-cli-');
const src = join(dir, 'src.mp4');
const W = 160;
const H = 96;
const N = 100;
let fileFrames;

beforeAll(() => {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=${N / 25}`, '-f', 'lavfi', '-i', `sine=sample_rate=44100:duration=${N / 25}`,
    '-c:v', 'libx264', '-g', '25', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  const raw = ffmpeg(['-i', src, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  fileFrames = Array.from({ length: N }, (_, i) => raw.subarray(i * W * H, (i + 1) * W * H));
});


const gray = (file, t) => grayFrames(file, W, H, t);
const consecutive = (frames, label) => assertConsecutive(frames, fileFrames, label);

describe('avcv record / stream with nginx-rtmp', () => {
  let server;
  beforeAll(async () => {
    server = await nginxRtmp(dir, { record: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('record --duration --json: exit 0, progress and result as JSON lines, the stream\'s frames with its audio', async () => {
    const pub = publish(src, server.url('a'));
    try {
      const out = join(dir, 'rec.mkv');
      const r = await runCli(['record', server.url('a'), out, '--duration', '2', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(lines.some((l) => l.event === 'progress'), 'progress lines');
      const done = lines.at(-1);
      assert.equal(done.event, 'done');
      assert.deepEqual(done.streams, ['video h264', 'audio aac']);
      const frames = gray(out, 2);
      consecutive(frames, 'recorded');
      // 50 at 25 fps; 49 when the recording spans the publisher's loop (a gap of a fraction of a frame there)
      assert.ok(frames.length === 50 || frames.length === 49, `${frames.length} frames shown in 2 s`);
      assert.deepEqual(ffprobe(out, ['-show_streams']).streams.map((s) => s.codec_name), ['h264', 'aac']);
    } finally {
      await pub.stop();
    }
  }, 30_000);

  test('record, Ctrl-C: the recording stops and is kept (exit 0); stream to a file, Ctrl-C: aborted, nothing left (exit 130)', async () => {
    const pub = publish(src, server.url('b'));
    try {
      const kept = join(dir, 'kept.mp4');
      const r1 = await runCli(['record', server.url('b'), kept], (c) => setTimeout(() => c.kill('SIGINT'), 2500));
      assert.equal(r1.code, 0, r1.stderr);
      const frames = gray(kept);
      assert.ok(frames.length > 10, `${frames.length} frames kept`);
      consecutive(frames.slice(0, -2), 'kept');
    } finally {
      await pub.stop();
    }
    const gone = join(dir, 'gone.ts');
    const r2 = await runCli(['stream', src, gone, '--loop'], (c) => setTimeout(() => c.kill('SIGINT'), 1500));
    assert.equal(r2.code, 130, r2.stderr);
    assert.ok(!existsSync(gone));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('avcv-tmp')), []);
  }, 30_000);

  test('stream --loop --duration: paced like -re; what nginx records is the file\'s frames, looped', async () => {
    const t0 = Date.now();
    const r = await runCli(['stream', src, server.url('c'), '--loop', '--duration', '6']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 >= 5500, `6 s streamed in ${Date.now() - t0} ms`);
    await server.recordingDone('c'); // nginx closes the recording after the publisher leaves
    const frames = gray(server.recording('c'), 5.8);
    assert.ok(frames.length >= 140, `${frames.length} frames recorded`);
    consecutive(frames, 'streamed');
  }, 30_000);

  test('errors: a usage error exits 2, a refused connection exits 1 with the code', async () => {
    const u = await runCli(['record', server.url('x')]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /missing required argument/);
    const d = await runCli(['record', server.url('x'), join(dir, 'x.mkv'), '--duration', 'soon']);
    assert.equal(d.code, 2);
    const f = await runCli(['stream', join(dir, 'missing.mp4'), server.url('x')]);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /^avcv: ENOENT: /m);
    assert.doesNotMatch(f.stderr, /\n\s+at /, 'no stack without --verbose');
    const c = await runCli(['record', 'rtmp://127.0.0.1:1/live/x', join(dir, 'y.mkv'), '--no-reconnect']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /avcv: CONNECT: /);
  }, 30_000);
});

describe('avcv transform', () => {
  test('--resize and --crf: exit 0, the size asked for, every frame, the audio kept (ffprobe)', async () => {
    const out = join(dir, 'small.mp4');
    const r = await runCli(['transform', src, out, '--resize', '80x', '--crf', '20', '--preset', 'veryfast', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const done = JSON.parse(r.stdout.trim().split('\n').at(-1));
    assert.equal(done.event, 'done');
    const p = ffprobe(out, ['-count_frames', '-show_streams']).streams;
    const v = p.find((s) => s.codec_type === 'video');
    assert.deepEqual([v.width, v.height, Number(v.nb_read_frames)], [80, 48, N]);
    assert.ok(p.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac'), 'audio kept');
  }, 30_000);

  test('--crop and --no-audio; a bad --resize is a usage error (2); Ctrl-C: 130, nothing left', async () => {
    const out = join(dir, 'crop.mkv');
    const r = await runCli(['transform', src, out, '--crop', '0,0,64,32', '--no-audio']);
    assert.equal(r.code, 0, r.stderr);
    const p = ffprobe(out, ['-show_streams']).streams;
    assert.deepEqual(p.map((s) => [s.codec_type, s.width, s.height]), [['video', 64, 32]]);
    const cropped = ffmpeg(['-i', out, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
    assert.equal(cropped.length, N * 64 * 32);
    const bad = await runCli(['transform', src, join(dir, 'x.mp4'), '--resize', 'big']);
    assert.equal(bad.code, 2);
    const long = join(dir, 'long.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60', '-c:v', 'libx264', '-preset', 'ultrafast', long]);
    const gone = join(dir, 'gone.mp4');
    const c = await runCli(['transform', long, gone, '--preset', 'slow'], (ch) => setTimeout(() => ch.kill('SIGINT'), 1500));
    assert.equal(c.code, 130, c.stderr);
    assert.ok(!existsSync(gone));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('avcv-tmp')), []);
  }, 60_000);
});

describe('avcv frames', () => {
  const frameBytes = W * H * 3;
  let cli; // the CLI's decode of the file, bgr24
  beforeAll(() => {
    cli = ffmpeg(['-i', src, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
  });
  const decodeImage = (file) => ffmpeg(['-i', file, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);

  test('--indices as png: each file is exactly the CLI\'s decode of that frame', async () => {
    const out = join(dir, 'idx');
    const r = await runCli(['frames', src, out, '--indices', '0,10,57']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['frame_000000.png', 'frame_000010.png', 'frame_000057.png']);
    for (const i of [0, 10, 57]) {
      assert.ok(decodeImage(join(out, `frame_${String(i).padStart(6, '0')}.png`)).equals(cli.subarray(i * frameBytes, (i + 1) * frameBytes)), `frame ${i}`);
    }
  }, 30_000);

  test('--every 1s: the frames shown at 0, 1, 2, 3 s; --json lines name them', async () => {
    const out = join(dir, 'every');
    const r = await runCli(['frames', src, out, '--every', '1s', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.event === 'frame').map((l) => l.index), [0, 25, 50, 75]);
    assert.equal(lines.at(-1).frames, 4);
    for (const i of [0, 25, 50, 75]) {
      assert.ok(decodeImage(join(out, `frame_${String(i).padStart(6, '0')}.png`)).equals(cli.subarray(i * frameBytes, (i + 1) * frameBytes)), `frame ${i}`);
    }
  }, 30_000);

  test('--format raw --resize 80x: bgr24 bytes equal to the CLI\'s scale=80:-2; usage errors exit 2, a missing file 1 with nothing written', async () => {
    const out = join(dir, 'raw');
    const r = await runCli(['frames', src, out, '--format', 'raw', '--resize', '80x', '--indices', '5']);
    assert.equal(r.code, 0, r.stderr);
    const want = ffmpeg(['-i', src, '-vf', 'scale=80:-2', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']).subarray(5 * 80 * 48 * 3, 6 * 80 * 48 * 3);
    const { readFileSync } = await import('node:fs');
    assert.ok(readFileSync(join(out, 'frame_000005.raw')).equals(want));
    const both = await runCli(['frames', src, join(dir, 'x'), '--every', '1s', '--indices', '1']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /choose one/);
    const missing = await runCli(['frames', join(dir, 'nope.mp4'), join(dir, 'y')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
    assert.ok(!existsSync(join(dir, 'y')));
  }, 30_000);
});

describe('avcv thumbs', () => {
  test('a contact sheet of keyframes: the tiles are the CLI\'s scaled keyframes (above the drawn time), at ffprobe\'s keyframe times', async () => {
    const long = join(dir, 'long20.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=20', '-c:v', 'libx264', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', long]);
    const out = join(dir, 'sheet.png');
    const r = await runCli(['thumbs', long, out, '--count', '8', '--cols', '4', '--width', '160', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim());
    const keyTimes = ffprobe(long, ['-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pts_time']).frames
      .filter((f) => f.key_frame === 1).map((f) => Number(f.pts_time));
    assert.equal(keyTimes.length, 10);
    assert.equal(res.tiles, 8);
    for (const t of res.times) assert.ok(keyTimes.some((k) => Math.abs(k - t) < 1e-6), `${t} s is a keyframe`);
    assert.equal(res.times[0], 0);
    assert.equal(res.times.at(-1), keyTimes.at(-1));
    const tw = 160;
    const th = 90;
    const gap = 4;
    assert.deepEqual([res.width, res.height], [4 * tw + 5 * gap, 2 * th + 3 * gap]);
    const sheet = ffmpeg(['-i', out, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
    const scaled = ffmpeg(['-i', long, '-vf', `scale=${tw}:-2`, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-']);
    res.frames.forEach((i, k) => {
      const x0 = gap + (k % 4) * (tw + gap);
      const y0 = gap + Math.floor(k / 4) * (th + gap);
      for (let row = 0; row < th / 2; row++) { // the upper half: the text is drawn at the bottom
        const got = sheet.subarray(((y0 + row) * res.width + x0) * 3, ((y0 + row) * res.width + x0 + tw) * 3);
        const want = scaled.subarray((i * tw * th + row * tw) * 3, (i * tw * th + (row + 1) * tw) * 3);
        assert.ok(got.equals(want), `tile ${k} (frame ${i}) row ${row}`);
      }
    });
    const bad = await runCli(['thumbs', long, join(dir, 'sheet.gif')]);
    assert.equal(bad.code, 2);
  }, 60_000);
});
