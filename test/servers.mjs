// Real servers for the live tests, on loopback only, started and stopped by
// the tests: nginx with Debian's libnginx-mod-rtmp (a temp config and prefix,
// a free port), redis-server for the queue, the ffmpeg CLI publishing a file, and small Node servers for
// the failure cases (silent TCP, HTTP errors).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import { join } from 'node:path';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (or rejects after ms). */
async function waitForPort(port, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const net = createServer();
      net.once('error', () => resolve(true)); // in use: the server listens
      net.listen(port, '127.0.0.1', () => net.close(() => resolve(false)));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * nginx-rtmp in `dir` on a free port: { port, url(key), start(), stop() }.
 * stop() kills it (its players see the connection drop); start() runs it again
 * on the same port.
 */
export async function nginxRtmp(dir, { record = false } = {}) {
  if (!existsSync(RTMP_MODULE)) throw new Error(`${RTMP_MODULE} is missing: scripts/setup.sh --test installs libnginx-mod-rtmp`);
  const port = await freePort();
  const prefix = join(dir, `nginx-${port}`);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, [
    `load_module ${RTMP_MODULE};`,
    'daemon off;',
    'master_process off;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs', 'error.log')} warn;`,
    'events { worker_connections 64; }',
    // exec_record_done: nginx touches <recording>.done once it has closed a
    // recording (the publisher left and everything it sent is written)
    `rtmp { server { listen 127.0.0.1:${port}; application live { live on; ${record
      ? `record all; record_path ${prefix}; record_unique off; exec_record_done /usr/bin/touch $path.done;` : 'record off;'} } } }`,
    '',
  ].join('\n'));
  let proc = null;
  const srv = {
    port,
    url: (key) => `rtmp://127.0.0.1:${port}/live/${key}`,
    /** where nginx recorded stream `key` (with record) */
    recording: (key) => join(prefix, `${key}.flv`),
    /**
     * Resolves once nginx has closed the recording of stream `key` (one
     * publish per key): killing it before then loses what it has not written.
     */
    async recordingDone(key, ms = 20_000) {
      const done = `${join(prefix, `${key}.flv`)}.done`;
      const t0 = Date.now();
      while (!existsSync(done)) {
        if (Date.now() - t0 > ms) throw new Error(`nginx did not close the recording of '${key}' within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async start() {
      proc = spawn('nginx', ['-c', conf, '-p', prefix], { stdio: 'ignore' });
      await waitForPort(port);
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      proc = null;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    },
  };
  await srv.start();
  return srv;
}

/**
 * Debian's redis-server on a free loopback port, in-memory (no snapshots, no
 * append-only file), its files in `dir`: { port, url, stop() }.
 */
export async function redisServer(dir) {
  if (!existsSync('/usr/bin/redis-server')) throw new Error('redis-server is missing: scripts/setup.sh --test installs it');
  const port = await freePort();
  const home = join(dir, `redis-${port}`);
  mkdirSync(home, { recursive: true });
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', home, '--protected-mode', 'yes'],
    { stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', resolve);
      p.kill('SIGKILL');
    }),
  };
}

/** The ffmpeg CLI publishing `file` in a loop at its own pace (-re) to `url`: { stop() }. */
export function publish(file, url) {
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url], { stdio: 'ignore' });
  return {
    stop: () => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', resolve);
      p.kill('SIGKILL');
    }),
  };
}

/** A TCP server that accepts connections and never says anything: { port, close() }. */
export async function silentServer() {
  const sockets = new Set();
  const s = createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => {});
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: s.address().port,
    close: () => new Promise((r) => {
      for (const c of sockets) c.destroy();
      s.close(r);
    }),
  };
}

/** An HTTP server answering every request with `status`: { port, close() }. */
export async function httpStatusServer(status) {
  const s = http.createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`status ${status}`);
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => new Promise((r) => s.close(r)) };
}

/**
 * An HTTP server for one file, with range requests (as a CDN serves a
 * progressive file). `stallAfter`: bytes after which a response stops
 * sending without closing. { port, url, close() }.
 */
export async function httpFileServer(file, { stallAfter = Infinity } = {}) {
  const { readFileSync } = await import('node:fs');
  const body = readFileSync(file);
  const open = new Set();
  const s = http.createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    let start = 0;
    let end = body.length - 1;
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes', 'content-type': 'video/mp4' });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes', 'content-type': 'video/mp4' });
    }
    const chunk = body.subarray(start, Math.min(end + 1, start + Math.max(0, stallAfter - start)));
    if (chunk.length === end - start + 1) res.end(chunk);
    else res.write(chunk); // and then nothing: a stalled server that keeps the connection
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: s.address().port,
    url: `http://127.0.0.1:${s.address().port}/${file.split('/').pop()}`,
    close: () => new Promise((r) => {
      for (const res of open) res.destroy();
      s.close(r);
    }),
  };
}

/** The ffmpeg CLI as an SRT listener sending `file` (MPEG-TS, paced) to the first caller: { port, url, stop() }. */
export async function srtListener(file) {
  const port = await freePort();
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts',
    `srt://127.0.0.1:${port}?mode=listener`], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500)); // SRT listens on UDP: nothing to poll for
  return {
    port,
    url: `srt://127.0.0.1:${port}?mode=caller`,
    stop: () => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', resolve);
      p.kill('SIGKILL');
    }),
  };
}

