// transform(input, output, null): transcoding with no frame reaching JS,
// checked against the ffmpeg CLI and ffprobe: frames exact through a lossless
// codec (the CLI's own decode of source and output), a resize within 1 of
// the CLI's scale filter, timestamps and audio kept, colour tags carried,
// and the CPU-machine side of gpuPassthrough ('auto' falls back and says
// why, a required passthrough fails clearly and leaves no file).
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { transform, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, assertExact, countFrames, framePtsTimes, span, diffStats } from './helpers.mjs';

const T = 120_000;
const dir = tempDir('avcv-transcode-');
let n = 0;
const folder = () => {
  const d = join(dir, `case-${++n}`);
  mkdirSync(d);
  return d;
};
const W = 320;
const H = 240;
let src; // h264 + aac, mp4, 2 s
let vfr; // mkv with irregular timestamps
let tagged; // bt709-tagged h264
let long; // 640x480, 12 s, for aborts

beforeAll(() => {
  const d = join(dir, 'src');
  mkdirSync(d);
  src = join(d, 'in.mp4');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src]);
  vfr = join(d, 'vfr.mkv');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '20', '-vf', "settb=1/1000,setpts='30*N+2*N*N'",
    '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr]);
  tagged = join(d, 'tagged.mp4');
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25`, '-frames:v', '10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', tagged]);
  long = join(d, 'long.mkv');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-pix_fmt', 'yuv420p', long]);
});

const videoStream = (f) => ffprobe(f).streams.find((s) => s.codec_type === 'video');
const audioStream = (f) => ffprobe(f).streams.find((s) => s.codec_type === 'audio');
const leftovers = (d) => readdirSync(d).filter((f) => f.includes('avcv-tmp'));

test('no resize: the lossless output decodes to exactly the CLI decode of the source, pts and audio kept', async () => {
  const d = folder();
  const out = join(d, 'out.mkv');
  const progress = [];
  const r = await transform(src, out, null, { codec: 'ffv1', onProgress: (p) => progress.push(p) });
  assert.equal(r.path, 'native');
  assert.equal(r.device.type, 'cpu');
  assert.equal(r.passthroughReason, null);
  assert.equal(r.encoder, 'ffv1');
  const expected = countFrames(src);
  assert.equal(r.framesIn, expected);
  assert.equal(r.framesOut, expected);
  assert.equal(countFrames(out), expected);
  assertExact(cliFrames(out, 'yuv420p'), cliFrames(src, 'yuv420p'), W * H * 1.5, 'ffv1 transcode');
  const a = framePtsTimes(src);
  const b = framePtsTimes(out);
  assert.equal(b.length, a.length);
  // mkv shifts everything by the AAC priming (avoid_negative_ts): compare
  // spacing, then the audio/video offset against the source's
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((b[i] - b[0]) - (a[i] - a[0])) < 0.0015, `frame ${i}: ${b[i] - b[0]} vs ${a[i] - a[0]}`);
  const offset = (f) => span(f, 'v:0').start - span(f, 'a:0').start;
  assert.ok(Math.abs(offset(out) - offset(src)) < 0.0015, `a/v offset ${offset(out)} vs ${offset(src)}`);
  // audio copied packet for packet
  assert.equal(r.audio, 'copy');
  assert.equal(audioStream(out).codec_name, 'aac');
  assert.equal(span(out, 'a:0').packets, span(src, 'a:0').packets);
  // progress: the last report is the whole job, total from ffprobe's count
  assert.ok(progress.length >= 1);
  const last = progress[progress.length - 1];
  assert.equal(last.frames, expected);
  assert.equal(last.total, Number(videoStream(src).nb_frames));
  assert.deepEqual(leftovers(d), []);
}, T);

test('resize: within 1 of the CLI scale filter (bicubic and bilinear), one side kept to aspect and even', async () => {
  for (const [interpolation, flags] of [['bicubic', 'bicubic'], ['bilinear', 'bilinear']]) {
    const d = folder();
    const out = join(d, 'out.mkv');
    const r = await transform(src, out, null, { codec: 'ffv1', resize: { width: 160, height: 96, interpolation } });
    const v = videoStream(out);
    assert.equal(v.width, 160);
    assert.equal(v.height, 96);
    const ours = cliFrames(out, 'yuv420p');
    const ref = cliFrames(src, 'yuv420p', { vf: `scale=160:96:flags=${flags}` });
    assert.equal(ours.length, ref.length);
    const st = diffStats(ours, ref);
    assert.ok(st.max <= 1, `${interpolation}: max difference ${st.max} (${st.count} bytes differ)`);
    assert.equal(r.framesOut, countFrames(src));
  }
  // width only: 320x240 -> 100 x 75, rounded up to even 76 as 4:2:0 needs
  const d = folder();
  const out = join(d, 'w.mp4');
  await transform(src, out, null, { resize: { width: 100 } });
  const v = videoStream(out);
  assert.deepEqual([v.width, v.height], [100, 76]);
}, T);

test('variable frame rate timestamps are kept (mkv, ms time base)', async () => {
  const d = folder();
  const out = join(d, 'vfr.mkv');
  await transform(vfr, out, null, { codec: 'ffv1' });
  const a = framePtsTimes(vfr);
  const b = framePtsTimes(out);
  assert.equal(b.length, 20);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(b[i] - (a[i] - a[0])) < 0.0015, `frame ${i}: ${b[i]} vs ${a[i] - a[0]}`);
  // and the gaps really are irregular: 30 + 2(2N+1) ms
  assert.ok(Math.abs((b[11] - b[10]) - 0.072) < 0.0015);
}, T);

test('avi output is constant frame rate at the source rate; mpeg4 by default', async () => {
  const d = folder();
  const out = join(d, 'out.avi');
  const r = await transform(src, out, null, { audio: 'none' });
  assert.equal(r.encoder, 'mpeg4');
  const v = videoStream(out);
  assert.equal(v.codec_name, 'mpeg4');
  assert.equal(v.r_frame_rate, '25/1');
  assert.equal(countFrames(out), countFrames(src));
  assert.equal(audioStream(out), undefined);
}, T);

test('colour tags of the source are carried (bt709, limited range)', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await transform(tagged, out, null, {});
  const s = videoStream(tagged);
  const v = videoStream(out);
  for (const k of ['color_range', 'color_space', 'color_primaries', 'color_transfer']) assert.equal(v[k], s[k], k);
  assert.equal(v.color_space, 'bt709');
}, T);

test('encoder options reach the encoder: x264 settings through crf, preset, gop', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await transform(src, out, null, { codec: 'libx264', crf: 30, preset: 'veryfast', gop: 12, audio: 'none' });
  const sei = readFileSync(out).toString('latin1');
  assert.match(sei, /crf=30\.0/);
  assert.match(sei, /keyint=12 /);
  // veryfast is subme=2 (x264's preset table)
  assert.match(sei, /subme=2 /);
}, T);

test("device 'auto' on a machine without CUDA: CPU, with the reasons", async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const r = await transform(src, out, null, { device: 'auto', audio: 'none' });
  assert.equal(r.path, 'native');
  assert.equal(r.device.type, 'cpu');
  assert.match(r.device.fallbackReason, /CUDA|libcuda/);
  assert.match(r.passthroughReason, /decoding is on the CPU/);
  assert.equal(r.encoder, 'libx264');
  assert.equal(countFrames(out), countFrames(src));
}, T);

test('gpuPassthrough: true without a GPU fails clearly and leaves nothing; device cuda too', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  await assert.rejects(transform(src, out, null, { gpuPassthrough: true }), (e) => {
    assert.ok(e instanceof AvcvError);
    assert.equal(e.code, 'NO_DEVICE');
    assert.match(e.message, /gpuPassthrough is not possible.*decoding is on the CPU/);
    return true;
  });
  await assert.rejects(transform(src, out, null, { device: 'auto', gpuPassthrough: true }), { code: 'NO_DEVICE' });
  await assert.rejects(transform(src, out, null, { device: 'cuda' }), (e) => e instanceof AvcvError && e.code === 'NO_DEVICE');
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(d), []);
}, T);

test('an existing target is replaced only by a finished output; a failure leaves it untouched', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  writeFileSync(out, 'keep me');
  await assert.rejects(transform(join(d, 'missing.mp4'), out, null, {}), (e) => e instanceof AvcvError && e.code === 'ENOENT');
  const bad = join(d, 'bad.mp4');
  writeFileSync(bad, Buffer.alloc(4096, 7));
  await assert.rejects(transform(bad, out, null, {}), (e) => e instanceof AvcvError && typeof e.code === 'string');
  assert.equal(readFileSync(out, 'utf8'), 'keep me');
  assert.deepEqual(leftovers(d), []);
  await transform(src, out, null, { audio: 'none' });
  assert.equal(countFrames(out), countFrames(src));
}, T);

test('abort mid-way: ABORTED, no output, no temp file, promptly', async () => {
  const d = folder();
  const out = join(d, 'out.mp4');
  const ac = new AbortController();
  let seen = 0;
  const t0 = performance.now();
  await assert.rejects(transform(long, out, null, {
    signal: ac.signal, preset: 'medium', audio: 'none',
    onProgress: (p) => {
      seen = p.frames;
      if (p.frames > 0) ac.abort();
    },
  }), (e) => e instanceof AvcvError && e.code === 'ABORTED');
  assert.ok(seen > 0 && seen < 300, `aborted after ${seen} of 300 frames`);
  assert.ok(performance.now() - t0 < 30_000);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(d), []);
  // an already aborted signal never starts
  await assert.rejects(transform(src, out, null, { signal: AbortSignal.abort() }), { code: 'ABORTED' });
}, T);

test('wrong arguments: TypeError/RangeError naming the option', async () => {
  const out = join(folder(), 'x.mp4');
  for (const k of ['format', 'layout', 'crop', 'prefetch', 'reuseBuffers', 'output', 'concurrency']) {
    const v = { format: 'rgb24', layout: 'chw', crop: { x: 0, y: 0, width: 8, height: 8 }, prefetch: 2, reuseBuffers: true, output: {}, concurrency: 2 }[k];
    await assert.rejects(transform(src, out, null, { [k]: v }), (e) => e instanceof TypeError && e.message.includes(k), k);
  }
  await assert.rejects(transform(src, out, null, { autorotate: true }), (e) => e instanceof TypeError && /autorotate/.test(e.message));
  await assert.rejects(transform(src, out, (f) => f, { gpuPassthrough: true }), (e) => e instanceof TypeError && /gpuPassthrough/.test(e.message));
  await assert.rejects(transform(src, out, null, { gpuPassthrough: 'yes' }), (e) => e instanceof TypeError && /gpuPassthrough/.test(e.message));
  await assert.rejects(transform(src, out, null, { resize: { width: 101 } }), (e) => e instanceof RangeError && /resize/.test(e.message));
  await assert.rejects(transform(src, out, null, { bogus: 1 }), (e) => e instanceof TypeError && /bogus/.test(e.message));
  await assert.rejects(transform(src, out, 42, {}), (e) => e instanceof TypeError && /fn/.test(e.message));
  assert.equal(existsSync(out), false);
}, T);

test('the fn path reports path js and the reader device', async () => {
  const out = join(folder(), 'js.mp4');
  const r = await transform(src, out, (f) => f, { audio: 'none' });
  assert.equal(r.path, 'js');
  assert.deepEqual(r.device, { type: 'cpu' });
  assert.equal(r.passthroughReason, null);
}, T);
