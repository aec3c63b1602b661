// Cancelling reaches libav's interrupt callback at once, wherever the work
// is: an open or probe stuck on a server that never answers (a slow open),
// and close() while the random-access reader opens and scans. Each must
// reject within 100 ms of the abort, not when libav gives up; the native
// thread stops at libav's next interrupt check, and a reader it opened after
// all is closed, not leaked.
import { test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoReader, probe, AvcvError } from '../dist/index.mjs';
import { tempDir, makeClip } from './helpers.mjs';

const dir = tempDir('avcv-cancel-');
let server;
let base = '';
let served = 0;
const hung = [];
/** When libav dropped the latest hung connection (its thread stopped). */
let lastHung = null;
const NET = ['http', 'tcp'];

beforeAll(async () => {
  const clip = makeClip(join(dir, 'clip.mp4'), { size: '96x64', frames: 50, extra: ['-movflags', '+faststart'] });
  const body = readFileSync(clip);
  server = createServer((req, res) => {
    // /hang: headers and nothing more, for ever; /once: the file to the first
    // request, then every later one hangs (the random-access reader's open)
    if (req.url === '/hang' || (req.url === '/once' && served++ > 0)) {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
      res.flushHeaders();
      hung.push(res);
      const closed = new Promise((resolve) => req.socket.once('close', () => resolve(performance.now())));
      lastHung = closed;
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
});

/** Aborts at `after` ms; resolves to how long after the abort `p` settled, and how. */
async function abortAfter(after, start) {
  const ac = new AbortController();
  const p = start(ac.signal).then((v) => ({ v }), (e) => ({ e }));
  await new Promise((r) => setTimeout(r, after));
  const t0 = performance.now();
  ac.abort();
  const out = await p;
  return { ...out, ms: performance.now() - t0 };
}

test('an open stuck on a server that never answers rejects within 100 ms of the abort (ABORTED)', async () => {
  const r = await abortAfter(300, (signal) => VideoReader.open(`${base}/hang`, { protocols: NET, signal }));
  assert.ok(r.e instanceof AvcvError, `expected an AvcvError, got ${r.e ?? 'a reader'}`);
  assert.equal(r.e.code, 'ABORTED');
  assert.ok(r.ms < 100, `rejected ${r.ms.toFixed(0)} ms after the abort`);
  // the native open stopped too: libav closed its connection, within a few of
  // its 100 ms interrupt polls
  const closedAt = await Promise.race([lastHung, new Promise((r) => setTimeout(r, 2000, null))]);
  assert.ok(closedAt !== null, 'the open still holds its connection 2 s after the abort');
}, 30_000);

test('probe() takes a signal and is interrupted the same way', async () => {
  const r = await abortAfter(300, (signal) => probe(`${base}/hang`, { protocols: NET, signal }));
  assert.ok(r.e instanceof AvcvError && r.e.code === 'ABORTED', `got ${r.e}`);
  assert.ok(r.ms < 100, `rejected ${r.ms.toFixed(0)} ms after the abort`);
  await assert.rejects(probe(`${base}/hang`, { protocols: NET, signal: 'no' }), TypeError);
}, 30_000);

test('close() during random access that is stuck opening its own reader rejects it within 100 ms', async () => {
  served = 0;
  const reader = await VideoReader.open(`${base}/once`, { protocols: NET });
  let settledAt = 0;
  const pending = reader.index().then((v) => ({ v }), (e) => ({ e })).finally(() => { settledAt = performance.now(); });
  await new Promise((r) => setTimeout(r, 300));  // the second reader is waiting on the server
  const t0 = performance.now();
  await reader.close();
  const closeMs = performance.now() - t0;
  const r = await pending;
  const ms = settledAt - t0;
  assert.ok(r.e instanceof AvcvError && r.e.code === 'CLOSED', `index() gave ${r.e ?? 'an index'}`);
  assert.ok(ms < 100, `index() rejected ${ms.toFixed(0)} ms after close()`);
  // close() resolves once the native thread has stopped and freed its reader:
  // libav polls the interrupt callback every 100 ms on a network read
  // (POLLING_TIME), so this is bounded by that poll, not by the server
  assert.ok(closeMs < 1000, `close() took ${closeMs.toFixed(0)} ms`);
}, 30_000);
