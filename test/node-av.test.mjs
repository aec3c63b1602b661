// Frame.fromNodeAv / frame.toNodeAv with node-av (a dev dependency: libav's
// objects from JS on its own FFmpeg build, which numbers pixel formats its
// own way). References are the ffmpeg CLI's: clips it makes are decoded by
// node-av's own decoder, and each frame converted by avcv must equal the
// CLI's `-f rawvideo -pix_fmt X` bytes of the same frame; frames avcv hands
// to node-av's lossless encoders must come back from the CLI's decode as
// they went in.
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvcvError, Frame, VideoReader, loadNodeAv } from '../dist/index.mjs';
import { OUTPUT_FORMATS, assertExact, cliFrames, cliFramesMany, concatFrames, ffmpeg, readAll, tempDir } from './helpers.mjs';

// node-av as avcv loads it (on Node 20 with Promise.withResolvers, which
// node-av's Demuxer.packets() needs, polyfilled)
const av = loadNodeAv();
av.Log.setLevel(av.AV_LOG_ERROR);   // node-av's FFmpeg logs libx264's summaries at info level
const T = 120_000;
const dir = tempDir('avcv-node-av-');
const W = 98;
const H = 62;   // 4:2:0 chroma 49x31; rows that are no multiple of 16 or 64

const made = new Map();
/** A 5-frame testsrc2 clip made by the CLI (once): ffmpeg -c:v codec -pix_fmt pixFmt. */
function clip(name, codec, pixFmt, extra = []) {
  if (!made.has(name)) {
    const file = join(dir, name);
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '5', '-c:v', codec, '-pix_fmt', pixFmt, ...extra, file]);
    made.set(name, file);
  }
  return made.get(name);
}
const source = (s) => clip(s.name, s.codec, s.pixFmt, s.extra);

/** Every frame node-av's Demuxer + Decoder give, mapped by `fn` (each node-av frame freed after). */
async function decodeWithNodeAv(file, fn) {
  const input = await av.Demuxer.open(file);
  const stream = input.video();
  const decoder = await av.Decoder.create(stream);
  const out = [];
  try {
    for await (const f of decoder.frames(input.packets(stream.index))) {
      if (!f) break;
      try {
        out.push(fn(f));
      } finally {
        f.free();
      }
    }
  } finally {
    decoder.close();
    await input.close();
  }
  return out;
}

/** The CLI's frames of `cli` in avcv's chw layout (a layout never changes values). */
function toChw(hwc, channels) {
  const area = W * H;
  const frame = area * channels;
  const out = Buffer.alloc(hwc.length);
  for (let base = 0; base < hwc.length; base += frame) {
    for (let p = 0; p < area; p++) for (let k = 0; k < channels; k++) out[base + k * area + p] = hwc[base + p * channels + k];
  }
  return out;
}

// source pixel formats node-av's decoders give: 8-bit 4:2:0/4:4:4, 10-bit
// 4:2:2, nv12 and rgb24 straight from rawvideo (tight 98-byte and 294-byte
// rows), gbrp from H.264 RGB (libx264rgb), bgr0 from ffv1's RGB
const SOURCES = [
  { name: 'yuv420p.mp4', codec: 'libx264', pixFmt: 'yuv420p', decoded: 'yuv420p' },
  { name: 'yuv444p.mkv', codec: 'libx264', pixFmt: 'yuv444p', decoded: 'yuv444p' },
  { name: 'yuv422p10.mkv', codec: 'libx264', pixFmt: 'yuv422p10le', decoded: 'yuv422p10le' },
  { name: 'nv12.nut', codec: 'rawvideo', pixFmt: 'nv12', decoded: 'nv12' },
  { name: 'rgb24.nut', codec: 'rawvideo', pixFmt: 'rgb24', decoded: 'rgb24' },
  { name: 'gbrp.mkv', codec: 'libx264rgb', pixFmt: 'bgr24', decoded: 'gbrp', extra: ['-qp', '0'] },
  { name: 'bgr0.mkv', codec: 'ffv1', pixFmt: 'bgr0', decoded: 'bgr0' },
];

