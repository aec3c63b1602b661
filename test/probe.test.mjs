// probe() against ffprobe -of json -show_format -show_streams (the independent
// reference) for files made at test time with the ffmpeg CLI.
import { describe, it, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probe } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe } from './helpers.mjs';

const dir = tempDir('avcv-probe-');
const path = (name) => join(dir, name);
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const TYPES = { video: 'video', audio: 'audio', subtitle: 'subtitle', data: 'data', attachment: 'attachment' };

/** "a/b" or "a:b" -> { num, den, value } as avcv reports rationals (value 0 when den is 0). */
function rational(str) {
  const [num, den] = str.split(/[/:]/).map(Number);
  return { num, den, value: den ? num / den : 0 };
}

/** ffprobe numeric string -> number, absent -> null. */
const num = (v) => (v === undefined ? null : Number(v));

function assertClose(actual, expected, what, tol = 1e-6) {
  if (expected === null) {
    assert.equal(actual, null, `${what}: expected null (ffprobe has none), got ${actual}`);
    return;
  }
  assert.equal(typeof actual, 'number', `${what}: expected a number, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} != ffprobe ${expected} (tol ${tol})`);
}

let pixFmtDepths;
/** Bit depth of a pixel format's first component, from ffprobe -show_pixel_formats. */
function pixFmtDepth(name) {
  if (!pixFmtDepths) {
    const j = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_pixel_formats'], { maxBuffer: 1 << 26 }).toString());
    pixFmtDepths = new Map(j.pixel_formats.map((p) => [p.name, p.components?.[0]?.bit_depth]));
  }
  return pixFmtDepths.get(name);
}

function countFrames(file, index) {
  const j = ffprobe(file, ['-count_frames', '-select_streams', String(index), '-show_entries', 'stream=nb_read_frames']);
  return Number(j.streams[0].nb_read_frames);
}

/** Format-level fields. */
function checkFormat(p, f) {
  assert.equal(p.format, f.format_name);
  assert.equal(p.formatLongName, f.format_long_name);
  assertClose(p.duration, num(f.duration), 'format duration');
  assertClose(p.startTime, num(f.start_time), 'format start_time');
  assert.equal(p.bitRate, num(f.bit_rate), 'format bit_rate');
  assert.equal(p.size, num(f.size), 'format size');
  assert.deepEqual(p.tags, f.tags ?? {}, 'format tags');
  assert.equal(p.streams.length, f.nb_streams);
}

/** Stream-level fields common to all types, then video/audio specifics. */
function checkStream(file, s, r) {
  const what = `stream #${r.index}`;
  assert.equal(s.index, r.index);
  // ffprobe omits what it does not know: null here, never 'unknown'
  assert.equal(s.type, TYPES[r.codec_type] ?? null, `${what} type`);
  assert.equal(s.codec, r.codec_name ?? null, `${what} codec`);
  assert.equal(s.codecLongName, r.codec_long_name, `${what} codec_long_name`);
  // ffprobe prints the profile's name, or its number when it has no name; it omits an unknown one
  assert.equal(s.profile, r.profile ?? null, `${what} profile`);
  assert.equal(s.bitRate, num(r.bit_rate), `${what} bit_rate`);
  assert.deepEqual(s.timeBase, rational(r.time_base), `${what} time_base`);
  assertClose(s.startTime, num(r.start_time), `${what} start_time`);
  assertClose(s.duration, num(r.duration), `${what} duration`);
  assert.equal(s.nbFrames, num(r.nb_frames), `${what} nb_frames`);
  assert.deepEqual(s.tags, r.tags ?? {}, `${what} tags`);

  if (r.codec_type === 'video') {
    assert.equal(s.width, r.width, `${what} width`);
    assert.equal(s.height, r.height, `${what} height`);
    assert.equal(s.pixelFormat, r.pix_fmt ?? null, `${what} pix_fmt`);
    const depth = r.bits_per_raw_sample !== undefined ? Number(r.bits_per_raw_sample) : pixFmtDepth(r.pix_fmt);
    assert.equal(s.bitDepth, depth, `${what} bit depth`);
    // ffprobe omits these when unspecified
    assert.equal(s.colorRange, r.color_range ?? null, `${what} color_range`);
    assert.equal(s.colorSpace, r.color_space ?? null, `${what} color_space`);
    assert.equal(s.colorPrimaries, r.color_primaries ?? null, `${what} color_primaries`);
    assert.equal(s.colorTransfer, r.color_transfer ?? null, `${what} color_transfer`);
    const avg = rational(r.avg_frame_rate);
    const base = rational(r.r_frame_rate);
    assert.deepEqual(s.avgFrameRate, avg, `${what} avg_frame_rate`);
    assert.deepEqual(s.baseFrameRate, base, `${what} r_frame_rate`);
    assert.equal(s.fps, avg.value || base.value, `${what} fps`);
    const rot = (r.side_data_list ?? []).find((d) => d.rotation !== undefined);
    assert.equal(s.rotation, rot ? Number(rot.rotation) : null, `${what} rotation`);
    if (r.nb_frames !== undefined) {
      assert.equal(s.frameCount, Number(r.nb_frames), `${what} frameCount`);
      assert.equal(s.frameCountExact, true, `${what} frameCountExact`);
    } else {
      // no container count: an estimate (duration x fps), within a frame of the decoded count
      assert.equal(s.frameCountExact, false, `${what} frameCountExact`);
      assert.equal(typeof s.frameCount, 'number', `${what} frameCount`);
      const decoded = countFrames(file, r.index);
      assert.ok(Math.abs(s.frameCount - decoded) <= 1, `${what} estimated frameCount ${s.frameCount} vs ${decoded} decoded`);
    }
  } else if (r.codec_type === 'audio') {
    assert.equal(s.sampleRate, Number(r.sample_rate), `${what} sample_rate`);
    assert.equal(s.channels, r.channels, `${what} channels`);
    assert.equal(s.channelLayout, r.channel_layout ?? null, `${what} channel_layout`);
    assert.equal(s.sampleFormat, r.sample_fmt ?? null, `${what} sample_fmt`);
  }
}

