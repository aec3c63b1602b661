// An RTSP camera read for low latency: only the newest frame waits
// (queue 'latest'), reconnects with backoff when the camera drops, events
// logged, latency statistics at the end.
//
//   node examples/rtsp-camera.mjs rtsp://camera/stream [seconds]
import { VideoReader } from 'avcv';

const [url, seconds = '10'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node examples/rtsp-camera.mjs <rtsp-url> [seconds]');
  process.exit(2);
}

const stop = AbortSignal.timeout(Number(seconds) * 1000);
const reader = await VideoReader.open(url, {
  protocols: ['rtsp', 'rtp', 'tcp', 'udp'], // a URL reaches the network only through listed protocols
  format: 'bgr24',
  signal: stop,
  live: {
    transport: 'tcp',
    queue: 'latest',
    reconnect: { attempts: Infinity, delay: 1, maxDelay: 10 },
    onEvent: (e) => console.error(`[${e.type}]${e.attempt ? ` attempt ${e.attempt}` : ''} ${e.reason ?? ''}`),
  },
});
let frames = 0;
try {
  for await (const f of reader) {
    frames++; // f.data: the picture; f.receivedAt: when it left the decoder; f.discontinuity after a reconnect
    if (frames === 1) console.error(`first frame: ${f.width}x${f.height}`);
  }
} catch (err) {
  if (!stop.aborted) throw err; // our own time limit ends the read with ABORTED
} finally {
  await reader.close();
}
const s = reader.stats;
console.log(JSON.stringify({ frames, dropped: s.dropped, reconnects: s.reconnects, latency: s.latency }));
