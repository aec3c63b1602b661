// Live sources, measured side by side in one run (the machine is shared and
// noisy: compare within a run, not across runs).
//
// 1. Glass-to-glass latency on loopback RTSP. A generator draws the wall
//    clock (ms, 40 bits as 16x16 black/white blocks) into each frame at the
//    moment it is made, encodes it (libx264 ultrafast, zerolatency) and sends
//    MPEG-TS over UDP to a real gst-rtsp-server, which serves it at
//    rtsp://127.0.0.1:P/stream. Each reader in turn reads the stream for
//    --seconds and decodes the clock from the pixels of every frame it takes:
//    latency = now - the clock in the frame. Readers: avcv (queue 'latest'),
//    the ffmpeg CLI into a pipe (as users run it, and with its low-delay
//    flags), python3-opencv's cv2.VideoCapture. Also the time from open to the
//    first frame. Target: avcv p95 <= 300 ms.
// 2. Time to the first frame from nginx-rtmp (keyframe every second), avcv.
// 3. --soak-minutes M (default 0: skipped; the run is 10): a 720p
//    stream from nginx-rtmp read by avcv (queue 'block') and pushed back to
//    nginx by a VideoWriter with live.reconnect, nginx restarted every
//    2 minutes; RSS sampled every 10 s. Target: RSS growth < 5 MB after the
//    first minute, no frame dropped by the reader.
//
//   node bench/live.mjs [--seconds 10] [--soak-minutes 0]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VideoReader, VideoWriter } from '../dist/index.mjs';
import { nginxRtmp, publish, rtspServer, freePort } from '../test/servers.mjs';
import { tempDir, ffmpeg } from '../test/helpers.mjs';
import { ffmpegVersion, printTable, round } from './common.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 10);
const SOAK_MIN = arg('soak-minutes', 0);
const REUSE = process.argv.includes('--reuse-buffers'); // the soak's reader lends its frame buffers back (reuseBuffers)
const W = 640;
const H = 360;
const FPS = 30;
const BITS = 40;
const B = 16; // block size
const base = Date.now();

/** The clock (ms since base) as BITS blocks along the top row of a gray frame. */
function stamp(buf, ms) {
  for (let b = 0; b < BITS; b++) {
    const v = Math.floor(ms / 2 ** b) % 2 ? 255 : 0;
    for (let y = 0; y < B; y++) buf.fill(v, y * W + b * B, y * W + (b + 1) * B);
  }
}
/** Reads it back from a gray frame: the middle of each block. */
function unstamp(buf, stride = W) {
  let ms = 0;
  for (let b = 0; b < BITS; b++) if (buf[(B >> 1) * stride + b * B + (B >> 1)] > 127) ms += 2 ** b;
  return ms;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

/** Generator: frames stamped when made, paced at FPS, to udp://127.0.0.1:port as MPEG-TS. */
async function generator(port) {
  const w = await VideoWriter.open(`udp://127.0.0.1:${port}?pkt_size=1316`, {
    width: W, height: H, fps: FPS, inputFormat: 'gray', codec: 'libx264', preset: 'ultrafast', tune: 'zerolatency', gop: FPS,
    container: 'ts', protocols: ['udp'],
  });
  const frame = Buffer.alloc(W * H, 96);
  let stopped = false;
  const t0 = performance.now();
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const due = t0 + (i * 1000) / FPS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      stamp(frame, Date.now() - base);
      await w.write(frame);
    }
    await w.close().catch(() => undefined);
  })();
  return { stop: async () => { stopped = true; await done; } };
}

async function avcvReader(url, seconds) {
  const t0 = Date.now();
  const r = await VideoReader.open(url, { protocols: ['rtsp', 'rtp', 'tcp', 'udp'], format: 'gray', live: { queue: 'latest', transport: 'tcp', openTimeout: 10 } });
  const lat = [];
  let first = null;
  try {
    for await (const f of r) {
      const now = Date.now();
      first ??= now - t0;
      lat.push(now - base - unstamp(f.data));
      if (now - t0 > seconds * 1000) break;
    }
  } finally {
    await r.close();
  }
  return { lat, first };
}

