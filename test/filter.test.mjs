// The reader's `filter` option (a libavfilter graph between decoding and the
// conversion), against the ffmpeg CLI (-vf ... -f rawvideo -pix_fmt X) for the
// bytes and ffprobe (a lavfi movie= source through the same graph) for the
// output size, time base and every frame's pts.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoReader, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, cliFrames, makeClip, assertExact } from './helpers.mjs';

const dir = tempDir('avcv-filter-');
const src = join(dir, 'src.mp4');
const W = 322; // not a multiple of 8 or 16: the paths that were wrong before
const H = 240;

beforeAll(() => {
  makeClip(src, { size: `${W}x${H}`, frames: 25, extra: ['-bf', '2', '-g', '10'] });
});

/** What libavfilter itself gives for the graph: ffprobe over a lavfi movie= source. */
function probeGraph(file, graph) {
  const args = ['-f', 'lavfi', '-show_entries', 'stream=width,height,time_base:frame=pts'];
  const j = ffprobe(`movie=${file},${graph}`, args);
  const [num, den] = j.streams[0].time_base.split('/').map(Number);
  return { width: j.streams[0].width, height: j.streams[0].height, timeBase: { num, den }, pts: j.frames.map((f) => Number(f.pts)) };
}

async function readFiltered(file, options) {
  const reader = await VideoReader.open(file, options);
  const data = [];
  const frames = [];
  try {
    for await (const f of reader) {
      data.push(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength));
      frames.push({ pts: f.pts, time: f.time, width: f.width, height: f.height });
    }
  } finally {
    await reader.close();
  }
  return { info: reader.info, data: Buffer.concat(data), frames };
}

const GRAPHS = [
  'hflip',
  'crop=100:80:11:7',
  'fps=10',
  'yadif',
  'eq=contrast=1.2:brightness=0.05',
  'transpose=1',
  'scale=160:-2:flags=lanczos',
  'setpts=0.5*PTS',
  'vflip,eq=saturation=1.5',
  'split[a][b];[a]hflip[c];[b][c]hstack',
];

describe('frames and timestamps equal the CLI and ffprobe', () => {
  test.each(GRAPHS)('%s', async (graph) => {
    const probe = probeGraph(src, graph);
    const got = await readFiltered(src, { filter: graph });
    assert.equal(got.info.width, probe.width);
    assert.equal(got.info.height, probe.height);
    assert.deepEqual(got.info.filter.timeBase, probe.timeBase);
    assert.equal(got.info.filter.graph, graph);
    assert.deepEqual(got.frames.map((f) => f.pts), probe.pts, 'pts (the graph time base) != ffprobe');
    for (const f of got.frames) assert.equal(f.time, (f.pts * probe.timeBase.num) / probe.timeBase.den);
    assertExact(got.data, cliFrames(src, 'bgr24', { vf: graph }), probe.width * probe.height * 3, graph);
  });
});

describe('output formats and resizing after the graph', () => {
  const graph = 'hflip,eq=contrast=1.3';
  test.each([['rgb24', 3], ['gray', 1], ['bgra', 4], ['yuv420p', 1.5]])('%s', async (format, bpp) => {
    // one filter thread on both sides: swscale's slices convert 4:2:0 edges differently per thread count
    const got = await readFiltered(src, { filter: graph, format, threads: 1 });
    const ref = cliFrames(src, format, { vf: graph, extra: ['-filter_threads', '1'] });
    assertExact(got.data, ref, W * H * bpp, `${graph} -> ${format}`);
  });

  test('resize and crop apply to the graph\'s output in one pass, as a scale filter after it does', async () => {
    const got = await readFiltered(src, { filter: 'transpose=2', crop: { x: 10, y: 20, width: 200, height: 150 }, resize: { width: 100 } });
    assert.equal(got.info.width, 100);
    assert.equal(got.info.height, 75);
    assert.deepEqual(got.info.crop, { x: 10, y: 20, width: 200, height: 150 });
    const ref = cliFrames(src, 'bgr24', { vf: 'transpose=2,crop=200:150:10:20,scale=100:75' });
    assertExact(got.data, ref, 100 * 75 * 3, 'transpose=2 + crop + resize');
  });

  test('chw layout: the planes of the CLI\'s interleaved frame', async () => {
    const got = await readFiltered(src, { filter: 'vflip', layout: 'chw' });
    const hwc = cliFrames(src, 'bgr24', { vf: 'vflip' });
    const n = W * H;
    const first = got.data.subarray(0, 3 * n);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < n; i += 997) assert.equal(first[c * n + i], hwc[i * 3 + c]);
    }
    assert.equal(got.data.length, hwc.length);
  });
});

test('a stream whose frame size changes mid-way: the graph is rebuilt and scaled back, as the CLI does', async () => {
  const a = join(dir, 'sc-a.h264');
  const b = join(dir, 'sc-b.h264');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '8', '-c:v', 'libx264', '-f', 'h264', a]);
  ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=160x120:rate=25', '-frames:v', '8', '-c:v', 'libx264', '-f', 'h264', b]);
  const file = join(dir, 'sizechange.h264');
  writeFileSync(file, Buffer.concat([readFileSync(a), readFileSync(b)]));
  const got = await readFiltered(file, { filter: 'hflip' });
  assert.equal(got.frames.length, 16);
  assertExact(got.data, cliFrames(file, 'bgr24', { vf: 'hflip' }), 320 * 240 * 3, 'size change');
});

