// transform()'s videoFilter and audioFilter, natively (fn null) and with fn,
// against the ffmpeg CLI running the same -vf / -af. Video is written with
// a lossless codec (ffv1) so the decoded output must equal the CLI's filtered
// frames byte for byte; audio is re-encoded (AAC) by both, so it is compared
// by its signal (the CLI's own AAC output is the reference) and by ffprobe.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { transform, measureLoudness, AvcvError } from '../dist/index.mjs';
import { spawnSync } from 'node:child_process';
import { tempDir, ffmpeg, ffprobe, cliFrames, assertExact } from './helpers.mjs';

const dir = tempDir('avcv-tfilter-');
const src = join(dir, 'av.mp4');
const W = 320;
const H = 240;

beforeAll(() => {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=2`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=2',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '2', '-c:a', 'aac', '-shortest', src]);
});

const pcm = (file) => {
  const b = ffmpeg(['-i', file, '-map', '0:a:0', '-f', 'f32le', '-ac', '1', '-']);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};
const rms = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
const streams = (file) => ffprobe(file, ['-show_streams']).streams;

describe('videoFilter', () => {
  test('fn null: the native transcode of -vf hflip,fps=10 equals the CLI\'s frames, at the graph\'s rate, audio kept', async () => {
    const out = join(dir, 'nat.mkv');
    const s = await transform(src, out, null, { videoFilter: 'hflip,fps=10', codec: 'ffv1' });
    assert.equal(s.path, 'native');
    assert.equal(s.framesOut, 20);
    const v = streams(out).find((x) => x.codec_type === 'video');
    assert.equal(v.r_frame_rate, '10/1');
    assert.ok(streams(out).some((x) => x.codec_type === 'audio'), 'the audio is kept');
    const got = ffmpeg(['-i', out, '-map', '0:v', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
    assertExact(got, cliFrames(src, 'yuv420p', { vf: 'hflip,fps=10' }), W * H * 1.5, 'native videoFilter');
  });

  test('with fn: fn gets the filtered frames (the graph\'s size), and the output equals the CLI\'s', async () => {
    const out = join(dir, 'js.mkv');
    const sizes = new Set();
    const s = await transform(src, out, (f) => {
      sizes.add(`${f.width}x${f.height}`);
      return f;
    }, { videoFilter: 'transpose=1,setpts=2*PTS', format: 'yuv420p', codec: 'ffv1' });
    assert.equal(s.path, 'js');
    assert.deepEqual([...sizes], [`${H}x${W}`]);
    const got = ffmpeg(['-i', out, '-map', '0:v', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
    assertExact(got, cliFrames(src, 'yuv420p', { vf: 'transpose=1,setpts=2*PTS' }), W * H * 1.5, 'fn videoFilter');
    const v = streams(out).find((x) => x.codec_type === 'video');
    assert.ok(Math.abs(Number(v.duration ?? ffprobe(out, ['-show_format']).format.duration) - 4) < 0.2, 'setpts=2*PTS doubles the duration');
  });

  test('a graph that opens files is refused before anything is written', async () => {
    const out = join(dir, 'evil.mkv');
    await assert.rejects(transform(src, out, null, { videoFilter: `movie=${src}[m];[in][m]overlay` }),
      (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED');
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('evil')), []);
  });
});

describe('audioFilter', () => {
  // audio shorter than the video: nothing is trimmed at the video's end, so
  // the whole re-encoded track can be compared with the CLI's
  const short = join(dir, 'short-audio.mp4');
  beforeAll(() => {
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=25:duration=2`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=1.5',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', short]);
  });
  test.each([
    ['volume=0.5', null], ['volume=0.5', (f) => f], ['highpass=f=200,lowpass=f=3000', null],
    ['loudnorm=I=-16:TP=-1.5:LRA=11', null], ['aresample=48000', (f) => f],
  ])('%s (fn %p): the AAC track equals the CLI\'s -af ... -ar <source rate> -c:a aac -b:a 128k', async (graph, fn) => {
    const out = join(dir, `af-${fn ? 'js' : 'nat'}.mp4`);
    const s = await transform(short, out, fn, { audioFilter: graph });
    assert.equal(s.audio, 'encode');
    const cli = join(dir, 'af-cli.mp4');
    ffmpeg(['-i', short, '-c:v', 'copy', '-af', graph, '-ar', '44100', '-c:a', 'aac', '-b:a', '128k', cli]);
    const ours = pcm(out);
    const ref = pcm(cli);
    assert.equal(ours.length, ref.length);
    assert.ok(Buffer.from(ours.buffer).equals(Buffer.from(ref.buffer)), `${graph}: the decoded tracks differ`);
    if (graph === 'volume=0.5') assert.ok(Math.abs(rms(ours) / rms(pcm(short)) - 0.5) < 0.01, 'half the level');
  });

  test('a graph that changes the sample rate gets the source\'s rate back (loudnorm works at 192 kHz)', async () => {
    for (const graph of ['aresample=48000', 'loudnorm=I=-16:TP=-1.5:LRA=11']) {
      const out = join(dir, 'rate.mp4');
      await transform(src, out, null, { audioFilter: graph });
      const a = streams(out).find((x) => x.codec_type === 'audio');
      assert.equal(a.sample_rate, '44100', graph);
      const n = pcm(out).length;
      assert.ok(Math.abs(n - 2 * 44100) <= 2048, `${graph}: ${n} samples for 2 s`);
    }
  });

  test('errors: copy mode, bad graphs, file-opening filters; nothing left behind', async () => {
    const out = join(dir, 'bad.mp4');
    await assert.rejects(transform(src, out, null, { audioFilter: 'volume=2', audio: 'copy' }), (e) => e instanceof TypeError && /audioFilter/.test(e.message));
    await assert.rejects(transform(src, out, null, { audioFilter: 42 }), (e) => e instanceof TypeError && /audioFilter/.test(e.message));
    await assert.rejects(transform(src, out, null, { audioFilter: 'nosuchaudiofilter' }),
      (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && /nosuchaudiofilter/.test(e.message));
    await assert.rejects(transform(src, out, null, { audioFilter: 'hflip' }), (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER');
    await assert.rejects(transform(src, out, (f) => f, { audioFilter: `amovie=${src}[a];[in][a]amix` }),
      (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad') || f.includes('.tmp')), []);
  });
});

/** The ebur128 filter's summary of a file's audio (the CLI, independent of avcv): integrated loudness and true peak. */
function ebur128(file) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-i', file, '-map', '0:a:0', '-af', 'ebur128=peak=true', '-f', 'null', '-'], { encoding: 'utf8' });
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  return { integrated: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)[1]), truePeak: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)[1]) };
}