/** The CLI into a pipe: frames read from its stdout as they come. */
function cliReader(url, seconds, extra) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...extra, '-rtsp_transport', 'tcp', '-i', url,
      '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lat = [];
    let first = null;
    let pending = Buffer.alloc(0);
    p.stdout.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= W * H) {
        const now = Date.now();
        first ??= now - t0;
        lat.push(now - base - unstamp(pending.subarray(0, W * H)));
        pending = pending.subarray(W * H);
      }
      if (Date.now() - t0 > seconds * 1000) p.kill('SIGKILL');
    });
    p.on('error', reject);
    p.on('close', () => resolve({ lat, first }));
  });
}

/** python3-opencv: cv2.VideoCapture on the URL (FFmpeg backend, RTSP over TCP). */
function cv2Reader(url, seconds) {
  const py = `
import cv2, sys, time, json
base, seconds = ${base}, ${seconds}
t0 = time.time()
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
lat, first = [], None
while time.time() - t0 < seconds:
    ok, img = cap.read()
    if not ok: break
    now = time.time() * 1000
    if first is None: first = now - t0 * 1000
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    ms = 0
    for b in range(${BITS}):
        if g[${B >> 1}, b * ${B} + ${B >> 1}] > 127: ms += 2 ** b
    lat.append(now - base - ms)
print(json.dumps({"lat": lat, "first": first}))
`;
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/python3', ['-c', py, url], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENCV_FFMPEG_CAPTURE_OPTIONS: 'rtsp_transport;tcp' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`cv2 reader: ${err.slice(-500)}`))));
  });
}

async function latencyBench() {
  const port = await freePort();
  const rtsp = await rtspServer(`udp:${port}`);
  const gen = await generator(port);
  const rows = [];
  try {
    await sleep(1500);
    const runs = [
      ['avcv (queue latest)', () => avcvReader(rtsp.url, SECONDS)],
      ['ffmpeg CLI -> pipe', () => cliReader(rtsp.url, SECONDS, [])],
      ['ffmpeg CLI -> pipe (nobuffer, low_delay)', () => cliReader(rtsp.url, SECONDS, ['-fflags', 'nobuffer', '-flags', 'low_delay'])],
      ['python3-opencv cv2.VideoCapture', () => cv2Reader(rtsp.url, SECONDS)],
    ];
    for (const [name, fn] of runs) {
      const { lat, first } = await fn();
      const ok = lat.filter((x) => x >= 0 && x < 60_000); // a frame whose stamp did not decode is left out
      rows.push([name, ok.length, round(pct(ok, 50)), round(pct(ok, 95)), round(Math.max(...ok)), round(first)]);
    }
  } finally {
    await gen.stop();
    await rtsp.stop();
  }
  console.log(`\n1. glass-to-glass latency, loopback RTSP (gst-rtsp-server), ${W}x${H}@${FPS}, ${SECONDS} s per reader, ms`);
  printTable(['reader', 'frames', 'p50', 'p95', 'max', 'first frame'], rows);
  const a = rows[0];
  const c = rows[1];
  console.log(`   avcv p95 / CLI pipe p95: ${round(a[3] / c[3], 2)}  (target: avcv p95 <= 300 ms: ${a[3] <= 300 ? 'met' : 'NOT met'})`);
}

async function firstFrameBench(dir) {
  const src = join(dir, 'gop1s.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=10', '-f', 'lavfi', '-i', 'sine=sample_rate=44100:duration=10',
    '-c:v', 'libx264', '-g', '25', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  const server = await nginxRtmp(dir);
  const pub = publish(src, server.url('ttff'));
  const times = [];
  try {
    await sleep(1500);
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const r = await VideoReader.open(server.url('ttff'), { protocols: ['rtmp', 'tcp'], live: {} });
      await r[Symbol.asyncIterator]().next();
      times.push(Date.now() - t0);
      await r.close();
      await sleep(137); // another phase against the keyframes
    }
  } finally {
    await pub.stop();
    await server.stop();
  }
  console.log('\n2. time from open() to the first frame, RTMP from nginx-rtmp (video + audio, a keyframe every second), 10 opens, ms');
  printTable(['', 'min', 'p50', 'max'], [['avcv', Math.min(...times), pct(times, 50), Math.max(...times)]]);
  console.log('   nginx starts a player\'s video at the next keyframe: up to one GOP is the server\'s, not the reader\'s');
}

