// AudioReader's `filter` option against the ffmpeg CLI's -af with the same
// output rate, channels and sample format (-f f32le / s16le): byte for byte.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AudioReader, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg } from './helpers.mjs';

const dir = tempDir('avcv-afilter-');
const SOURCES = {
  aac: 'st.m4a',
  mp3: 'st.mp3',
  pcm: 'st.wav',
};

beforeAll(() => {
  const gen = ['-f', 'lavfi', '-i', 'aevalsrc=sin(440*2*PI*t)|0.5*sin(660*2*PI*t)+0.1*sin(3*PI*t):s=44100:d=3'];
  ffmpeg([...gen, '-c:a', 'aac', join(dir, SOURCES.aac)]);
  ffmpeg([...gen, '-c:a', 'libmp3lame', join(dir, SOURCES.mp3)]);
  ffmpeg([...gen, '-c:a', 'pcm_s16le', join(dir, SOURCES.pcm)]);
});

async function readAllChunks(file, options) {
  const r = await AudioReader.open(file, options);
  const parts = [];
  try {
    for await (const c of r) parts.push(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength));
  } finally {
    await r.close();
  }
  return { info: r.info, data: Buffer.concat(parts) };
}

const cli = (file, graph, rate, channels, fmt) => ffmpeg(['-i', file, '-af', graph, '-ar', String(rate), '-ac', String(channels), '-f', fmt, '-']);

const GRAPHS = ['volume=0.5', 'atempo=1.25', 'aresample=16000', 'pan=mono|c0=0.5*c0+0.5*c1', 'loudnorm=I=-16:TP=-1.5:LRA=11', 'highpass=f=300,lowpass=f=3000'];

describe.each(Object.keys(SOURCES))('%s', (kind) => {
  test.each(GRAPHS)('%s equals the CLI\'s -af', async (graph) => {
    const file = join(dir, SOURCES[kind]);
    const got = await readAllChunks(file, { filter: graph });
    assert.equal(got.info.sampleRate, 44100, 'the source\'s rate (a graph that changes it is resampled back)');
    assert.equal(got.info.channels, graph.startsWith('pan=mono') ? 1 : 2, 'the graph\'s channels');
    const ref = cli(file, graph, 44100, got.info.channels, 'f32le');
    assert.ok(got.data.equals(ref), `${graph}: ${got.data.length} bytes vs the CLI's ${ref.length}`);
  });
});

test('with sampleRate, channels and s16: as the CLI\'s -af ... -ar -ac -f s16le', async () => {
  const file = join(dir, SOURCES.aac);
  const got = await readAllChunks(file, { filter: 'volume=2,atempo=0.8', sampleRate: 22050, channels: 1, format: 's16' });
  assert.ok(got.data.equals(cli(file, 'volume=2,atempo=0.8', 22050, 1, 's16le')));
});

test('samplesAt counts positions on the graph\'s output', async () => {
  const file = join(dir, SOURCES.pcm);
  const graph = 'atempo=2';
  const ref = cli(file, graph, 44100, 2, 'f32le');
  const all = new Float32Array(ref.buffer, ref.byteOffset, ref.length / 4);
  const r = await AudioReader.open(file, { filter: graph });
  try {
    const got = await r.samplesAt(0.5, 1.0); // samples [22050, 44100) of the 1.5 s the graph gives
    assert.equal(got.samples, 22050);
    assert.deepEqual(Array.from(got.data), Array.from(all.subarray(22050 * 2, 44100 * 2)));
  } finally {
    await r.close();
  }
});

describe('errors', () => {
  const file = () => join(dir, SOURCES.aac);
  test('a file-opening filter is refused unless allowNestedInputs', async () => {
    await assert.rejects(AudioReader.open(file(), { filter: `amovie=${file()}[b];[in][b]amix` }),
      (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED');
    const got = await readAllChunks(file(), { filter: `amovie=${file()}[b];[in][b]amix`, allowNestedInputs: true });
    const ref = cli(file(), `amovie=${file()}[b];[in][b]amix`, 44100, 2, 'f32le');
    assert.ok(got.data.equals(ref), 'amix with a movie source equals the CLI');
  });
  test.each([['nosuchaudio', /nosuchaudio/], ['hflip', /./], ['volume=abc', /volume/]])('%s: INVALID_FILTER', async (graph, re) => {
    await assert.rejects(AudioReader.open(file(), { filter: graph }), (e) => e instanceof AvcvError && e.code === 'INVALID_FILTER' && re.test(e.message));
  });
  test('a non-string filter: TypeError naming the option', async () => {
    await assert.rejects(AudioReader.open(file(), { filter: 5 }), (e) => e instanceof TypeError && /filter/.test(e.message));
  });
});
