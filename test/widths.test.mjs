// Every output format equals the ffmpeg CLI byte for byte at every width
// 1..64 and the usual odd widths, and no byte of a frame is left unwritten:
// swscale's x86 YUV->RGB path converts 8 pixels at a time and skips the last
// (width % 8) pixels when a row has no room (issue: garbage columns at 854).
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VideoReader } from '../dist/index.mjs';
import { tempDir, ffmpeg, cliFramesMany, OUTPUT_FORMATS as FORMATS, referenceFor } from './helpers.mjs';

const dir = tempDir('avcv-widths-');
const H = 6;

async function readAll(file, opts) {
  const r = await VideoReader.open(file, opts);
  const parts = [];
  for await (const f of r) parts.push(Buffer.from(f.data));
  await r.close();
  return Buffer.concat(parts);
}

async function checkFile(file, w, h, label) {
  const refs = cliFramesMany(file, [...new Set(FORMATS.map((f) => f.cli))]);
  for (const f of FORMATS) {
    const what = `${label} ${f.format}${f.layout ? ` ${f.layout}` : ''}`;
    if (f.even && (w % 2 || h % 2)) {
      await assert.rejects(VideoReader.open(file, { format: f.format }), (e) => e instanceof TypeError || e instanceof RangeError, `${what}: odd size refused`);
      continue;
    }
    const ref = referenceFor(refs, f, w * h);
    const got = await readAll(file, { format: f.format, layout: f.layout });
    assert.equal(got.length, ref.length, `${what}: length`);
    if (!got.equals(ref)) {
      let first = -1;
      for (let i = 0; i < got.length; i++) if (got[i] !== ref[i]) { first = i; break; }
      assert.fail(`${what}: differs from the CLI first at byte ${first}`);
    }
  }
}

test('every format equals the CLI at widths 1..64 (yuv420p source, rawvideo)', async () => {
  for (let w = 1; w <= 64; w++) {
    const file = join(dir, `w${w}.nut`);
    // (testsrc2 makes no frame narrower than 2: crop a wider one)
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=64x${H}:rate=25`, '-vf', `format=yuv444p,crop=${w}:${H}:0:0`, '-frames:v', '2', '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', file]);
    await checkFile(file, w, H, `width ${w}`);
  }
});

test('every format equals the CLI at the usual odd widths (H.264/HEVC: 854, 1282, 426, 3026)', async () => {
  for (const [w, h, codec] of [[854, 480, 'libx264'], [1282, 720, 'libx264'], [426, 240, 'libx264'], [3026, 64, 'libx265']]) {
    const file = join(dir, `odd${w}.mkv`);
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=25`, '-frames:v', '3', '-c:v', codec, '-pix_fmt', 'yuv420p',
      ...(codec === 'libx265' ? ['-x265-params', 'log-level=error'] : []), file]);
    await checkFile(file, w, h, `${w}x${h}`);
  }
});

test('no byte of any frame is left unwritten (buffers filled with two canaries give the same frames)', async () => {
  // every buffer the library lends for frames comes from Buffer.allocUnsafeSlow:
  // fill it with a canary, decode, repeat with another canary; an unwritten byte
  // keeps its canary and the two runs differ there
  const files = [
    join(dir, 'c854.mp4'),
    join(dir, 'c37.mkv'),
  ];
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=25', '-frames:v', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '2', files[0]]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=37x22:rate=25', '-frames:v', '4', '-c:v', 'ffv1', '-pix_fmt', 'yuv422p', files[1]]);
  const combos = [];
  for (const format of ['bgr24', 'rgb24', 'bgra', 'rgba', 'gray', 'yuv420p', 'nv12']) {
    for (const layout of format.startsWith('yuv') || format === 'nv12' ? [undefined] : format === 'gray' ? [undefined] : [undefined, 'chw']) {
      combos.push({ format, layout });
      combos.push({ format, layout, resize: { width: format === 'yuv420p' || format === 'nv12' ? 102 : 101, height: 58 } });
      combos.push({ format, layout, crop: { x: 3, y: 2, width: format === 'yuv420p' || format === 'nv12' ? 30 : 29, height: 14 } });
    }
  }
  const orig = Buffer.allocUnsafeSlow;
  const withCanary = async (value, fn) => {
    Buffer.allocUnsafeSlow = (n) => orig(n).fill(value);
    try {
      return await fn();
    } finally {
      Buffer.allocUnsafeSlow = orig;
    }
  };
  const read = async (file, opts) => {
    const r = await VideoReader.open(file, opts);
    try {
      const seq = [];
      for await (const f of r) seq.push(Buffer.from(f.data));
      const one = Buffer.from((await r.frame(2)).data);
      const batch = Buffer.from((await r.frames([3, 1], { batch: true })).data);
      return Buffer.concat([...seq, one, batch]);
    } finally {
      await r.close();
    }
  };
  let checked = 0;
  for (const file of files) {
    for (const c of combos) {
      const a = await withCanary(0x00, () => read(file, c));
      const b = await withCanary(0xff, () => read(file, c));
      const label = `${file.split('/').pop()} ${JSON.stringify(c)}`;
      if (!a.equals(b)) {
        let first = -1;
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { first = i; break; }
        assert.fail(`${label}: byte ${first} keeps the canary (unwritten)`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 60, `checked ${checked} combinations`);
});
