// Devices on a machine without a GPU (CI): 'auto' falls back to the CPU and
// says why, 'cuda' fails clearly, capabilities() has its shape. The reference
// for "no GPU here" is the machine itself: libcuda.so.1 cannot be loaded.
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { VideoReader, VideoWriter, transform, capabilities, AvcvError } from '../dist/index.mjs';
import { tempDir, makeClip, cliFrames, ffprobe } from './helpers.mjs';

const dir = tempDir();
// independent check: does this machine have the NVIDIA driver library at all?
const hasDriver = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libcuda.so.1 "']).status === 0;

test('this suite runs where there is no CUDA driver (CI); the checks below assume it', () => {
  assert.equal(hasDriver, false, 'libcuda.so.1 is installed: these CPU-only expectations do not apply here');
});

test('capabilities(): shape, build facts, and CUDA unavailable with the reason', () => {
  const c = capabilities();
  assert.ok(Array.isArray(c.hwDeviceTypes) && c.hwDeviceTypes.includes('cuda'), 'Debian builds libav with CUDA support');
  assert.equal(c.cuda.available, false);
  assert.match(c.cuda.reason, /libcuda\.so\.1/);
  assert.equal(c.cuda.deviceCount, 0);
  assert.deepEqual(c.cuda.names, []);
  for (const codec of ['h264', 'hevc']) assert.ok(c.nvdec.includes(codec), `nvdec ${codec}`);
  // the CLI's own decoder of each codec (libav's, not a wrapper such as
  // libdav1d, which avcodec_find_decoder returns first for AV1) is the
  // reference for which codecs NVDEC takes
  for (const codec of ['h264', 'hevc', 'av1', 'vp9', 'vp8', 'mpeg2video', 'mjpeg']) {
    const help = spawnSync('ffmpeg', ['-hide_banner', '-h', `decoder=${codec}`], { encoding: 'utf8' }).stdout;
    const cuda = /Supported hardware devices:.*\bcuda\b/.test(help);
    assert.equal(c.nvdec.includes(codec), cuda, `nvdec ${codec}: the CLI says ${cuda}`);
  }
  // the CLI's encoder list is the reference for what this build has
  const enc = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout;
  for (const e of ['h264_nvenc', 'hevc_nvenc', 'av1_nvenc']) assert.equal(c.nvenc.includes(e), new RegExp(`\\b${e}\\b`).test(enc), e);
  // none opens a session without a GPU, and the reason says why
  assert.deepEqual(c.nvencUsable, []);
  if (c.nvenc.length) assert.match(c.nvencReason, /libcuda\.so\.1/);
  const filters = spawnSync('ffmpeg', ['-hide_banner', '-filters'], { encoding: 'utf8' }).stdout;
  assert.equal(c.scaleCuda, /\bscale_cuda\b/.test(filters));
});

test("reader: 'auto' decodes on the CPU and says why; frames are the CLI's", async () => {
  const clip = makeClip(join(dir, 'a.mp4'), { size: '64x48', frames: 10 });
  const r = await VideoReader.open(clip, { device: 'auto', format: 'gray' });
  try {
    assert.equal(r.info.device.type, 'cpu');
    assert.match(r.info.device.fallbackReason, /libcuda\.so\.1/);
    const parts = [];
    for await (const f of r) parts.push(Buffer.from(f.data));
    assert.ok(Buffer.concat(parts).equals(cliFrames(clip, 'gray')));
    assert.equal(r.stats.gpuScaledFrames, 0);
  } finally {
    await r.close();
  }
  const c = await VideoReader.open(clip, { device: 'cpu' });
  assert.deepEqual(c.info.device, { type: 'cpu' });
  await c.close();
});

