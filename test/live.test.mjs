// Live sources: RTMP from a real nginx-rtmp (started here, loopback, a free
// port) fed by the ffmpeg CLI publishing a file; the frames read must be the
// file's own decoded frames (compared by content against the CLI's decode of
// the file). A server restart mid-stream, a stall, and the failures a
// network source can have: typed errors within their timeouts, never a hang.
import { test, describe, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { VideoReader, VideoWriter, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, assertExact } from './helpers.mjs';
import { nginxRtmp, publish, silentServer, httpStatusServer, httpFileServer, srtListener, rtspServer, growingHls, freePort } from './servers.mjs';

const dir = tempDir('avcv-live-');
const src = join(dir, 'src.mp4');
const W = 160;
const H = 96;
const N = 100; // frames in the file, published in a loop
let fileFrames; // the CLI's decode of the file, gray
const RTMP = ['rtmp', 'tcp'];

beforeAll(() => {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', String(N), '-c:v', 'libx264', '-g', '25', '-keyint_min', '25',
    '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p', src]);
  const raw = ffmpeg(['-i', src, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
  fileFrames = Array.from({ length: N }, (_, i) => raw.subarray(i * W * H, (i + 1) * W * H));
});

/** The file frame a frame read from the stream is (its index), or -1. */
const whichFrame = (data) => fileFrames.findIndex((f) => f.equals(Buffer.from(data)));

describe('RTMP from nginx-rtmp', () => {
  let server;
  let pub;
  beforeAll(async () => {
    server = await nginxRtmp(dir);
    pub = publish(src, server.url('cam'));
  });
  afterAll(async () => {
    await pub?.stop();
    await server?.stop();
  });

  test('the frames read are the published file\'s frames, in order, with rising pts and receivedAt', async () => {
    const reader = await VideoReader.open(server.url('cam'), { protocols: RTMP, format: 'gray', live: { openTimeout: 10, stallTimeout: 5 } });
    try {
      assert.deepEqual([reader.info.width, reader.info.height], [W, H]);
      const got = [];
      for await (const f of reader) {
        got.push({ k: whichFrame(f.data), pts: f.pts, receivedAt: f.receivedAt });
        if (got.length === 40) break;
      }
      assert.ok(got[0].k >= 0, 'the first frame is a frame of the file');
      for (let i = 1; i < got.length; i++) {
        assert.equal(got[i].k, (got[0].k + i) % N, `frame ${i} follows frame ${i - 1} of the file`);
        assert.ok(got[i].pts > got[i - 1].pts, 'pts rise');
        assert.ok(got[i].receivedAt >= got[i - 1].receivedAt && got[i].receivedAt > Date.now() - 60_000);
      }
      // bytes in: at least the file's packets of the 40 frames read (ffprobe's sizes), at most a few packets more (read ahead)
      const sizes = ffprobe(src, ['-select_streams', 'v:0', '-show_entries', 'packet=size']).packets.map((p) => Number(p.size));
      const least = got.reduce((a, g) => a + sizes[g.k], 0);
      const most = least + sizes.reduce((a, b) => Math.max(a, b), 0) * 12;
      assert.ok(reader.stats.bytesIn >= least && reader.stats.bytesIn <= most, `bytesIn ${reader.stats.bytesIn}, the frames' packets ${least}`);
    } finally {
      await reader.close();
    }
  });

  test('the server restarts mid-stream: the reader reconnects, pts go on rising, the first frame after says discontinuity', async () => {
    const events = [];
    const reader = await VideoReader.open(server.url('cam'), {
      protocols: RTMP, format: 'gray',
      live: { openTimeout: 10, stallTimeout: 3, reconnect: { attempts: 20, delay: 0.25, maxDelay: 1 }, onEvent: (e) => events.push(e) },
    });
    const got = [];
    let restarted = false;
    try {
      for await (const f of reader) {
        got.push({ k: whichFrame(f.data), pts: f.pts, discontinuity: f.discontinuity });
        if (got.length === 20 && !restarted) {
          restarted = true;
          await pub.stop();
          await server.stop();
          setTimeout(async () => {
            await server.start();
            pub = publish(src, server.url('cam'));
          }, 1000);
        }
        if (got.some((g) => g.discontinuity) && got.length >= got.findIndex((g) => g.discontinuity) + 20) break;
      }
    } finally {
      await reader.close();
    }
    const at = got.findIndex((g) => g.discontinuity);
    assert.ok(at >= 20, `a discontinuity after the restart (at ${at})`);
    assert.equal(got.filter((g) => g.discontinuity).length, 1);
    assert.equal(reader.stats.reconnects, 1);
    // events: attempts (the first ones refused while nginx is down), then one success
    const types = events.map((e) => e.type);
    assert.ok(types.includes('reconnecting'), `events: ${types.join(',')}`);
    assert.deepEqual(types.filter((t) => t === 'reconnected'), ['reconnected']);
    assert.equal(types.filter((t) => t === 'reconnecting').length, reader.stats.reconnectAttempts);
    for (let i = 1; i < got.length; i++) assert.ok(got[i].pts > got[i - 1].pts, `pts rise across the reconnect (${i})`);
    for (let i = at + 1; i < got.length; i++) assert.equal(got[i].k, (got[at].k + i - at) % N, 'after the reconnect, the file\'s frames in order');
    assert.ok(got[at].k >= 0);
  }, 60_000);

  test('queue \'latest\': a consumer 3x slower than the source gets frames under one frame interval + 50 ms old, drops counted', async () => {
    const drops = [];
    const reader = await VideoReader.open(server.url('cam'), {
      protocols: RTMP, format: 'gray', live: { openTimeout: 10, stallTimeout: 5, queue: 'latest', onEvent: (e) => e.type === 'drop' && drops.push(e.count) },
    });
    const waits = [];
    try {
      let n = 0;
      for await (const f of reader) {
        if (++n > 5) waits.push(Date.now() - f.receivedAt); // past the burst probing buffered
        await new Promise((r) => setTimeout(r, 120)); // 3 frame intervals of the 25 fps source
        if (n === 30) break;
      }
      waits.sort((a, b) => a - b);
      const p90 = waits[Math.floor(waits.length * 0.9)];
      assert.ok(p90 < 40 + 50, `90% of frames waited under 90 ms (p90 ${p90} ms; all: ${waits.join(',')})`);
      assert.ok(reader.stats.dropped >= 30, `frames dropped: ${reader.stats.dropped}`);
      const told = drops.reduce((a, b) => a + b, 0);
      assert.ok(drops.length > 0 && told <= reader.stats.dropped && told >= reader.stats.dropped - 20, `drop events told ${told} of ${reader.stats.dropped}`);
      assert.ok(reader.stats.latency.p50 <= reader.stats.latency.p95);
    } finally {
      await reader.close();
    }
  }, 30_000);

  test('queue \'block\' (default) loses nothing for a slow consumer: the file\'s frames in order', async () => {
    const reader = await VideoReader.open(server.url('cam'), { protocols: RTMP, format: 'gray', live: { openTimeout: 10, stallTimeout: 5 } });
    const ks = [];
    try {
      for await (const f of reader) {
        ks.push(whichFrame(f.data));
        await new Promise((r) => setTimeout(r, 60));
        if (ks.length === 30) break;
      }
      for (let i = 1; i < ks.length; i++) assert.equal(ks[i], (ks[0] + i) % N);
      assert.equal(reader.stats.dropped, 0);
    } finally {
      await reader.close();
    }
  }, 30_000);

  test('a stream with audio: the reader finds the video though nginx sends audio first (video from the next keyframe), at any phase', async () => {
    const av = join(dir, 'av.mp4');
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=4`, '-f', 'lavfi', '-i', 'sine=sample_rate=44100:duration=4',
      '-c:v', 'libx264', '-g', '25', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', av]);
    const p = publish(av, server.url('av'));
    try {
      await sleep(1000);
      for (let i = 0; i < 6; i++) {
        const t0 = Date.now();
        const reader = await VideoReader.open(server.url('av'), { protocols: RTMP, format: 'gray', live: { openTimeout: 5 } });
        try {
          const first = await reader[Symbol.asyncIterator]().next();
          assert.equal(first.value.width, W);
          // nginx starts a player's video at a keyframe (one a second here)
          assert.ok(Date.now() - t0 < 2500, `first frame after ${Date.now() - t0} ms`);
        } finally {
          await reader.close();
        }
        await sleep(170); // another phase against the keyframes
      }
    } finally {
      await p.stop();
    }
  }, 60_000);

  test('20 server restarts: every one survived, no file descriptor left behind, RSS flat', async () => {
    const { readdirSync } = await import('node:fs');
    const fds = () => readdirSync('/proc/self/fd').length;
    const key = 'soak';
    let p = publish(src, server.url(key));
    const reader = await VideoReader.open(server.url(key), {
      protocols: RTMP, format: 'gray', live: { openTimeout: 10, stallTimeout: 2, reconnect: { attempts: Infinity, delay: 0.1, maxDelay: 0.5 } },
    });
    let before = 0;
    let rssBefore = 0;
    let restarts = 0;
    let frames = 0;
    let lastPts = -Infinity;
    try {
      for await (const f of reader) {
        assert.ok(f.pts > lastPts, 'pts rise');
        lastPts = f.pts;
        if (++frames % 10 !== 0) continue;
        if (restarts === 1 && before === 0) { // after the first reconnect: everything warmed up
          before = fds();
          rssBefore = process.memoryUsage().rss;
        }
        if (restarts === 21 && reader.stats.reconnects === 21) break;
        if (reader.stats.reconnects === restarts) {
          restarts++;
          await p.stop();
          await server.stop();
          await server.start();
          p = publish(src, server.url(key));
        }
      }
      assert.equal(reader.stats.reconnects, 21);
      const after = fds();
      assert.ok(after <= before + 2, `file descriptors ${before} -> ${after} over 20 reconnects`);
      const grew = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      assert.ok(grew < 10, `RSS grew ${grew.toFixed(1)} MB over 20 reconnects`);
    } finally {
      await p.stop();
      await reader.close();
    }
  }, 180_000);

  test('a stall without reconnects: DISCONNECTED within stallTimeout, naming it', async () => {
    const key = 'stall';
    const p = publish(src, server.url(key));
    const reader = await VideoReader.open(server.url(key), { protocols: RTMP, live: { openTimeout: 10, stallTimeout: 1.5 } });
    let stoppedAt = 0;
    try {
      await assert.rejects((async () => {
        let n = 0;
        for await (const f of reader) {
          void f;
          if (++n === 10) {
            await p.stop(); // nginx keeps the player's connection open, with nothing on it
            stoppedAt = Date.now();
          }
        }
      })(), (e) => e instanceof AvcvError && e.code === 'DISCONNECTED' && /1\.5/.test(e.message));
      const waited = (Date.now() - stoppedAt) / 1000;
      assert.ok(waited >= 1.0 && waited < 1.5 + 1.5, `DISCONNECTED ${waited.toFixed(2)} s after the last packet`);
      assert.equal(reader.stats.stalls, 1);
    } finally {
      await p.stop();
      await reader.close();
    }
  }, 30_000);
});

describe('RTSP from gst-rtsp-server', () => {
  let server;
  beforeAll(async () => {
    server = await rtspServer(src);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test.each(['tcp', 'udp'])('over %s: every frame of the file, in order, equal to the CLI\'s decode', async (transport) => {
    const reader = await VideoReader.open(server.url, { protocols: ['rtsp', 'rtp', 'tcp', 'udp'], format: 'gray', live: { transport, openTimeout: 10, stallTimeout: 5 } });
    const got = [];
    try {
      for await (const f of reader) {
        got.push(Buffer.from(f.data));
        if (got.length === N) break;
      }
    } finally {
      await reader.close();
    }
    assertExact(Buffer.concat(got), Buffer.concat(fileFrames), W * H, `rtsp ${transport}`);
  }, 30_000);

  test('the server is killed and restarted: the reader reconnects and pts go on rising', async () => {
    const reader = await VideoReader.open(server.url, {
      protocols: ['rtsp', 'rtp', 'tcp', 'udp'], format: 'gray', live: { openTimeout: 10, stallTimeout: 2, reconnect: { attempts: 30, delay: 0.25, maxDelay: 1 } },
    });
    const got = [];
    try {
      for await (const f of reader) {
        got.push({ k: whichFrame(f.data), pts: f.pts, discontinuity: f.discontinuity });
        if (got.length === 15) {
          await server.stop();
          setTimeout(() => void server.start(), 500);
        }
        const at = got.findIndex((g) => g.discontinuity);
        if (at > 0 && got.length >= at + 15) break;
      }
    } finally {
      await reader.close();
    }
    const at = got.findIndex((g) => g.discontinuity);
    assert.ok(at >= 15, `a discontinuity after the restart (${at})`);
    assert.equal(reader.stats.reconnects, 1);
    for (let i = 1; i < got.length; i++) assert.ok(got[i].pts > got[i - 1].pts, `pts rise (${i})`);
    for (let i = at; i < got.length; i++) assert.equal(got[i].k, i - at, 'the new session plays the file from its start');
  }, 60_000);
});

describe('HTTP and SRT', () => {
  test('a progressive file over HTTP (range requests): every frame equals the CLI\'s decode of the file', async () => {
    const s = await httpFileServer(src);
    try {
      const reader = await VideoReader.open(s.url, { protocols: ['http', 'tcp'], live: { openTimeout: 5, stallTimeout: 5 } });
      const frames = [];
      for await (const f of reader) frames.push(Buffer.from(f.data));
      await reader.close();
      assertExact(Buffer.concat(frames), cliFrames(src, 'bgr24'), W * H * 3, 'http');
    } finally {
      await s.close();
    }
  });

  test('an HTTP server that stalls mid-file: DISCONNECTED after stallTimeout', async () => {
    const fast = join(dir, 'faststart.mp4'); // the index first: the open needs only the start
    ffmpeg(['-i', src, '-c', 'copy', '-movflags', '+faststart', fast]);
    const { statSync } = await import('node:fs');
    const s = await httpFileServer(fast, { stallAfter: Math.floor(statSync(fast).size / 2) });
    try {
      const reader = await VideoReader.open(s.url, { protocols: ['http', 'tcp'], live: { openTimeout: 5, stallTimeout: 1 } });
      let n = 0;
      await assert.rejects((async () => {
        for await (const f of reader) n += f ? 1 : 0;
      })(), (e) => e instanceof AvcvError && e.code === 'DISCONNECTED' && /no packet for 1/.test(e.message));
      assert.ok(n > 0 && n < N, `${n} frames before the stall`);
      await reader.close();
    } finally {
      await s.close();
    }
  });

  test('a live HLS playlist that grows (then ends): every frame of the file, in order', async () => {
    const { mkdirSync, readFileSync } = await import('node:fs');
    const hlsDir = join(dir, 'hls-src');
    mkdirSync(hlsDir, { recursive: true });
    // the segments: the file cut every second by the CLI (an independent segmenter)
    ffmpeg(['-i', src, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', join(hlsDir, 'seg%03d.ts'), join(hlsDir, 'all.m3u8')]);
    const list = readFileSync(join(hlsDir, 'all.m3u8'), 'utf8').split('\n');
    const segments = [];
    for (let i = 0; i < list.length; i++) {
      const m = /^#EXTINF:([\d.]+)/.exec(list[i]);
      if (m) segments.push({ name: list[i + 1].trim(), duration: Number(m[1]) });
    }
    assert.ok(segments.length >= 3);
    const server = await growingHls(hlsDir, segments, { interval: 700 });
    try {
      await assert.rejects(VideoReader.open(server.url, { protocols: ['http', 'tcp'], live: { openTimeout: 5 } }),
        (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED', 'a playlist opens other inputs: allowNestedInputs');
      const reader = await VideoReader.open(server.url, { protocols: ['http', 'tcp'], allowNestedInputs: true, format: 'gray', live: { openTimeout: 5, stallTimeout: 5 } });
      const got = [];
      try {
        for await (const f of reader) got.push(Buffer.from(f.data));
      } finally {
        await reader.close();
      }
      assertExact(Buffer.concat(got), Buffer.concat(fileFrames), W * H, 'live hls');
    } finally {
      await server.close();
    }
  }, 30_000);

  test('UDP MPEG-TS from the CLI: the file\'s frames in order', async () => {
    const { spawn } = await import('node:child_process');
    const ts = join(dir, 'udp-src.ts');
    ffmpeg(['-i', src, '-c', 'copy', '-f', 'mpegts', ts]);
    const port = await freePort();
    const url = `udp://127.0.0.1:${port}`;
    let sender;
    const timer = setTimeout(() => {
      sender = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', ts, '-c', 'copy', '-f', 'mpegts', `${url}?pkt_size=1316`], { stdio: 'ignore' });
    }, 200);
    const reader = await VideoReader.open(url, { protocols: ['udp'], format: 'gray', live: { openTimeout: 10, stallTimeout: 5, probeDuration: 0.5 } });
    const ks = [];
    try {
      for await (const f of reader) {
        ks.push(whichFrame(f.data));
        if (ks.length === 40) break;
      }
    } finally {
      clearTimeout(timer);
      sender?.kill('SIGKILL');
      await reader.close();
    }
    assert.ok(ks[0] >= 0, 'the first frame is one of the file');
    for (let i = 1; i < ks.length; i++) assert.equal(ks[i], (ks[0] + i) % N, `frame ${i}`);
  }, 30_000);

  test('SRT from the CLI as listener: the file\'s frames in order', async () => {
    const ts = join(dir, 'src.ts');
    ffmpeg(['-i', src, '-c', 'copy', '-f', 'mpegts', ts]);
    const l = await srtListener(ts);
    try {
      const reader = await VideoReader.open(l.url, { protocols: ['srt', 'udp'], format: 'gray', live: { openTimeout: 10, stallTimeout: 5, probeDuration: 0.5 } });
      const ks = [];
      for await (const f of reader) {
        ks.push(whichFrame(f.data));
        if (ks.length === 30) break;
      }
      await reader.close();
      assert.ok(ks[0] >= 0);
      for (let i = 1; i < ks.length; i++) assert.equal(ks[i], (ks[0] + i) % N, `frame ${i}`);
    } finally {
      await l.stop();
    }
  }, 30_000);
});

describe('listen: the source connects to avcv', () => {
  test.each([
    ['rtmp', (port) => `rtmp://127.0.0.1:${port}/live/in`, ['rtmp', 'tcp'], 'flv'],
    ['srt', (port) => `srt://127.0.0.1:${port}`, ['srt', 'udp'], 'mpegts'],
  ])('%s: an encoder pushing the file gives every frame of it, then DISCONNECTED when it leaves', async (_name, urlOf, protocols, muxer) => {
    const { spawn } = await import('node:child_process');
    const port = await freePort();
    const url = urlOf(port);
    const target = muxer === 'mpegts' ? `${url}?mode=caller` : url;
    let pusher;
    const timer = setTimeout(() => {
      pusher = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-i', src, '-c', 'copy', '-f', muxer, target], { stdio: 'ignore' });
    }, 300);
    const reader = await VideoReader.open(url, { protocols, format: 'gray', live: { listen: true, openTimeout: 10, stallTimeout: 3, probeDuration: 0.5 } });
    const got = [];
    try {
      await assert.rejects((async () => {
        for await (const f of reader) got.push(Buffer.from(f.data));
      })(), (e) => e instanceof AvcvError && e.code === 'DISCONNECTED');
    } finally {
      clearTimeout(timer);
      pusher?.kill('SIGKILL');
      await reader.close();
    }
    if (muxer === 'flv') {
      assertExact(Buffer.concat(got), Buffer.concat(fileFrames), W * H, `${_name} listen`);
    } else {
      // SRT: the caller's last packets may not arrive before it closes (the
      // CLI listening the same way misses them too); the rest, from the first
      // frame, in order
      assert.ok(got.length >= N - 5, `${got.length} frames`);
      assertExact(Buffer.concat(got), Buffer.concat(fileFrames.slice(0, got.length)), W * H, `${_name} listen`);
    }
  }, 30_000);
});

describe('writing to a network target', () => {
  // Lossless x264 (crf 0): the reference is the file itself (the CLI's
  // decode), not a second encode. At this test's 160x96, Debian's libx264
  // (0.164.3095) gives different bytes for the same frames and settings
  // depending on what its uninitialised allocations hold: the CLI alone does
  // it under MALLOC_PERTURB_, and not with no-mbtree or at 640x360. In a
  // process whose heap readers had used, a comparison with a second encode
  // (a local .flv) failed where nothing was lost.
  test('RTMP to nginx: what nginx records decodes to the file\'s frames exactly (lossless x264 pushed)', async () => {
    const server = await nginxRtmp(dir, { record: true });
    try {
      const reader = await VideoReader.open(src, { format: 'yuv420p' });
      const w = await VideoWriter.open(server.url('pushed'), { width: W, height: H, fps: 25, inputFormat: 'yuv420p', codec: 'libx264', preset: 'veryfast', crf: 0, gop: 25, protocols: ['rtmp', 'tcp'] });
      for await (const f of reader) await w.write(f);
      await reader.close();
      const stats = await w.close();
      assert.equal(stats.frames, N);
      await server.recordingDone('pushed'); // nginx closes the recording after the publisher leaves
      await server.stop();
      const got = ffmpeg(['-i', server.recording('pushed'), '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
      assertExact(got, Buffer.concat(fileFrames), W * H, 'rtmp push');
    } finally {
      await server.stop();
    }
  }, 30_000);

  test('realtime: write() goes no faster than the frames\' timestamps (the CLI\'s -re)', async () => {
    const out = join(dir, 'paced.mkv');
    const w = await VideoWriter.open(out, { width: W, height: H, fps: 25, inputFormat: 'gray', codec: 'ffv1', realtime: true });
    const t0 = Date.now();
    for (let i = 0; i < 26; i++) await w.write(fileFrames[i]);
    const took = (Date.now() - t0) / 1000;
    await w.close();
    assert.ok(took >= 25 / 25 - 0.02, `26 frames at 25 fps took ${took.toFixed(3)} s, not less than 1 s`);
    const got = ffmpeg(['-i', out, '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
    assertExact(got, Buffer.concat(fileFrames.slice(0, 26)), W * H, 'paced output');
    await assert.rejects(VideoWriter.open(out, { width: W, height: H, fps: 25, realtime: 'yes' }), (e) => e instanceof TypeError && /realtime/.test(e.message));
  });

  test('live HLS: segments cut at keyframes, the playlist lists them, no temp file left; the CLI reads it back frame for frame', async () => {
    const { readdirSync, readFileSync, mkdirSync } = await import('node:fs');
    const out = join(dir, 'hls');
    mkdirSync(out, { recursive: true });
    // lossless (crf 0): what the CLI reads back is the written frames themselves
    const w = await VideoWriter.open(join(out, 'live.m3u8'), {
      width: W, height: H, fps: 25, inputFormat: 'gray', codec: 'libx264', crf: 0, gop: 25, hls: { segmentDuration: 1, listSize: 0 },
    });
    for (const f of fileFrames) await w.write(f);
    await w.close();
    const files = readdirSync(out).sort();
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
    const segments = files.filter((f) => f.endsWith('.ts'));
    assert.equal(segments.length, N / 25, `one segment per second: ${files.join(', ')}`);
    const playlist = readFileSync(join(out, 'live.m3u8'), 'utf8');
    for (const seg of segments) assert.ok(playlist.includes(seg), `the playlist lists ${seg}`);
    assert.match(playlist, /#EXT-X-ENDLIST/);
    const back = ffmpeg(['-i', join(out, 'live.m3u8'), '-f', 'rawvideo', '-pix_fmt', 'gray', '-']);
    assertExact(back, Buffer.concat(fileFrames), W * H, 'hls read back');
  });

  test('live HLS with deleteSegments: the playlist keeps listSize segments and old ones go', async () => {
    const { readdirSync, readFileSync, mkdirSync } = await import('node:fs');
    const out = join(dir, 'hls-rolling');
    mkdirSync(out, { recursive: true });
    const w = await VideoWriter.open(join(out, 'roll.m3u8'), {
      width: W, height: H, fps: 25, inputFormat: 'gray', codec: 'libx264', gop: 25, hls: { segmentDuration: 1, listSize: 2, deleteSegments: true },
    });
    for (let i = 0; i < 2 * N; i++) await w.write(fileFrames[i % N]);
    await w.close();
    const listed = readFileSync(join(out, 'roll.m3u8'), 'utf8').split('\n').filter((l) => l.endsWith('.ts'));
    assert.equal(listed.length, 2);
    const onDisk = readdirSync(out).filter((f) => f.endsWith('.ts'));
    assert.ok(onDisk.length <= 2 + 2, `old segments deleted: ${onDisk.join(', ')}`);
    for (const l of listed) assert.ok(onDisk.includes(l));
    await assert.rejects(VideoWriter.open(join(out, 'x.mp4'), { width: W, height: H, fps: 25, hls: {} }), (e) => e instanceof TypeError && /hls/.test(e.message));
    await assert.rejects(VideoWriter.open(join(out, 'y.m3u8'), { width: W, height: H, fps: 25, hls: { segmentDuration: 0 } }), (e) => e instanceof RangeError && /segmentDuration/.test(e.message));
  });

  /** Pushes the file's frames (gray) to `w` in a loop, paced by the writer's realtime, until stop(). */
  const pushLoop = (w) => {
    let stopped = false;
    let i = 0;
    const done = (async () => {
      while (!stopped) await w.write(fileFrames[i++ % N]);
    })();
    return { stop: async () => { stopped = true; await done; return i; }, done, written: () => i };
  };
  /** ffprobe (the CLI, as a child process: the push goes on meanwhile) on a live URL: its video stream. */
  const probeLive = (url) => new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-rw_timeout', '5000000', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height',
      '-of', 'json', url], { timeout: 15_000 }, (err, out) => (err ? reject(err) : resolve(JSON.parse(out).streams[0])));
  });
  const PUSH = { width: W, height: H, fps: 25, inputFormat: 'gray', codec: 'libx264', preset: 'veryfast', threads: 1, gop: 25, protocols: RTMP, realtime: true };

  test('live.reconnect: the writer survives an nginx restart, republishes within 3 s, ffprobe reads the new stream; frames meanwhile dropped and counted', async () => {
    const server = await nginxRtmp(dir);
    const url = server.url('again');
    const w = await VideoWriter.open(url, { ...PUSH, live: { stallTimeout: 2, reconnect: { attempts: 20, delay: 0.2, maxDelay: 0.5 } } });
    const push = pushLoop(w);
    try {
      await sleep(1500);
      assert.equal(w.stats.reconnects, 0);
      await server.stop();
      await sleep(700); // down for a while: frames written now cannot reach it
      await server.start();
      const up = Date.now();
      while (w.stats.reconnects < 1 && Date.now() - up < 5000) await sleep(20);
      const took = (Date.now() - up) / 1000;
      assert.equal(w.stats.reconnects, 1, `reconnected (${w.stats.lastError})`);
      assert.ok(took < 3, `republished ${took} s after nginx came back`);
      const v = await probeLive(url);
      assert.deepEqual([v.codec_name, v.width, v.height], ['h264', W, H]);
      const written = await push.stop();
      const stats = await w.close();
      assert.equal(stats.frames, written);
      assert.ok(stats.dropped >= 10 && stats.dropped < written, `dropped ${stats.dropped} of ${written}`);
      assert.ok(stats.reconnectAttempts >= 1 && stats.connected);
    } finally {
      await push.stop().catch(() => undefined);
      await w.abort();
      await server.stop();
    }
  }, 60_000);

  test('a writer whose server stays down: write() rejects DISCONNECTED once the attempts are spent (none: at once), naming the cause', async () => {
    for (const [reconnect, pattern] of [[{ attempts: 2, delay: 0.1 }, /2 reconnect attempt\(s\) failed/], [undefined, /was lost/]]) {
      const server = await nginxRtmp(dir);
      const w = await VideoWriter.open(server.url('gone'), { ...PUSH, live: reconnect ? { reconnect } : {} });
      const push = pushLoop(w);
      await sleep(800);
      await server.stop();
      const t0 = Date.now();
      await assert.rejects(push.done, (e) => e instanceof AvcvError && e.code === 'DISCONNECTED' && pattern.test(e.message));
      assert.ok(Date.now() - t0 < 5000, `rejected ${Date.now() - t0} ms after the server went`);
      await assert.rejects(w.close(), (e) => e instanceof AvcvError && e.code === 'DISCONNECTED');
    }
  }, 60_000);

  test('a server that accepts and says nothing: the writer\'s open is TIMEOUT after live.openTimeout; bad live options are TypeError/RangeError', async () => {
    const s = await silentServer();
    try {
      const t0 = Date.now();
      await assert.rejects(VideoWriter.open(`rtmp://127.0.0.1:${s.port}/live/x`, { ...PUSH, live: { openTimeout: 1 } }),
        (e) => e instanceof AvcvError && e.code === 'TIMEOUT');
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 3000, `TIMEOUT after ${took} ms`);
      await assert.rejects(VideoWriter.open('out.mp4', { ...PUSH, protocols: undefined, live: {} }), (e) => e instanceof TypeError && /live/.test(e.message));
      await assert.rejects(VideoWriter.open(`rtmp://127.0.0.1:${s.port}/live/x`, { ...PUSH, live: { reconnect: { attempts: -1 } } }),
        (e) => e instanceof RangeError && /attempts/.test(e.message));
    } finally {
      await s.close();
    }
  }, 30_000);

  test('a target whose protocol is not listed: PROTOCOL_NOT_ALLOWED; a refused port: CONNECT; nothing left behind', async () => {
    await assert.rejects(VideoWriter.open('rtmp://127.0.0.1:1/live/x', { width: W, height: H, fps: 25 }),
      (e) => e instanceof AvcvError && e.code === 'PROTOCOL_NOT_ALLOWED');
    const port = await freePort();
    await assert.rejects(VideoWriter.open(`rtmp://127.0.0.1:${port}/live/x`, { width: W, height: H, fps: 25, protocols: ['rtmp', 'tcp'] }),
      (e) => e instanceof AvcvError && e.code === 'CONNECT');
    await assert.rejects(VideoWriter.open('ftp://127.0.0.1/x', { width: W, height: H, fps: 25, protocols: ['ftp'] }),
      (e) => e instanceof TypeError && /container/.test(e.message));
  });
});

describe('failures are typed errors within their timeouts', () => {
  test('a refused port: CONNECT', async () => {
    const port = await freePort();
    await assert.rejects(VideoReader.open(`rtmp://127.0.0.1:${port}/live/x`, { protocols: RTMP, live: { openTimeout: 5 } }),
      (e) => e instanceof AvcvError && e.code === 'CONNECT');
  });

  test('a server that accepts and says nothing: TIMEOUT after openTimeout', async () => {
    const s = await silentServer();
    const t0 = Date.now();
    try {
      await assert.rejects(VideoReader.open(`rtmp://127.0.0.1:${s.port}/live/x`, { protocols: RTMP, live: { openTimeout: 1 } }),
        (e) => e instanceof AvcvError && e.code === 'TIMEOUT' && /1/.test(e.message));
      const took = (Date.now() - t0) / 1000;
      assert.ok(took >= 0.9 && took < 4, `TIMEOUT after ${took.toFixed(2)} s`);
    } finally {
      await s.close();
    }
  });

  test('an AbortSignal ends an open waiting on a silent server at once', async () => {
    const s = await silentServer();
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 300);
      await assert.rejects(VideoReader.open(`rtmp://127.0.0.1:${s.port}/live/x`, { protocols: RTMP, signal: ac.signal, live: { openTimeout: 30 } }),
        (e) => e instanceof AvcvError && e.code === 'ABORTED');
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      await s.close();
    }
  });

  test.each([[404, 'NOT_FOUND'], [500, 'CONNECT'], [403, 'CONNECT']])('HTTP %i: %s', async (status, code) => {
    const s = await httpStatusServer(status);
    try {
      await assert.rejects(VideoReader.open(`http://127.0.0.1:${s.port}/stream.ts`, { protocols: ['http', 'tcp'], live: { openTimeout: 5 } }),
        (e) => e instanceof AvcvError && e.code === code);
    } finally {
      await s.close();
    }
  });

  test('a malformed HLS playlist: INVALID_DATA; a stream key nothing is published under: TIMEOUT within openTimeout', async () => {
    const { writeFileSync } = await import('node:fs');
    for (const [name, body] of [['nouri.m3u8', '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n'], ['junk.m3u8', 'not a playlist\n']]) {
      const f = join(dir, name);
      writeFileSync(f, body);
      const s = await httpFileServer(f);
      try {
        await assert.rejects(VideoReader.open(s.url, { protocols: ['http', 'tcp'], allowNestedInputs: true, live: { openTimeout: 3 } }),
          (e) => e instanceof AvcvError && e.code === 'INVALID_DATA', name);
      } finally {
        await s.close();
      }
    }
    const server = await nginxRtmp(dir);
    try {
      const t0 = Date.now();
      await assert.rejects(VideoReader.open(server.url('nobody-publishes-this'), { protocols: RTMP, live: { openTimeout: 1.5 } }),
        (e) => e instanceof AvcvError && e.code === 'TIMEOUT');
      assert.ok(Date.now() - t0 < 3000, `TIMEOUT after ${Date.now() - t0} ms`);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test('a protocol not listed is still PROTOCOL_NOT_ALLOWED', async () => {
    await assert.rejects(VideoReader.open('rtmp://127.0.0.1:1/live/x', { live: {} }), (e) => e instanceof AvcvError && /PROTOCOL/.test(e.code));
  });

  test('bad live options: TypeError/RangeError naming them', async () => {
    const url = 'rtmp://127.0.0.1:1/x';
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { stallTimeout: -1 } }), (e) => e instanceof RangeError && /stallTimeout/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { timeout: 1 } }), (e) => e instanceof TypeError && /timeout/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { transport: 'sctp' } }), (e) => e instanceof TypeError && /transport/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { reconnect: { attempts: -2 } } }), (e) => e instanceof RangeError && /attempts/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: 5 }), (e) => e instanceof TypeError && /live/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { queue: 'newest' } }), (e) => e instanceof TypeError && /queue/.test(e.message));
    await assert.rejects(VideoReader.open(url, { protocols: RTMP, live: { onEvent: 'log' } }), (e) => e instanceof TypeError && /onEvent/.test(e.message));
  });
});
