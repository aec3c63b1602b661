// GPU checks: run on a machine with an NVIDIA GPU and driver only
// (`npm run check:gpu`; scripts/device-check.sh runs it on the lent GPU
// machine). Not part of `npm test`: CI has no GPU, and test/device.test.mjs
// covers the CPU-only behaviour there. Every check here fails, never skips,
// when the GPU is missing.
// References: the CPU decode of the same file (NVDEC is a conformant decoder,
// so its NV12 is the software decoder's yuv420p, interleaved), and the ffmpeg
// CLI/ffprobe for what the NVENC outputs hold.
// Not every NVIDIA GPU has every engine: an H100 or A100 has NVDEC but no
// NVENC, and the H100's NVDEC has no AV1. The CLI on the same machine is the
// reference for what the GPU can do (it opens NVENC, it decodes on NVDEC);
// where it cannot, the checks are that 'cuda' fails with NO_DEVICE and the
// reason and 'auto' does the work on the CPU, exactly as the CPU path.
import { test } from './runner.mjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { VideoReader, VideoWriter, transform, capabilities, ladder } from '../dist/index.mjs';
import { cliFrames, cliFramesMany, ffmpeg, ffprobe, makeClip, psnr, tempDir, countFrames } from '../test/helpers.mjs';

const dir = tempDir('avcv-gpu-');
const T = 120_000;

// the CLI opens an NVENC session on this GPU
const cliNvenc = (encoder) => spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
  '-frames:v', '2', '-c:v', encoder, '-f', 'null', '-'], { encoding: 'utf8' }).status === 0;
const NVENC = cliNvenc('h264_nvenc');
console.log(`# the CLI ${NVENC ? 'opens' : 'cannot open'} an h264_nvenc session on this GPU`);
// how many frames the CLI decodes with NVDEC: frames kept on the GPU and
// downloaded by hwdownload, which fails on the software frames of a silent
// CPU fallback
const cliNvdecFrames = (clip, decoder) => {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-c:v', decoder,
    '-i', clip, '-vf', 'hwdownload,format=nv12', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).length;
};

async function readBytes(file, options) {
  const r = await VideoReader.open(file, options);
  const parts = [];
  try {
    for await (const f of r) parts.push(Buffer.from(f.data));
  } finally {
    await r.close();
  }
  return { bytes: Buffer.concat(parts), info: r.info, count: parts.length, stats: r.stats };
}

test('capabilities(): CUDA is available, with NVDEC for h264, hevc and av1 and NVENC for h264 and hevc', () => {
  const c = capabilities();
  assert.equal(c.cuda.available, true, `CUDA unavailable: ${c.cuda.reason}`);
  assert.ok(c.cuda.deviceCount >= 1);
  assert.ok(c.cuda.names.length >= 1 && c.cuda.names.every((n) => typeof n === 'string' && n.length > 0));
  for (const codec of ['h264', 'hevc', 'av1']) assert.ok(c.nvdec.includes(codec), `nvdec ${codec}`);
  for (const e of ['h264_nvenc', 'hevc_nvenc']) assert.ok(c.nvenc.includes(e), `nvenc ${e}`);
  // usable: the encoders whose session the CLI opens here
  assert.deepEqual(c.nvencUsable, c.nvenc.filter(cliNvenc));
  if (c.nvencUsable.length < c.nvenc.length) assert.match(c.nvencReason, /cannot open a session on CUDA device 0/);
  console.log(`# GPU: ${c.cuda.names.join(', ')}; nvdec ${c.nvdec.join(',')}; nvenc ${c.nvenc.join(',')}; usable ${c.nvencUsable.join(',') || `none (${c.nvencReason})`}; scale_cuda ${c.scaleCuda}`);
});