describe('audio.normalize: two-pass loudnorm', () => {
  const quiet = join(dir, 'quiet.mp4');
  beforeAll(() => {
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=8', '-f', 'lavfi', '-i',
      "aevalsrc='0.05*sin(440*2*PI*t)*(1+0.8*sin(0.5*2*PI*t))|0.03*sin(660*2*PI*t)+0.01*sin(90*2*PI*t)':s=48000:d=8",
      '-c:v', 'libx264', '-c:a', 'aac', '-shortest', quiet]);
  });

  test('measureLoudness agrees with ebur128 on the source', async () => {
    const m = await measureLoudness(quiet);
    const ref = ebur128(quiet);
    assert.ok(Math.abs(m.integrated - ref.integrated) <= 0.5, `loudnorm measured ${m.integrated}, ebur128 ${ref.integrated}`);
    for (const k of ['truePeak', 'range', 'threshold', 'offset']) assert.equal(typeof m[k], 'number');
  });

  test.each([[null, -16], [(f) => f, -14]])('fn %p: the output is within 0.5 LU of the target by ebur128, at the source\'s rate', async (fn, target) => {
    const out = join(dir, `norm-${target}.mp4`);
    const before = ebur128(quiet).integrated;
    const s = await transform(quiet, out, fn, { audio: { normalize: { integrated: target, truePeak: -1.5, range: 11 } } });
    assert.equal(s.audio, 'encode');
    const got = ebur128(out);
    assert.ok(Math.abs(before - target) > 5, 'the source is far from the target');
    assert.ok(Math.abs(got.integrated - target) <= 0.5, `${got.integrated} LUFS for a target of ${target}`);
    assert.ok(got.truePeak <= -1.5 + 0.5, `peak ${got.truePeak}`);
    assert.equal(streams(out).find((x) => x.codec_type === 'audio').sample_rate, '48000');
  });

  test('bad targets: RangeError/TypeError naming them', async () => {
    const out = join(dir, 'never.mp4');
    await assert.rejects(transform(quiet, out, null, { audio: { normalize: { integrated: 3 } } }), (e) => e instanceof RangeError && /integrated/.test(e.message));
    await assert.rejects(transform(quiet, out, null, { audio: { normalize: { loud: 1 } } }), (e) => e instanceof TypeError && /loud/.test(e.message));
    await assert.rejects(transform(quiet, out, null, { audio: { mode: 'copy', normalize: {} } }), (e) => e instanceof TypeError && /audio.mode/.test(e.message));
    assert.equal(existsSync(out), false);
  });
});
