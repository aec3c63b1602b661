// The python3-opencv oracle and the image helpers shared by the cv test files:
// one /usr/bin/python3 process (cv2 4.6 + numpy, the same OpenCV the addon
// links) runs a batch of jobs; inputs and outputs cross as raw bytes.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cv, Frame } from '../dist/index.mjs';
import { mulberry32 } from './helpers.mjs';

export const PY = String.raw`
import sys, json, struct
import numpy as np, cv2
raw = sys.stdin.buffer.read()
n = struct.unpack('<I', raw[:4])[0]
jobs = json.loads(raw[4:4 + n].decode())
body = memoryview(raw)[4 + n:]
res, chunks = [], []
for job in jobs:
    a = [np.frombuffer(body[i['off']:i['off'] + i['len']], dtype=np.uint8).reshape(i['shape']).copy() for i in job['inputs']]
    env = {'cv2': cv2, 'np': np, 'a': a, 'out': None, 'extra': None}
    try:
        exec(job['code'], env)
        o = env['out']
        if isinstance(o, (bytes, bytearray)):
            b = bytes(o); shape = [len(b)]
        else:
            o = np.ascontiguousarray(o)
            assert o.dtype == np.uint8, 'oracle output must be uint8, got %s' % o.dtype
            b = o.tobytes(); shape = list(o.shape)
        res.append({'len': len(b), 'shape': shape, 'extra': env['extra']})
        chunks.append(b)
    except Exception as e:
        res.append({'error': repr(e), 'len': 0})
h = json.dumps(res).encode()
sys.stdout.buffer.write(struct.pack('<I', len(h)) + h + b''.join(chunks))
`;

/** numpy shape of a frame: [H, W] (gray), [H, W, C] (packed), [H*3/2, W] (4:2:0). */
export function npShape(f) {
  if (f.format === 'yuv420p' || f.format === 'nv12') return [f.height + f.height / 2, f.width];
  const c = { gray: 1, bgra: 4, rgba: 4 }[f.format] ?? 3;
  return c === 1 ? [f.height, f.width] : [f.height, f.width, c];
}