// AV1: libdav1d is the CPU decoder avcodec_find_decoder returns; on cuda
// avcv opens libav's own "av1" decoder, the one with av1_nvdec
const ENCODER_EXTRA = { libx264: ['-bf', '2'], libx265: ['-preset', 'ultrafast', '-x265-params', 'log-level=error'], 'libaom-av1': ['-cpu-used', '8'] };
for (const [codec, name, ext] of [['libx264', 'h264', 'mp4'], ['libx265', 'hevc', 'mp4'], ['libaom-av1', 'av1', 'mkv']]) {
  test(`reader on cuda (${name}): decoded on the GPU, frames equal the CPU decode in every format (or NO_DEVICE where the CLI's NVDEC cannot)`, async () => {
    const clip = makeClip(join(dir, `dec-${name}.${ext}`), { size: '640x360', frames: 48, codec, extra: ['-g', '12', ...(ENCODER_EXTRA[codec] ?? [])] });
    const cpu = cliFramesMany(clip, ['yuv420p', 'nv12', 'gray', 'bgr24', 'rgb24']);
    const onGpu = cliNvdecFrames(clip, name);
    console.log(`# ${name}: the CLI decodes ${onGpu} of 48 frames on NVDEC`);
    if (onGpu !== 48) {
      await assert.rejects(VideoReader.open(clip, { device: 'cuda' }), (e) => e.code === 'NO_DEVICE' && /NVDEC cannot decode this/.test(e.message));
      const auto = await readBytes(clip, { device: 'auto', format: 'bgr24' });
      assert.equal(auto.info.device.type, 'cpu');
      assert.match(auto.info.device.fallbackReason, /NVDEC cannot decode this/);
      assert.ok(auto.bytes.equals(cpu.bgr24), `${name}: 'auto' after the NVDEC fallback differs from the CLI's CPU decode`);
      return;
    }
    // NVDEC's NV12 is split into yuv420p before any RGB conversion: the
    // bytes of the CPU path in every format
    for (const format of ['yuv420p', 'nv12', 'gray', 'bgr24', 'rgb24']) {
      const gpu = await readBytes(clip, { device: 'cuda', format });
      assert.equal(gpu.info.device.type, 'cuda', JSON.stringify(gpu.info.device));
      assert.equal(gpu.info.decoder, name);
      assert.equal(gpu.count, 48);
      assert.ok(gpu.bytes.equals(cpu[format]), `${name} ${format}: GPU decode differs from the CLI's CPU decode`);
    }
  }, T);
}

test("reader 'auto' picks cuda and records no fallback", async () => {
  const clip = makeClip(join(dir, 'auto.mp4'), { size: '320x240', frames: 10 });
  const r = await VideoReader.open(clip, { device: 'auto' });
  assert.deepEqual(r.info.device.type, 'cuda');
  assert.equal(r.info.device.fallbackReason, undefined);
  await r.close();
}, T);

test('reader on cuda: a downscale runs on the GPU (scale_cuda), the same bytes as the CLI\'s scale_cuda', async () => {
  const clip = makeClip(join(dir, 'scale.mp4'), { size: '1280x720', frames: 12 });
  for (const interpolation of ['bicubic', 'bilinear', 'nearest', 'lanczos']) {
    const opts = { format: 'rgb24', resize: { width: 640, height: 360, interpolation } };
    const gpu = await readBytes(clip, { ...opts, device: 'cuda' });
    assert.equal(gpu.stats.gpuScaledFrames, 12, `${interpolation}: ${gpu.stats.lastError}`);
    // the CLI: scale_cuda on CUDA frames, one download, NV12 split into
    // yuv420p (as avcv does), then RGB
    const cli = cliFrames(clip, 'rgb24', { inputArgs: ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'],
      vf: `scale_cuda=640:360:interp_algo=${interpolation},hwdownload,format=nv12,format=yuv420p`, extra: ['-filter_threads', '1'] });
    assert.ok(gpu.bytes.equals(cli), `${interpolation}: differs from the CLI's scale_cuda`);
    const cpu = await readBytes(clip, { ...opts, device: 'cpu' });
    console.log(`# scale_cuda ${interpolation} vs swscale: PSNR ${psnr(gpu.bytes, cpu.bytes).toFixed(2)} dB`);
  }
}, T);