test('autorotate puts the CLI\'s transpose in front of the graph', async () => {
  const file = join(dir, 'rot.mp4');
  ffmpeg(['-i', src, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file]);
  const got = await readFiltered(file, { filter: 'crop=100:200:0:0', autorotate: true });
  assert.equal(got.info.rotation, 270); // the tag rotate=90 is a display matrix of -90 degrees: 270 clockwise (ffprobe's rotation: -90)
  assert.equal(got.info.width, 100);
  assertExact(got.data, cliFrames(file, 'bgr24', { vf: 'crop=100:200:0:0' }), 100 * 200 * 3, 'autorotate + crop'); // the CLI autorotates by default
});

describe('random access', () => {
  test('per-frame graphs: frame(i) and frameAt(t) equal the frames read in order', async () => {
    const graph = 'hflip,eq=contrast=1.3,scale=200:-2';
    const seq = await readFiltered(src, { filter: graph });
    const fb = seq.info.frameBytes;
    const reader = await VideoReader.open(src, { filter: graph });
    try {
      assert.equal(reader.info.filter.randomAccess, true);
      assert.equal(reader.info.frameCount, 25);
      for (const i of [17, 3, 24, 0, 9]) {
        const f = await reader.frame(i);
        assertExact(Buffer.from(f.data), seq.data.subarray(i * fb, (i + 1) * fb), fb, `frame(${i})`);
        assert.equal(f.pts, seq.frames[i].pts);
      }
      const t = await reader.frameAt(0.5);
      assert.equal(t.index, 12);
      assertExact(Buffer.from(t.data), seq.data.subarray(12 * fb, 13 * fb), fb, 'frameAt(0.5)');
    } finally {
      await reader.close();
    }
  });

  test.each(['fps=10', 'yadif', 'setpts=0.5*PTS', 'crop=100:80:n:0', 'hflip,tmix=frames=3'])('%s: refused with FILTER_NOT_SEEKABLE', async (graph) => {
    const reader = await VideoReader.open(src, { filter: graph });
    try {
      assert.equal(reader.info.filter.randomAccess, false);
      assert.equal(reader.info.frameCount, null);
      assert.match(reader.info.filter.why, /./);
      for (const call of [() => reader.frame(1), () => reader.frameAt(0.2), () => reader.index()]) {
        await assert.rejects(call(), (e) => e instanceof AvcvError && e.code === 'FILTER_NOT_SEEKABLE' && e.message.includes(graph));
      }
    } finally {
      await reader.close();
    }
  });
});

describe('graphs that open files are refused unless allowNestedInputs', () => {
  const evil = join(dir, 'secret.txt');
  beforeAll(() => writeFileSync(evil, 'secret'));
  test.each([
    ['movie', () => `movie=${src}[m];[in][m]overlay`],
    ['subtitles', () => `subtitles=${evil}`],
    ['sendcmd', () => `sendcmd=f=${evil},hflip`],
    ['lut3d', () => `lut3d=${evil}`],
    ['zmq', () => 'zmq=bind_address=tcp\\\\://127.0.0.1\\\\:5555,hflip'],
    ['drawtext fontfile by position', () => `drawtext=${evil}:text=x`],
    ['drawtext textfile', () => `drawtext=text=x:textfile=${evil}`],
    ['psnr stats_file in a chain', () => `split[a][b];[a][b]psnr=stats_file=${evil}`],
  ])('%s', async (_name, graph) => {
    await assert.rejects(VideoReader.open(src, { filter: graph() }),
      (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED' && /allowNestedInputs/.test(e.message));
    assert.equal(readFileSync(evil, 'utf8'), 'secret');
  });

  test('allowed: a movie= overlay equals the CLI\'s', async () => {
    const graph = `movie=${src},scale=64:48[m];[in][m]overlay=10:10`;
    const got = await readFiltered(src, { filter: graph, allowNestedInputs: true });
    assertExact(got.data, cliFrames(src, 'bgr24', { vf: graph }), W * H * 3, 'movie overlay');
  });
});

describe('bad graphs', () => {
  test.each([
    ['nosuchfilter', /nosuchfilter/],
    ['eq=contrast=abc', /eq.*contrast=abc|contrast=abc.*eq/],
    ['hflip,', /./],
    ['anull', /audio|not/],
    ['crop=9999:9999', /crop/],
  ])('%s: INVALID_FILTER naming it', async (graph, re) => {
    await assert.rejects(VideoReader.open(src, { filter: graph }),
      (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && re.test(e.message));
  });

  test.each([[1], [''], ['   '], [{}], ['a\0b']])('filter %p: TypeError naming the option', async (v) => {
    await assert.rejects(VideoReader.open(src, { filter: v }), (e) => e instanceof TypeError && /filter/.test(e.message));
  });
});