async function soak(dir, minutes) {
  const src = join(dir, '720p.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-bf', '0', '-pix_fmt', 'yuv420p', src]);
  const server = await nginxRtmp(dir);
  let pub = publish(src, server.url('in'));
  await sleep(1500);
  const reader = await VideoReader.open(server.url('in'), {
    protocols: ['rtmp', 'tcp'], format: 'bgr24', reuseBuffers: REUSE, live: { queue: 'block', reconnect: { attempts: Infinity, delay: 0.2, maxDelay: 2 } },
  });
  const writer = await VideoWriter.open(server.url('out'), {
    width: 1280, height: 720, fps: 30, codec: 'libx264', preset: 'ultrafast', tune: 'zerolatency', gop: 30, protocols: ['rtmp', 'tcp'],
    live: { reconnect: { attempts: Infinity, delay: 0.2, maxDelay: 2 } },
  });
  const rss = [];
  const t0 = Date.now();
  let frames = 0;
  let lastRestart = t0;
  let restarts = 0;
  const sampler = setInterval(() => rss.push([(Date.now() - t0) / 1000, process.memoryUsage().rss / 2 ** 20]), 10_000);
  try {
    for await (const f of reader) {
      await writer.write(f);
      frames++;
      if (Date.now() - t0 > minutes * 60_000) break;
      if (Date.now() - lastRestart > 120_000) {
        lastRestart = Date.now();
        restarts++;
        await pub.stop();
        await server.stop();
        await server.start();
        pub = publish(src, server.url('in'));
      }
    }
  } finally {
    clearInterval(sampler);
    await pub.stop();
  }
  const ws = await writer.close().catch((e) => ({ error: e.message, ...writer.stats }));
  const rs = reader.stats;
  await reader.close();
  await server.stop();
  const after1 = rss.filter(([t]) => t >= 60);
  // the median of the last third against the first third after the first
  // minute: single samples swing with the allocator by more than the target
  const third = Math.max(1, Math.floor(after1.length / 3));
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const growth = after1.length >= 3 ? med(after1.slice(-third).map(([, m]) => m)) - med(after1.slice(0, third).map(([, m]) => m)) : NaN;
  console.log(`\n3. soak: ${minutes} min of 720p30 RTMP read (queue block${REUSE ? ', reuseBuffers' : ''}) and re-pushed, nginx restarted every 2 min (${restarts} restarts)`);
  printTable(['', 'value'], [
    ['frames read and written', frames],
    ['reader: dropped by the queue', rs.dropped],
    ['reader: reconnects', rs.reconnects],
    ['writer: frames dropped while nginx was down', ws.dropped],
    ['writer: reconnects', ws.reconnects],
    ['RSS at 1 min, MB', round(after1[0]?.[1], 1)],
    ['RSS at the end, MB', round(after1.at(-1)?.[1], 1)],
    ['RSS growth after the first minute (median of the last third - of the first), MB', round(growth, 1)],
  ]);
  console.log(`   RSS by minute, MB: ${rss.filter((_, i) => i % 6 === 5).map(([, m]) => round(m, 1)).join(' ')}`);
  console.log(`   target: growth < 5 MB (${growth < 5 ? 'met' : 'NOT met'}), reader drops 0 (${rs.dropped === 0 ? 'met' : 'NOT met'}), every restart survived (${rs.reconnects >= restarts && ws.reconnects >= restarts ? 'met' : 'NOT met'})`);
}

console.log(`avcv live bench — ffmpeg CLI ${ffmpegVersion()}, ${new Date().toISOString()}`);
const dir = tempDir('avcv-bench-live-');
await latencyBench();
await firstFrameBench(dir);
if (SOAK_MIN > 0) await soak(dir, SOAK_MIN);
else console.log('\n3. soak: skipped (--soak-minutes 10 runs the issue\'s 10-minute soak)');