test("reader: AV1 on 'auto' decodes on the CPU with the CLI's decoder and says the GPU is missing, not that NVDEC lacks AV1", async () => {
  const clip = makeClip(join(dir, 'av1.mkv'), { size: '64x48', frames: 6, codec: 'libaom-av1', extra: ['-cpu-used', '8'] });
  // the CLI's default AV1 decoder is the first one it lists (libdav1d on Debian)
  const decoders = spawnSync('ffmpeg', ['-hide_banner', '-decoders'], { encoding: 'utf8' }).stdout;
  const first = decoders.split('\n').map((l) => / V\S* (\S+)\s.*\(codec av1\)|^ V\S* (av1) /.exec(l)).find(Boolean);
  const r = await VideoReader.open(clip, { device: 'auto', format: 'gray' });
  try {
    assert.equal(r.info.decoder, first[1] ?? first[2]);
    assert.equal(r.info.device.type, 'cpu');
    assert.match(r.info.device.fallbackReason, /libcuda\.so\.1/);
    const parts = [];
    for await (const f of r) parts.push(Buffer.from(f.data));
    assert.ok(Buffer.concat(parts).equals(cliFrames(clip, 'gray')));
  } finally {
    await r.close();
  }
  await assert.rejects(VideoReader.open(clip, { device: 'cuda' }), (e) => e instanceof AvcvError && e.code === 'NO_DEVICE' && /libcuda\.so\.1/.test(e.message));
});

test("reader: 'cuda' / 'cuda:N' fail with NO_DEVICE and the reason, never silently on the CPU", async () => {
  const clip = makeClip(join(dir, 'b.mp4'), { size: '64x48', frames: 5 });
  for (const device of ['cuda', 'cuda:1']) {
    await assert.rejects(VideoReader.open(clip, { device }), (e) => e instanceof AvcvError && e.code === 'NO_DEVICE' && /libcuda\.so\.1/.test(e.message));
  }
  await assert.rejects(VideoReader.open(clip, { device: 'gpu' }), TypeError);
});

test("writer: 'auto' picks the CPU encoder and says why; 'cuda' fails before any file exists", async () => {
  const out = join(dir, 'w.mp4');
  const w = await VideoWriter.open(out, { width: 64, height: 48, fps: 25, codec: 'h264', device: 'auto' });
  assert.equal(w.info.encoder, 'libx264');
  assert.equal(w.info.device.type, 'cpu');
  assert.match(w.info.device.fallbackReason, /libcuda\.so\.1/);
  await w.write(new Uint8Array(64 * 48 * 3));
  await w.close();
  assert.equal(ffprobe(out).streams[0].codec_name, 'h264');
  const bad = join(dir, 'never.mp4');
  await assert.rejects(VideoWriter.open(bad, { width: 64, height: 48, fps: 25, device: 'cuda' }), (e) => e instanceof AvcvError && e.code === 'NO_DEVICE');
  await assert.rejects(VideoWriter.open(bad, { width: 64, height: 48, fps: 25, codec: 'vp9', container: 'mkv', device: 'cuda' }), (e) => e.code === 'NO_DEVICE' && /NVENC has no encoder/.test(e.message));
  // an NVENC encoder by name needs a GPU whatever the device says (it was an
  // ENCODE error, "Generic error in an external library", from avcodec_open2)
  for (const device of ['cpu', 'auto']) {
    await assert.rejects(VideoWriter.open(bad, { width: 64, height: 48, fps: 25, codec: 'h264_nvenc', device }),
      (e) => e.code === 'NO_DEVICE' && /h264_nvenc.*libcuda\.so\.1/.test(e.message));
  }
  assert.equal(existsSync(bad), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('avcv-tmp')), []);
});

test("transform(): device 'auto' passes through to both ends and still works on the CPU", async () => {
  const clip = makeClip(join(dir, 't.mp4'), { size: '64x48', frames: 8 });
  const s = await transform(clip, join(dir, 't-out.mp4'), (f) => f, { device: 'auto', audio: 'none' });
  assert.equal(s.framesOut, 8);
  assert.equal(s.encoder, 'libx264');
});
