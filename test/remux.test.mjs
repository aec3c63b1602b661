// remux(): packets copied without decoding. Against the ffmpeg CLI's own
// `-c copy` of the same file, and against real servers: a recording from
// nginx-rtmp (the CLI publishing a file with audio), across an nginx restart;
// a file streamed to nginx, paced and looped, read back by avcv's reader and
// compared frame by frame with the file's own frames.
import { test, describe, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { remux, VideoReader, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, grayFrames, assertConsecutive } from './helpers.mjs';
import { nginxRtmp, publish } from './servers.mjs';

const dir = tempDir('avcv-remux-');
const src = join(dir, 'src.mp4'); // h264 with B-frames + AAC, a keyframe every second
const W = 160;
const H = 96;
const N = 100;
const RTMP = ['rtmp', 'tcp'];
let fileFrames; // the CLI's decode of the file, gray

beforeAll(() => {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=${N / 25}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${N / 25}`,
    '-c:v', 'libx264', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  const raw = ffmpeg(['-i', src, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  fileFrames = Array.from({ length: N }, (_, i) => raw.subarray(i * W * H, (i + 1) * W * H));
});

const md5 = (file, map) => ffmpeg(['-i', file, '-map', map, '-f', 'md5', '-']).toString().trim();
const gray = (file, t) => grayFrames(file, W, H, t);
const consecutive = (frames, label) => assertConsecutive(frames, fileFrames, label);

describe('remux of files', () => {
  test('mp4 -> mkv: video and audio decode exactly as the CLI\'s -c copy of the same file', async () => {
    const out = join(dir, 'copy.mkv');
    const ref = join(dir, 'ref.mkv');
    ffmpeg(['-i', src, '-map', '0', '-c', 'copy', ref]);
    const r = await remux(src, out);
    assert.deepEqual(r.streams, ['video h264', 'audio aac']);
    assert.equal(md5(out, '0:v'), md5(ref, '0:v'));
    assert.equal(md5(out, '0:a'), md5(ref, '0:a'));
    // the same start times as the CLI's (mkv shifts both by the AAC priming packet's negative time)
    const starts = (f) => ffprobe(f, ['-show_streams']).streams.map((s) => `${s.codec_type} ${s.start_time}`);
    assert.deepEqual(starts(out), starts(ref));
    assert.ok(Math.abs(r.duration - 4) < 0.05, `duration ${r.duration}`);
  });

  test('duration: the frames of the CLI\'s -t with -c copy, exactly', async () => {
    const out = join(dir, 'cut.mkv');
    const ref = join(dir, 'cut-ref.mkv');
    ffmpeg(['-i', src, '-t', '2.5', '-map', '0', '-c', 'copy', ref]);
    await remux(src, out, { duration: 2.5 });
    assert.equal(md5(out, '0:v'), md5(ref, '0:v'));
  });

  test('loop with duration: the file 2.5 times, timestamps rising, ending at the duration', async () => {
    const out = join(dir, 'loop.mp4');
    const r = await remux(src, out, { loop: true, duration: 10 });
    assert.equal(r.loops, 2);
    const frames = gray(out, 10);
    assert.equal(frames.length, 250);
    consecutive(frames, 'looped');
    const pts = ffprobe(out, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
    for (let k = 1; k < pts.length; k++) assert.ok(pts[k] > pts[k - 1], `pts rise at ${k}`);
    const a = ffprobe(out, ['-select_streams', 'a:0', '-show_entries', 'stream=duration']).streams[0];
    assert.ok(Math.abs(Number(a.duration) - 10) < 0.1, `audio ${a.duration} s`);
  });

  test('a container that cannot hold a stream: an error naming it, nothing left; cancel: ABORTED, nothing left', async () => {
    const out = join(dir, 'no.webm');
    await assert.rejects(remux(src, out), (e) => e instanceof AvcvError && /webm.*h264|h264.*webm|cannot hold/.test(e.message));
    const ac = new AbortController();
    const slow = remux(src, join(dir, 'slow.mkv'), { realtime: true, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(slow, (e) => e instanceof AvcvError && e.code === 'ABORTED');
    assert.deepEqual(readdirSync(dir).filter((f) => /no\.webm|slow\.mkv|avcv-tmp/.test(f)), []);
    await assert.rejects(remux(src, join(dir, 'x.mkv'), { duration: 0 }), RangeError);
    await assert.rejects(remux(src, join(dir, 'x.mkv'), { loop: 1 }), TypeError);
    await assert.rejects(remux(src, join(dir, 'x.mkv'), { speed: 2 }), (e) => e instanceof TypeError && /speed/.test(e.message));
    await assert.rejects(remux(src, 'rtmp://127.0.0.1:1/live/x'), (e) => e instanceof AvcvError && e.code === 'PROTOCOL_NOT_ALLOWED');
  });
});

describe('remux with nginx-rtmp', () => {
  let server;
  beforeAll(async () => {
    server = await nginxRtmp(dir);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('recording a live stream: starts at a keyframe, the file\'s frames in order, audio kept, the duration asked for', async () => {
    const pub = publish(src, server.url('rec'));
    try {
      const out = join(dir, 'rec.mkv');
      const progress = [];
      const r = await remux(server.url('rec'), out, { input: { protocols: RTMP, live: { openTimeout: 10 } }, duration: 3, onProgress: (p) => progress.push(p) });
      assert.deepEqual(r.streams, ['video h264', 'audio aac']);
      const frames = gray(out, 3);
      const idx = consecutive(frames, 'recording');
      // 75 at 25 fps; 74 when the recording spans the publisher's loop (the CLI's
      // -stream_loop leaves a gap of a fraction of a frame in the timeline there)
      assert.ok(frames.length === 75 || frames.length === 74, `${frames.length} frames shown in 3 s`);
      assert.equal(idx[0] % 25, 0, 'the first frame is a keyframe of the file');
      // the audio, decoded by the CLI: 3 s of it (cut by its own time, within an AAC frame)
      const pcm = ffmpeg(['-i', out, '-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', '44100', '-']);
      const seconds = pcm.length / 2 / 44100;
      assert.ok(Math.abs(seconds - 3) < 0.05, `${seconds} s of audio`);
      assert.ok(progress.length >= 2 && progress.at(-1).seconds >= 2.9, 'progress reported');
    } finally {
      await pub.stop();
    }
  }, 30_000);

  test('stop: a recording without a duration ends when asked, finished and kept', async () => {
    const pub = publish(src, server.url('stopme'));
    try {
      const out = join(dir, 'stopped.mp4');
      const stop = new AbortController();
      const job = remux(server.url('stopme'), out, { input: { protocols: RTMP, live: {} }, stop: stop.signal });
      await sleep(2500);
      stop.abort();
      const r = await job;
      assert.ok(r.duration > 0.5 && r.duration < 2.6, `${r.duration} s recorded`);
      const frames = gray(out);
      assert.ok(frames.length > 10, `${frames.length} frames`);
      consecutive(frames.slice(0, -3), 'stopped recording');
      assert.equal(ffprobe(out, ['-show_streams']).streams.length, 2);
    } finally {
      await pub.stop();
    }
  }, 30_000);

  test('a recording whose stream stalls with no reconnects: finished and kept, result.disconnected says why', async () => {
    const pub = publish(src, server.url('stall'));
    const out = join(dir, 'stalled.mkv');
    const job = remux(server.url('stall'), out, { input: { protocols: RTMP, live: { stallTimeout: 1 } } });
    await sleep(2500);
    await pub.stop(); // nginx keeps the player connected, with nothing to send
    const r = await job;
    assert.match(r.disconnected, /no packet for 1 s/);
    assert.ok(r.duration > 0.5, `${r.duration} s kept`);
    const frames = gray(out);
    assert.ok(frames.length > 10);
    consecutive(frames.slice(0, -3), 'kept');
  }, 30_000);

  test('recording across an nginx restart: it reconnects, timestamps go on rising, both parts are the file\'s frames in order', async () => {
    let pub = publish(src, server.url('rec2'));
    const out = join(dir, 'rec2.mkv');
    try {
      let recorded = 0, failed = null;
      const job = remux(server.url('rec2'), out, {
        input: { protocols: RTMP, live: { openTimeout: 10, stallTimeout: 2, reconnect: { attempts: 10, delay: 0.2, maxDelay: 1 } } }, duration: 5,
        onProgress: (p) => { recorded = p.seconds; },
      });
      job.catch((e) => { failed = e; });
      // the restart once the first connection has recorded 1.5 s (a fixed
      // 2 s wait could restart nginx before a slow start had received
      // anything: then the job recorded all 5 s from the second publisher,
      // with no reconnect)
      for (const t0 = Date.now(); recorded < 1.5 && !failed; await sleep(50)) {
        assert.ok(Date.now() - t0 < 20_000, `1.5 s recorded within 20 s; got ${recorded} s`);
      }
      await pub.stop();
      await server.stop();
      await server.start();
      pub = publish(src, server.url('rec2'));
      const r = await job;
      assert.equal(r.reconnects, 1);
      const frames = gray(out, 5);
      const idx = frames.map((f) => fileFrames.findIndex((g) => g.equals(f)));
      assert.ok(idx.every((i) => i >= 0), 'every frame is one of the file\'s');
      const breaks = idx.filter((i, k) => k > 0 && i !== (idx[k - 1] + 1) % N).length;
      // the B-frames the lost connection did not deliver, then the jump to where the new one starts
      assert.ok(breaks <= 2, `two breaks at the reconnect at most; got ${breaks}`);
      const pts = ffprobe(out, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
      for (let k = 1; k < pts.length; k++) assert.ok(pts[k] > pts[k - 1], `pts rise at ${k}`);
      // cut by decode time, as the CLI's -t: frames shown up to the B-frame delay after 5 s stay
      assert.ok(pts.at(-1) > 4.9 && pts.at(-1) < 5.2, `ends at ${pts.at(-1)}`);
      // the audio goes on after the reconnect too (nginx's FLV can give the
      // new connection its audio as stream 0: matched by type, not by index)
      const apts = ffprobe(out, ['-select_streams', 'a:0', '-show_entries', 'packet=pts_time']).packets.map((p) => Number(p.pts_time));
      assert.ok(apts.at(-1) > 4.5, `audio ends at ${apts.at(-1)}`);
    } finally {
      await pub.stop();
    }
  }, 40_000);

  test('streaming a file, looped and paced: a reader gets the file\'s frames in order across the loop, no faster than real time', async () => {
    const url = server.url('out');
    const t0 = Date.now();
    const job = remux(src, url, { output: { protocols: RTMP }, realtime: true, loop: true, duration: 6 });
    await sleep(300);
    const reader = await VideoReader.open(url, { protocols: RTMP, format: 'gray', live: { openTimeout: 5, stallTimeout: 3 } });
    const frames = [];
    try {
      for await (const f of reader) frames.push(Buffer.from(f.data));
    } catch (e) {
      // the stream ends when the job does: nginx closes the players
      if (!(e instanceof AvcvError && e.code === 'DISCONNECTED')) throw e;
    } finally {
      await reader.close();
    }
    const r = await job;
    const took = (Date.now() - t0) / 1000;
    assert.ok(took >= 5.5, `6 s of stream took ${took} s`);
    assert.equal(r.loops, 1);
    assert.ok(frames.length >= 100, `${frames.length} frames read`);
    // the stream's last frames: cut by decode time, a B-frame or two before the end may be missing
    const idx = consecutive(frames.slice(0, -3), 'streamed');
    assert.ok(idx.includes(N - 1) && idx.lastIndexOf(0) > idx.indexOf(N - 1), 'the reader saw the loop');
    assert.ok(!existsSync(join(dir, 'out')));
  }, 30_000);
});