const FILES = [
  {
    name: 'mp4: H.264 + AAC',
    file: 'h264-aac.mp4',
    make: (out) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', out]),
    streams: ['video', 'audio'],
  },
  {
    name: 'mkv: VP9 + Opus (stereo), 30000/1001 fps',
    file: 'vp9-opus.mkv',
    make: (out) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30000/1001', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '1', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', '-ac', '2', out]),
    streams: ['video', 'audio'],
  },
  {
    name: 'webm: VP8 + Vorbis',
    file: 'vp8-vorbis.webm',
    make: (out) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', '1', '-c:v', 'libvpx', '-c:a', 'libvorbis', out]),
    streams: ['video', 'audio'],
  },
  {
    name: 'mp4 with container and stream tags',
    file: 'tags.mp4',
    make: (out) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '0.4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
      '-metadata', 'title=Golden title: ünïcode ✓', '-metadata', 'artist=avcv tests', '-metadata', 'comment=a=b;c',
      '-metadata:s:v:0', 'language=fra', '-metadata:s:v:0', 'handler_name=My handler', out]),
    streams: ['video'],
    tags: { title: 'Golden title: ünïcode ✓', artist: 'avcv tests', comment: 'a=b;c' },
  },
  {
    name: 'mkv: 10-bit HEVC, full range, BT.709 tags',
    file: 'hevc10.mkv',
    make: (out) => ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '0.4', '-c:v', 'libx265', '-x265-params', 'log-level=error',
      '-pix_fmt', 'yuv420p10le', '-color_range', 'pc', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', out]),
    streams: ['video'],
  },
  {
    name: 'mp4 with a display matrix (rotate=90)',
    file: 'rotated.mp4',
    make: (out) => {
      const src = `${out}.src.mp4`;
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=25', '-t', '0.2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', src]);
      ffmpeg(['-i', src, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', out]);
    },
    streams: ['video'],
  },
];

for (const c of FILES) {
  describe(`probe: ${c.name}`, () => {
    const file = path(c.file);
    let ref;
    beforeAll(() => {
      c.make(file);
      ref = ffprobe(file, ['-show_format', '-show_streams']);
      // the fixture is what it claims to be
      assert.deepEqual(ref.streams.map((s) => s.codec_type), c.streams);
    });

    it('format fields equal ffprobe -show_format', async () => {
      checkFormat(await probe(file), ref.format);
      if (c.tags) {
        const p = await probe(file);
        for (const [k, v] of Object.entries(c.tags)) assert.equal(p.tags[k], v, `tag ${k}`);
      }
    });

    it('stream fields equal ffprobe -show_streams', async () => {
      const p = await probe(file);
      assert.equal(p.streams.length, ref.streams.length);
      for (let i = 0; i < ref.streams.length; i++) checkStream(file, p.streams[i], ref.streams[i]);
    });

    it('sample_aspect_ratio equals ffprobe', async () => {
      const p = await probe(file);
      for (const r of ref.streams.filter((s) => s.codec_type === 'video')) {
        const want = r.sample_aspect_ratio ? rational(r.sample_aspect_ratio) : { num: 0, den: 1, value: 0 };
        assert.deepEqual(p.streams[r.index].sampleAspectRatio, want, `stream #${r.index} sample_aspect_ratio`);
      }
    });

    it('`avcv probe <file> --json` prints the same JSON as probe()', async () => {
      const out = execFileSync(process.execPath, [CLI, 'probe', file, '--json'], { encoding: 'utf8' });
      assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(await probe(file))));
    });
  });
}

describe('probe: frame counts', () => {
  it('frameCountExact is true exactly when ffprobe has nb_frames (mp4 yes, mkv no)', async () => {
    const mp4 = path('count.mp4');
    const mkv = path('count.mkv');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '17', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4]);
    ffmpeg(['-i', mp4, '-c', 'copy', mkv]);
    for (const file of [mp4, mkv]) {
      const r = ffprobe(file).streams[0];
      const s = (await probe(file)).streams[0];
      assert.equal(s.frameCountExact, r.nb_frames !== undefined, `${file}: frameCountExact`);
      const decoded = countFrames(file, 0);
      assert.equal(decoded, 17);
      if (s.frameCountExact) assert.equal(s.frameCount, decoded);
      else assert.ok(Math.abs(s.frameCount - decoded) <= 1, `${file}: estimate ${s.frameCount} vs ${decoded}`);
    }
    assert.equal((await probe(mkv)).streams[0].frameCountExact, false);
    assert.equal((await probe(mp4)).streams[0].frameCountExact, true);
  });
});