test('reader on cuda: crops, upscales and area interpolation scale on the CPU after the download (same as CPU)', async () => {
  const clip = makeClip(join(dir, 'scale-cpu.mp4'), { size: '640x360', frames: 6 });
  for (const opts of [
    { format: 'gray', resize: { width: 320, height: 180 }, crop: { x: 64, y: 32, width: 320, height: 240 } },
    { format: 'gray', resize: { width: 1280, height: 720 } },
    { format: 'gray', resize: { width: 320, height: 180, interpolation: 'area' } },
  ]) {
    const gpu = await readBytes(clip, { ...opts, device: 'cuda' });
    assert.equal(gpu.stats.gpuScaledFrames, 0);
    const cpu = await readBytes(clip, { ...opts, device: 'cpu' });
    assert.ok(gpu.bytes.equals(cpu.bytes), JSON.stringify(opts));
  }
}, T);

test('random access on cuda: frame(i) and frames() equal the CPU decode', async () => {
  const clip = makeClip(join(dir, 'ra.mp4'), { size: '320x240', frames: 90, extra: ['-g', '30', '-bf', '2'] });
  const all = cliFrames(clip, 'gray');
  const size = 320 * 240;
  const r = await VideoReader.open(clip, { device: 'cuda', format: 'gray' });
  try {
    for (const i of [0, 45, 13, 89, 31]) {
      const f = await r.frame(i);
      assert.ok(Buffer.from(f.data).equals(all.subarray(i * size, (i + 1) * size)), `frame ${i}`);
    }
    const batch = await r.frames([70, 2, 33]);
    for (const f of batch) assert.ok(Buffer.from(f.data).equals(all.subarray(f.index * size, (f.index + 1) * size)), `batch frame ${f.index}`);
  } finally {
    await r.close();
  }
}, T);

test('many readers on cuda at once share one device context and all decode', async () => {
  const clip = makeClip(join(dir, 'many.mp4'), { size: '320x240', frames: 30 });
  const ref = cliFrames(clip, 'gray');
  const results = await Promise.all(Array.from({ length: 8 }, () => readBytes(clip, { device: 'cuda', format: 'gray' })));
  for (const r of results) {
    assert.equal(r.info.device.type, 'cuda');
    assert.ok(r.bytes.equals(ref));
  }
}, T);

for (const [codec, probeName] of [['h264', 'h264'], ['hevc', 'hevc']]) {
  test(`writer on cuda (${codec}): ${codec}_nvenc, decodable, faithful (or NO_DEVICE, and 'auto' on the CPU, where the CLI cannot open NVENC)`, async () => {
    const src = makeClip(join(dir, `wsrc-${codec}.mkv`), { size: '640x360', frames: 60, codec: 'ffv1', pixFmt: 'yuv420p' });
    const out = join(dir, `w-${codec}.mp4`);
    const nvenc = cliNvenc(`${codec}_nvenc`);
    const opts = { width: 640, height: 360, fps: 25, codec, gop: 30 };
    if (!nvenc) {
      await assert.rejects(VideoWriter.open(out, { ...opts, device: 'cuda' }), (e) => e.code === 'NO_DEVICE' && /cannot open a session/.test(e.message));
      await assert.rejects(VideoWriter.open(out, { ...opts, codec: `${codec}_nvenc` }), (e) => e.code === 'NO_DEVICE' && /cannot open a session/.test(e.message));
    }
    const w = await VideoWriter.open(out, { ...opts, device: nvenc ? 'cuda' : 'auto', ...(nvenc ? { preset: 'p5', bitrate: 4_000_000 } : {}) });
    assert.equal(w.info.encoder, nvenc ? `${codec}_nvenc` : (codec === 'h264' ? 'libx264' : 'libx265'));
    assert.equal(w.info.device.type, nvenc ? 'cuda' : 'cpu');
    if (!nvenc) assert.match(w.info.device.fallbackReason, /cannot open a session on CUDA device 0/);
    const r = await VideoReader.open(src, { format: 'bgr24' });
    for await (const f of r) await w.write(f);
    await r.close();
    await w.close();
    const s = ffprobe(out).streams[0];
    assert.equal(s.codec_name, probeName);
    assert.equal(countFrames(out), 60);
    const p = psnr(cliFrames(out, 'yuv420p'), cliFrames(src, 'yuv420p'));
    assert.ok(p >= 35, `PSNR ${p.toFixed(2)} dB`);
  }, T);
}