for (const s of SOURCES) {
  test(`fromNodeAv: node-av's ${s.decoded} frames become the CLI's bgr24 bytes, with pts and time`, async () => {
    const file = source(s);
    const seen = [];
    const frames = await decodeWithNodeAv(file, (f) => {
      seen.push({ name: av.avGetPixFmtName(f.format), pts: f.pts, tb: { num: f.timeBase.num, den: f.timeBase.den } });
      return Frame.fromNodeAv(f);
    });
    assert.equal(frames.length, 5);
    assert.deepEqual([...new Set(seen.map((x) => x.name))], [s.decoded], 'the pixel format node-av decoded');
    frames.forEach((fr, i) => {
      assert.equal(fr.format, 'bgr24');
      assert.equal(fr.layout, 'hwc');
      assert.deepEqual([fr.width, fr.height], [W, H]);
      assert.equal(fr.pts, Number(seen[i].pts));
      assert.equal(fr.time, (Number(seen[i].pts) * seen[i].tb.num) / seen[i].tb.den);
    });
    assertExact(concatFrames(frames), cliFrames(file, 'bgr24'), W * H * 3, `${s.decoded} -> bgr24`);
    // the frames' times are the CLI's (ffprobe's pts_time of each frame)
    const times = JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', file]).stdout)
      .frames.map((f) => Number(f.pts_time));
    frames.forEach((fr, i) => assert.ok(Math.abs(fr.time - times[i]) < 1e-9, `frame ${i}: time ${fr.time}, ffprobe ${times[i]}`));
  }, T);
}

test('fromNodeAv: every avcv output format and layout equals the CLI, from every source format', async () => {
  for (const src of SOURCES) {
    const file = source(src);
    // one CLI run per source; one filter thread, as avcv converts in one slice
    const refs = cliFramesMany(file, [...new Set(OUTPUT_FORMATS.map((o) => o.cli))]);
    for (const o of OUTPUT_FORMATS) {
      const frames = await decodeWithNodeAv(file, (f) => Frame.fromNodeAv(f, { format: o.format, ...(o.layout ? { layout: o.layout } : {}) }));
      const ref = o.layout === 'chw' ? toChw(refs[o.cli], o.channels) : refs[o.cli];
      assertExact(concatFrames(frames), ref, ref.length / 5, `${src.decoded} -> ${o.format} ${o.layout ?? ''}`);
      assert.equal(frames[0].layout, o.layout ?? (o.even ? 'planar' : 'hwc'));
    }
  }
}, T);

test("fromNodeAv: the frames equal VideoReader's of the same file (pixels, pts, time, keyframes)", async () => {
  const file = source(SOURCES[0]);
  const viaNodeAv = await decodeWithNodeAv(file, (f) => Frame.fromNodeAv(f, { format: 'rgb24' }));
  const reader = await VideoReader.open(file, { format: 'rgb24' });
  const viaReader = await readAll(reader);
  await reader.close();
  assert.equal(viaNodeAv.length, viaReader.length);
  viaNodeAv.forEach((a, i) => {
    const b = viaReader[i];
    assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)), `frame ${i} pixels`);
    assert.deepEqual([a.pts, a.time, a.keyframe], [b.pts, b.time, b.keyframe], `frame ${i} timing`);
  });
}, T);

test("the conversion fromNodeAv shares with VideoReader copies a frame already in the output format (swscale 5.1's nv12 copy left UV unwritten)", async () => {
  const file = source(SOURCES[3]);
  const reader = await VideoReader.open(file, { format: 'nv12' });
  const frames = await readAll(reader);
  await reader.close();
  assertExact(concatFrames(frames), cliFrames(file, 'nv12'), (W * H * 3) / 2, 'VideoReader nv12 -> nv12');
}, T);

test('fromNodeAv: a frame made with node-av (Frame.fromVideoBuffer) and the module given as an option', () => {
  // 7x5 yuv444p, tight 7-byte rows in a buffer with nothing after its last row
  const bytes = Buffer.alloc(7 * 5 * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) & 255;
  const f = av.Frame.fromVideoBuffer(bytes, { width: 7, height: 5, format: av.avGetPixFmtFromName('yuv444p'), timeBase: { num: 1, den: 50 }, pts: 7n });
  const frame = Frame.fromNodeAv(f, { format: 'rgb24', module: av });
  const raw = join(dir, 'tiny.yuv');
  writeFileSync(raw, bytes);
  const cli = ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'yuv444p', '-s', '7x5', '-i', raw, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  assertExact(Buffer.from(frame.data), cli, 7 * 5 * 3, 'yuv444p 7x5 -> rgb24');
  assert.equal(frame.pts, 7);
  assert.equal(frame.time, 7 / 50);
  f.free();
});