/**
 * A real RTSP server (GStreamer's gst-rtsp-server through Debian's python3-gi,
 * test/rtsp-server.py) serving an MP4's H.264 as-is at rtsp://127.0.0.1:PORT/stream,
 * each client from the file's start, paced in real time: { port, url, start(), stop() }.
 */
export async function rtspServer(file) {
  const port = await freePort();
  const script = new URL('./rtsp-server.py', import.meta.url).pathname;
  let proc = null;
  const srv = {
    port,
    url: `rtsp://127.0.0.1:${port}/stream`,
    async start() {
      proc = spawn('/usr/bin/python3', [script, String(port), file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      proc.stderr.on('data', (d) => { err += d; });
      await new Promise((resolve, reject) => {
        proc.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
        proc.once('exit', (c) => reject(new Error(`rtsp-server.py exited with ${c}: ${err}`)));
      });
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      proc = null;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    },
  };
  await srv.start();
  return srv;
}

/**
 * A live HLS playlist that grows: segment i (files in `dir`, named as the
 * list gives them) appears `interval` ms after segment i - 1, and
 * #EXT-X-ENDLIST after the last. { url, close() }.
 */
export async function growingHls(dir, segments, { interval = 1000, targetDuration = 1 } = {}) {
  const { readFileSync } = await import('node:fs');
  const t0 = Date.now();
  const s = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url.split('?')[0].slice(1));
    const shown = Math.min(segments.length, 1 + Math.floor((Date.now() - t0) / interval));
    if (name === 'live.m3u8') {
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${targetDuration}`, '#EXT-X-MEDIA-SEQUENCE:0'];
      for (const seg of segments.slice(0, shown)) lines.push(`#EXTINF:${seg.duration.toFixed(3)},`, seg.name);
      if (shown === segments.length) lines.push('#EXT-X-ENDLIST');
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end(`${lines.join('\n')}\n`);
      return;
    }
    const i = segments.findIndex((x) => x.name === name);
    if (i < 0 || i >= shown) {
      res.writeHead(404);
      res.end();
      return;
    }
    const body = readFileSync(join(dir, name));
    res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length });
    res.end(body);
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}/live.m3u8`, close: () => new Promise((r) => { s.closeAllConnections?.(); s.close(r); }) };
}

/** A static HTTP server over a folder (and extra routes: a URL path to a file, or to {body, type}), on loopback: { url, close() }. */
export async function staticServer(root, extra = {}) {
  const { createReadStream, statSync } = await import('node:fs');
  const { join, normalize, extname } = await import('node:path');
  const types = { '.m3u8': 'application/vnd.apple.mpegurl', '.mpd': 'application/dash+xml', '.mp4': 'video/mp4', '.m4s': 'video/iso.segment',
    '.ts': 'video/mp2t', '.js': 'text/javascript', '.html': 'text/html' };
  const s = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (typeof extra[p] === 'object') {
      res.writeHead(200, { 'content-type': extra[p].type, 'content-length': Buffer.byteLength(extra[p].body) }).end(extra[p].body);
      return;
    }
    const file = extra[p] ?? join(root, normalize(p).replace(/^(\.\.[/\\])+/, ''));
    let st;
    try {
      st = statSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (!st.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': st.size, 'access-control-allow-origin': '*' });
    createReadStream(file).pipe(res);
  });
  const open = new Set();
  s.on('connection', (c) => {
    open.add(c);
    c.on('close', () => open.delete(c));
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${s.address().port}`,
    close: () => new Promise((r) => {
      for (const c of open) c.destroy();
      s.close(r);
    }),
  };
}