test('transform on cuda: NVDEC in, NVENC out, audio kept (without NVENC: cuda refuses, auto encodes on the CPU)', async () => {
  const src = join(dir, 'tr-src.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
    '-frames:v', '50', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  const out = join(dir, 'tr-out.mp4');
  if (!NVENC) await assert.rejects(transform(src, out, (f) => f, { device: 'cuda', codec: 'h264' }), (e) => e.code === 'NO_DEVICE');
  const s = await transform(src, out, (f) => f, { device: NVENC ? 'cuda' : 'auto', codec: 'h264' });
  assert.equal(s.encoder, NVENC ? 'h264_nvenc' : 'libx264');
  assert.equal(s.device.type, 'cuda');  // the reader's: NVDEC decodes H.264 on every NVIDIA GPU with NVDEC
  const streams = ffprobe(out).streams;
  assert.deepEqual(streams.map((x) => x.codec_type).sort(), ['audio', 'video']);
  assert.equal(countFrames(out), 50);
}, T);

test('transcode on cuda (fn null): frames stay on the GPU, NVDEC -> scale_cuda -> NVENC, audio kept, close to the CPU scale (without NVENC: refused, and auto downloads)', async () => {
  const src = join(dir, 'pt-src.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
    '-frames:v', '50', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', src]);
  const same = join(dir, 'pt-same.mp4');
  if (!NVENC) {
    await assert.rejects(transform(src, same, null, { device: 'cuda', codec: 'h264', crf: 18 }), (e) => e.code === 'NO_DEVICE' && /h264_nvenc/.test(e.message));
    const s = await transform(src, same, null, { device: 'auto', codec: 'h264', crf: 18, resize: { width: 640, height: 360 } });
    assert.equal(s.path, 'native');
    assert.equal(s.encoder, 'libx264');
    assert.equal(s.device.type, 'cuda');
    assert.match(s.passthroughReason, /not NVENC/);
    assert.equal(countFrames(same), 50);
    assert.deepEqual(ffprobe(same).streams.map((x) => x.codec_type).sort(), ['audio', 'video']);
    return;
  }
  // same size, required passthrough
  const s1 = await transform(src, same, null, { device: 'cuda', codec: 'h264', gpuPassthrough: true, crf: 18 });
  assert.equal(s1.path, 'gpu-passthrough', JSON.stringify(s1));
  assert.equal(s1.encoder, 'h264_nvenc');
  assert.equal(s1.device.type, 'cuda');
  assert.equal(countFrames(same), 50);
  assert.deepEqual(ffprobe(same).streams.map((x) => x.codec_type).sort(), ['audio', 'video']);
  const p1 = psnr(cliFrames(same, 'yuv420p'), cliFrames(src, 'yuv420p'));
  assert.ok(p1 >= 35, `passthrough 1280x720 PSNR ${p1}`);
  // downscale on the GPU: against the CLI's CPU bicubic scale of the source
  const small = join(dir, 'pt-small.mp4');
  const s2 = await transform(src, small, null, { device: 'cuda', codec: 'h264', resize: { width: 640, height: 360 }, crf: 18 });
  assert.equal(s2.path, 'gpu-passthrough', JSON.stringify(s2));
  const v = ffprobe(small).streams.find((x) => x.codec_type === 'video');
  assert.deepEqual([v.width, v.height], [640, 360]);
  const p2 = psnr(cliFrames(small, 'yuv420p'), cliFrames(src, 'yuv420p', { vf: 'scale=640:360:flags=bicubic' }));
  assert.ok(p2 >= 30, `passthrough 640x360 PSNR ${p2}`);
}, T);

test('transcode with NVDEC and a CPU encoder downloads the frames, says why, and gpuPassthrough: true refuses it', async () => {
  const src = makeClip(join(dir, 'pt-cpu.mp4'), { size: '640x360', frames: 30 });
  const out = join(dir, 'pt-cpu-out.mkv');
  // 'auto': NVDEC for the reader; ffv1 has no NVENC, so the writer stays on the CPU
  const s = await transform(src, out, null, { device: 'auto', codec: 'ffv1' });
  assert.equal(s.path, 'native');
  assert.equal(s.device.type, 'cuda');
  assert.match(s.passthroughReason, /not NVENC/);
  // NVDEC is exact: the lossless output is the CPU decode
  assert.ok(cliFrames(out, 'yuv420p').equals(cliFrames(src, 'yuv420p')), 'NVDEC -> ffv1 differs from the CPU decode');
  await assert.rejects(transform(src, join(dir, 'pt-no.mkv'), null, { device: 'auto', codec: 'ffv1', gpuPassthrough: true }),
    (e) => e.code === 'NO_DEVICE' && /not NVENC/.test(e.message));
  if (!NVENC) return;
  const off = await transform(src, join(dir, 'pt-off.mp4'), null, { device: 'cuda', codec: 'h264', gpuPassthrough: false });
  assert.equal(off.path, 'native');
  assert.equal(off.encoder, 'h264_nvenc');
  assert.match(off.passthroughReason, /gpuPassthrough is false/);
}, T);

test('ladder on cuda: NVDEC decodes once, NVENC encodes every rendition, IDRs at the same frames (without NVENC: cuda refused before any file, auto on x264)', async () => {
  const src = makeClip(join(dir, 'ladder-src.mp4'), { size: '1280x720', frames: 150, rate: 30 });
  const out = join(dir, 'ladder-cuda');
  const opts = { renditions: [{ height: 720 }, { height: 360 }], segmentDuration: 1, audio: false };
  if (!NVENC) {
    await assert.rejects(ladder(src, out, { ...opts, device: 'cuda' }), (e) => e.code === 'NO_DEVICE');
    assert.equal(spawnSync('ls', [out]).status === 0, false, 'the refused ladder left its folder');
  }
  const r = await ladder(src, out, { ...opts, device: NVENC ? 'cuda' : 'auto' });
  assert.equal(r.device.type, 'cuda');
  assert.deepEqual(r.renditions.map((x) => x.encoder), NVENC ? ['h264_nvenc', 'h264_nvenc'] : ['libx264', 'libx264']);
  assert.equal(r.framesIn, 150);
  // every segment of every rendition starts with a keyframe, at the same times (ffprobe of init + segments)
  const starts = r.renditions.map((x) => {
    const joined = join(dir, `ladder-${x.name}.mp4`);
    ffmpeg(['-i', join(out, x.playlist), '-c', 'copy', joined]);
    return ffprobe(joined, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time,key_frame']).frames.filter((f) => f.key_frame === 1).map((f) => f.pts_time);
  });
  assert.ok(starts[0].length >= r.segmentStarts.length, `${starts[0].length} keyframes for ${r.segmentStarts.length} segments`);
  assert.deepEqual(starts[1], starts[0]);
  console.log(`# ladder on cuda: ${r.renditions.map((x) => `${x.name} ${x.codecs} ${x.bandwidth}`).join('; ')}; ${r.wallTime.toFixed(2)} s`);
}, T);