test('fromNodeAv: bad input is a TypeError naming the argument', () => {
  assert.throws(() => Frame.fromNodeAv({}), { name: 'TypeError', message: /frame must be a node-av Frame/ });
  assert.throws(() => Frame.fromNodeAv(null), { name: 'TypeError', message: /frame must be a node-av Frame/ });
  assert.throws(() => Frame.fromNodeAv(Frame.from(new Uint8Array(12), { width: 2, height: 2, format: 'bgr24' })), { name: 'TypeError', message: /frame must be a node-av Frame/ });
  // an audio frame
  const audio = new av.Frame();
  audio.alloc();
  audio.nbSamples = 1024;
  audio.format = av.AV_SAMPLE_FMT_FLTP;
  audio.sampleRate = 48000;
  audio.channelLayout = { order: 1, nbChannels: 2, mask: 3n };
  assert.equal(audio.getBuffer(0), 0);
  assert.throws(() => Frame.fromNodeAv(audio), { name: 'TypeError', message: /frame must be a video frame/ });
  audio.free();
  // an empty frame
  const empty = new av.Frame();
  empty.alloc();
  assert.throws(() => Frame.fromNodeAv(empty), { name: 'TypeError', message: /frame must be a video frame/ });
  // a frame whose planes are in GPU memory (as node-av reports one)
  const hw = { width: 64, height: 48, format: 0, pts: 0n, timeBase: { num: 1, den: 25 }, linesize: [], data: null, colorSpace: 2, colorRange: 0, isVideo: () => true, isHwFrame: () => true };
  assert.throws(() => Frame.fromNodeAv(hw), { name: 'TypeError', message: /hardware frame.*transfer it to system memory first/ });
  // options
  const f = av.Frame.fromVideoBuffer(Buffer.alloc(4 * 4 * 3), { width: 4, height: 4, format: av.avGetPixFmtFromName('rgb24') });
  assert.throws(() => Frame.fromNodeAv(f, { format: 'yuv444p' }), { name: 'TypeError', message: /format must be one of/ });
  assert.throws(() => Frame.fromNodeAv(f, { layout: 'nchw' }), { name: 'TypeError', message: /layout must be one of/ });
  assert.throws(() => Frame.fromNodeAv(f, { colour: 'bgr24' }), { name: 'TypeError', message: /unknown option 'colour'/ });
  assert.throws(() => Frame.fromNodeAv(f, { module: {} }), { name: 'TypeError', message: /options.module must be the node-av module/ });
  assert.throws(() => Frame.fromNodeAv(f, { format: 'yuv420p', layout: 'chw' }), { name: 'RangeError' });
  // a pixel format the libav avcv links (FFmpeg 5.1) lacks: by name, an AvcvError
  const g = new av.Frame();
  g.alloc();
  g.width = 4;
  g.height = 4;
  g.format = av.avGetPixFmtFromName('gbrp10msble');   // new in FFmpeg 8
  assert.equal(g.getBuffer(0), 0);
  assert.throws(() => Frame.fromNodeAv(g), (e) => e instanceof AvcvError && e.code === 'UNSUPPORTED' && /gbrp10msble/.test(e.message));
  g.free();
  f.free();
});

/** Encodes avcv frames with node-av's encoder `codec` into `file` (Matroska, node-av's Muxer). */
async function encodeWithNodeAv(frames, codec, file, options = {}) {
  const encoder = await av.Encoder.create(codec, { options });
  const muxer = await av.Muxer.open(file);
  const index = muxer.addStream(encoder);
  const write = async (packets) => {
    for (const p of packets) {
      await muxer.writePacket(p, index);
      p.free();
    }
  };
  const handed = [];
  for (const frame of frames) {
    const f = frame.toNodeAv({ timeBase: { num: 1, den: 25 } });
    handed.push({ width: f.width, height: f.height, format: av.avGetPixFmtName(f.format), pts: f.pts, tb: `${f.timeBase.num}/${f.timeBase.den}` });
    await write(await encoder.encodeAll(f));
    f.free();
  }
  await write(await encoder.encodeAll(null));
  await muxer.close();
  encoder.close();
  return handed;
}