/** Runs jobs [{ code, inputs: [frame | Uint8Array] }] in one python process; returns [{ data, shape, extra }]. */
export function oracle(jobs) {
  const bufs = [];
  let off = 0;
  const hdr = jobs.map((j) => ({
    code: j.code,
    inputs: (j.inputs ?? []).map((x) => {
      const data = x instanceof Uint8Array ? x : x.data;
      const shape = x instanceof Uint8Array ? [x.byteLength] : npShape(x);
      const e = { shape, off, len: data.byteLength };
      bufs.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      off += data.byteLength;
      return e;
    }),
  }));
  const h = Buffer.from(JSON.stringify(hdr));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  const r = spawnSync('/usr/bin/python3', ['-c', PY], { input: Buffer.concat([len, h, ...bufs]), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  const out = r.stdout;
  const n = out.readUInt32LE(0);
  const res = JSON.parse(out.subarray(4, 4 + n).toString());
  let p = 4 + n;
  return res.map((x, i) => {
    if (x.error) throw new Error(`oracle job ${i} (${jobs[i].code}) failed: ${x.error}`);
    const data = out.subarray(p, p + x.len);
    p += x.len;
    return { data, shape: x.shape, extra: x.extra };
  });
}

// ---------------------------------------------------------------------------
// Deterministic images
// ---------------------------------------------------------------------------

/** Gradients + noise + rectangles (sharp edges) + a few saturated pixels. */
export function makePixels(w, h, c, seed) {
  const rnd = mulberry32(seed);
  const out = new Uint8Array(w * h * c);
  const rects = [];
  for (let i = 0; i < 4; i++) {
    const x0 = Math.floor(rnd() * w * 0.7);
    const y0 = Math.floor(rnd() * h * 0.7);
    rects.push({ x0, y0, x1: x0 + 3 + Math.floor(rnd() * w * 0.4), y1: y0 + 3 + Math.floor(rnd() * h * 0.4), v: Array.from({ length: c }, () => Math.floor(rnd() * 256)) });
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let v = (x * 255) / Math.max(1, w - 1) * (k % 2 ? 0.3 : 0.7) + (y * 255) / Math.max(1, h - 1) * (k % 2 ? 0.7 : 0.3) + (k * 40);
        for (const r of rects) if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) v = r.v[k];
        v += (rnd() - 0.5) * 40;
        if (rnd() < 0.01) v = rnd() < 0.5 ? 0 : 255;
        out[(y * w + x) * c + k] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

export const CH = { bgr24: 3, rgb24: 3, gray: 1, bgra: 4, rgba: 4 };
export function makeFrame(w, h, format, seed) {
  if (format === 'yuv420p' || format === 'nv12') {
    const y = makePixels(w, h, 1, seed);
    const uv = makePixels(w / 2, h / 2, 2, seed + 1000);
    const data = new Uint8Array(w * h * 3 / 2);
    data.set(y, 0);
    const q = (w / 2) * (h / 2);
    if (format === 'yuv420p') {
      for (let i = 0; i < q; i++) {
        data[w * h + i] = uv[2 * i];
        data[w * h + q + i] = uv[2 * i + 1];
      }
    } else {
      data.set(uv, w * h); // interleaved U V
    }
    return Frame.from(data, { width: w, height: h, format });
  }
  return Frame.from(makePixels(w, h, CH[format], seed), { width: w, height: h, format });
}


export function bytesOf(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export function assertBytes(actual, expected, label) {
  const a = bytesOf(actual);
  const e = bytesOf(expected);
  if (a.length === e.length && a.equals(e)) return;
  let diff = 0;
  let first = -1;
  let maxd = 0;
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    if (a[i] !== e[i]) {
      diff++;
      if (first < 0) first = i;
      maxd = Math.max(maxd, Math.abs(a[i] - e[i]));
    }
  }
  assert.fail(`${label}: bytes differ (actual vs expected): length ${a.length} vs ${e.length}, ${diff} bytes differ, max |d| ${maxd}` +
    (first >= 0 ? `, first at ${first} (actual ${a[first]}, expected ${e[first]})` : ''));
}

/** A Frame result vs the oracle array: Frame instance, size from the oracle shape, format, hwc, bytes. */
export function assertFrame(f, ref, format, label) {
  assert.ok(f instanceof Frame, `${label}: result is not a Frame`);
  assert.equal(f.format, format, `${label}: format`);
  const planar = format === 'yuv420p' || format === 'nv12';
  const [h, w] = planar ? [ref.shape[0] * 2 / 3, ref.shape[1]] : ref.shape;
  assert.equal(f.width, w, `${label}: width`);
  assert.equal(f.height, h, `${label}: height`);
  if (!planar) assert.equal(f.layout, 'hwc', `${label}: layout`);
  assert.ok(f.data instanceof Uint8Array, `${label}: data is not a Uint8Array`);
  assertBytes(f.data, ref.data, label);
}

/**
 * Cases [{ name, code, inputs, format, run: async () => Frame, sync: () => Frame }]
 * as jest tests of the enclosing describe block: one oracle call for all (in
 * beforeAll), then a test per case comparing both forms.
 */
export function caseTests(cases, timeout) {
  let refs;
  beforeAll(() => {
    refs = oracle(cases.map((c) => ({ code: c.code, inputs: c.inputs })));
  }, timeout);
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      assertFrame(await c.run(), refs[i], c.format, `${c.name} (async)`);
      assertFrame(c.sync(), refs[i], c.format, `${c.name} (Sync)`);
    }, timeout);
  }
}

/** A case for `cv[op](...args)` / `cv[op + 'Sync'](...args)` vs python `code`. */
export function opCase(name, op, args, code, inputs, format) {
  return {
    name, code, inputs, format: format ?? args[0].format,
    run: () => cv[op](...args),
    sync: () => cv[`${op}Sync`](...args),
  };
}

/** The error fn throws synchronously or its promise rejects with; undefined when neither. */
export async function caught(fn) {
  try {
    const p = fn();
    if (p && typeof p.then === 'function') await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

/** fn throws `type` synchronously or returns a promise that rejects with it. */
export async function assertFails(fn, type, label, re) {
  const err = await caught(fn);
  assert.ok(err, `${label}: expected ${type.name}, nothing was thrown`);
  assert.ok(err instanceof type, `${label}: expected ${type.name}, got ${err?.constructor?.name}: ${err?.message}`);
  if (re) assert.match(err.message, re, `${label}: message`);
  return err;
}

/** Both forms of op fail with `type`. */
export async function assertOpFails(op, args, type, label, re) {
  await assertFails(() => cv[op](...args), type, `${label} (async)`, re);
  await assertFails(() => cv[`${op}Sync`](...args), type, `${label} (Sync)`, re);
}