// each avcv format into a lossless encoder that takes it as it is
const ENCODES = [
  { format: 'bgr24', codec: 'libx264rgb', options: { qp: 0 }, avName: 'bgr24' },
  { format: 'yuv420p', codec: 'ffv1', avName: 'yuv420p' },
  { format: 'nv12', codec: 'libx264', options: { qp: 0 }, avName: 'nv12' },
  { format: 'gray', codec: 'ffv1', avName: 'gray' },
  { format: 'bgra', codec: 'ffv1', avName: 'bgra' },
  { format: 'rgb24', layout: 'chw', codec: 'utvideo', avName: 'gbrp' },
];

test("toNodeAv: node-av's lossless encoders take avcv frames, and the CLI decodes the frames that went in", async () => {
  const src = clip('encode-src.mkv', 'ffv1', 'yuv444p');
  for (const e of ENCODES) {
    const reader = await VideoReader.open(src, { format: e.format, ...(e.layout ? { layout: e.layout } : {}) });
    const frames = await readAll(reader);
    await reader.close();
    const out = join(dir, `encoded-${e.format}-${e.layout ?? 'x'}.mkv`);
    const handed = await encodeWithNodeAv(frames, e.codec, out, e.options);
    handed.forEach((h, i) => assert.deepEqual(h, { width: W, height: H, format: e.avName, pts: BigInt(frames[i].pts), tb: '1/25' }));
    // chw: the CLI's hwc frames of the decoded gbrp equal the frames' hwc form
    const expected = concatFrames(e.layout === 'chw' ? frames.map((f) => f.toLayout('hwc')) : frames);
    assertExact(cliFrames(out, e.format), expected, expected.length / frames.length, `${e.format} ${e.layout ?? ''} via ${e.codec}`);
  }
}, T);

test('toNodeAv -> fromNodeAv gives the same bytes back in every format and layout (strided planes both ways)', () => {
  const base = Frame.from(new Uint8Array(W * H * 3).map((_, i) => (i * 7 + (i >> 5)) & 255), { width: W, height: H, format: 'bgr24' });
  for (const o of OUTPUT_FORMATS) {
    const frame = base.to(o.format, o.layout ? { layout: o.layout } : {});
    const f = frame.toNodeAv();
    assert.ok(f.linesize[0] > frame.planes[0].width * frame.planes[0].elementBytes, 'node-av pads its rows');
    const back = Frame.fromNodeAv(f, { format: o.format, layout: frame.layout });
    f.free();
    assert.ok(Buffer.from(back.data).equals(Buffer.from(frame.data)), `${o.format} ${frame.layout}`);
  }
});

test('toNodeAv: bad options are TypeErrors naming them', () => {
  const frame = Frame.from(new Uint8Array(12), { width: 2, height: 2, format: 'bgr24' });
  assert.throws(() => frame.toNodeAv({ timeBase: { num: 0, den: 25 } }), { name: 'TypeError', message: /options.timeBase/ });
  assert.throws(() => frame.toNodeAv({ timeBase: 25 }), { name: 'TypeError', message: /options.timeBase/ });
  assert.throws(() => frame.toNodeAv({ pts: 3 }), { name: 'TypeError', message: /unknown option 'pts'/ });
  assert.throws(() => frame.toNodeAv({ module: { Frame: 1 } }), { name: 'TypeError', message: /options.module/ });
  assert.throws(() => frame.toNodeAv(null), { name: 'TypeError' });
});

test('without node-av installed: AvcvError PEER_MISSING naming the install command', () => {
  const script = `
    const Module = require('node:module');
    const orig = Module._resolveFilename;
    Module._resolveFilename = function (req, ...rest) {
      if (req === 'node-av') { const e = new Error("Cannot find module 'node-av'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return orig.call(this, req, ...rest);
    };
    const { Frame, AvcvError, loadNodeAv } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
    const out = [];
    for (const call of [() => Frame.from(new Uint8Array(12), { width: 2, height: 2, format: 'bgr24' }).toNodeAv(), () => loadNodeAv()]) {
      try { call(); out.push('no error'); }
      catch (e) { out.push({ avcv: e instanceof AvcvError, code: e.code, message: e.message }); }
    }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const out of JSON.parse(r.stdout.trim().split('\n').pop())) {
    assert.equal(out.avcv, true);
    assert.equal(out.code, 'PEER_MISSING');
    assert.match(out.message, /npm install node-av/);
  }
}, T);
