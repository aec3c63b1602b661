// AudioReader against the ffmpeg CLI: chunks, readAll() and samplesAt()
// equal `ffmpeg -i F [-ar R] [-ac C] -f f32le|s16le -` (slices of it at
// hand-computed sample indices), on AAC, MP3, Opus, PCM WAV and the audio of
// a video; chunk times from ffprobe's start_time; errors and lifetime.
import { test, describe, beforeAll, afterEach } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AudioReader, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, makeClip, mulberry32 } from './helpers.mjs';

const T = 60_000;
const dir = tempDir('avcv-audio-');
const STEREO = (rate) => ['-f', 'lavfi', '-i', `aevalsrc=sin(440*2*PI*t)|0.5*sin(660*2*PI*t):s=${rate}:d=3`];
const MONO48 = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3'];

// Debian's ffmpeg has libopus; the native encoder is the fallback
const encoders = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout;
const OPUS = /\blibopus\b/.test(encoders) ? ['-c:a', 'libopus'] : ['-c:a', 'opus', '-strict', '-2'];

const SOURCES = {
  'aac mono 48k (m4a)': { file: 'sine.m4a', args: [...MONO48, '-c:a', 'aac'] },
  'aac stereo 44.1k (m4a)': { file: 'st.m4a', args: [...STEREO(44100), '-c:a', 'aac'] },
  'mp3 stereo 44.1k': { file: 'st.mp3', args: [...STEREO(44100), '-c:a', 'libmp3lame'] },
  'opus stereo 48k (ogg)': { file: 'st.opus', args: [...STEREO(48000), ...OPUS] },
  'opus stereo 48k (webm)': { file: 'st.webm', args: [...STEREO(48000), ...OPUS] },
  'pcm s16 stereo 44.1k (wav)': { file: 'st.wav', args: [...STEREO(44100), '-c:a', 'pcm_s16le'] },
  'h264 + aac (mp4)': {
    file: 'av.mp4',
    args: ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', ...MONO48, '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2'],
  },
};
const path = (name) => join(dir, SOURCES[name].file);
let videoOnly;

// readers a test opened, closed after it (Node 20 has no `await using`)
const opened = [];
async function open(...args) {
  const r = await AudioReader.open(...args);
  opened.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r[Symbol.asyncDispose]()));
});

beforeAll(() => {
  for (const s of Object.values(SOURCES)) ffmpeg([...s.args, join(dir, s.file)]);
  videoOnly = makeClip(join(dir, 'video-only.mp4'), { size: '64x48', frames: 10 });
}, T);

/** The CLI's decoded audio: ffmpeg -i F [-ar R] [-ac C] -f f32le|s16le - */
function cli(file, { rate, channels, format = 'f32' } = {}) {
  const args = ['-i', file, '-map', '0:a:0'];
  if (rate) args.push('-ar', String(rate));
  if (channels) args.push('-ac', String(channels));
  return ffmpeg([...args, '-f', format === 'f32' ? 'f32le' : 's16le', '-']);
}

const bytesOf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function readChunks(reader) {
  const chunks = [];
  for await (const c of reader) chunks.push(c);
  return { chunks, bytes: Buffer.concat(chunks.map((c) => bytesOf(c.data))) };
}

/** ffprobe's stream start_time and sample rate / channels of the first audio stream. */
function probeAudio(file) {
  const s = ffprobe(file, ['-select_streams', 'a:0', '-show_streams']).streams[0];
  return { start: Number(s.start_time ?? 0), rate: Number(s.sample_rate), channels: s.channels };
}

/** The CLI's interleaved samples [first, last) of `channels` channels, as bytes. */
const slice = (ref, first, last, channels, bps = 4) => ref.subarray(first * channels * bps, last * channels * bps);

/** Planar (per channel, one after the other) from interleaved float32 bytes. */
function deinterleave(bytes, channels) {
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const n = f.length / channels;
  const out = new Float32Array(f.length);
  for (let j = 0; j < n; j++) for (let c = 0; c < channels; c++) out[c * n + j] = f[j * channels + c];
  return bytesOf(out);
}

describe.each(Object.keys(SOURCES))('%s', (name) => {
  test('f32 chunks equal the CLI byte for byte; info matches ffprobe', async () => {
    const p = probeAudio(path(name));
    const r = await open(path(name));
    assert.equal(r.info.sampleRate, p.rate);
    assert.equal(r.info.channels, p.channels);
    assert.equal(r.info.sourceSampleRate, p.rate);
    assert.equal(r.info.format, 'f32');
    assert.equal(r.info.layout, 'interleaved');
    const { chunks, bytes } = await readChunks(r);
    assert.ok(chunks.every((c) => c.data instanceof Float32Array && c.samples <= r.info.chunkSamples));
    const ref = cli(path(name));
    assert.equal(bytes.length, ref.length);
    assert.ok(bytes.equals(ref), 'samples differ from the CLI');
  }, T);

  test('s16 within 1 LSB of the CLI', async () => {
    const r = await open(path(name), { format: 's16' });
    const { chunks, bytes } = await readChunks(r);
    assert.ok(chunks.every((c) => c.data instanceof Int16Array));
    const ref = cli(path(name), { format: 's16' });
    assert.equal(bytes.length, ref.length);
    const a = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    const b = new Int16Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length));
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    assert.ok(max <= 1, `max difference ${max}`);
  }, T);

  test('resampled to 16 kHz mono and 22.05 kHz stereo equals the CLI -ar/-ac', async () => {
    for (const [rate, channels] of [[16000, 1], [22050, 2]]) {
      const r = await open(path(name), { sampleRate: rate, channels });
      assert.equal(r.info.sampleRate, rate);
      assert.equal(r.info.channels, channels);
      const { bytes } = await readChunks(r);
      const ref = cli(path(name), { rate, channels });
      assert.equal(bytes.length, ref.length, `${rate} Hz ${channels} ch`);
      assert.ok(bytes.equals(ref), `${rate} Hz ${channels} ch differs from the CLI`);
    }
  }, T);

  test('planar chunks are the CLI interleaved samples, deinterleaved chunk by chunk', async () => {
    const r = await open(path(name), { layout: 'planar', chunkSamples: 1000 });
    const C = r.info.channels;
    const ref = cli(path(name));
    const { chunks } = await readChunks(r);
    let index = 0;
    for (const c of chunks) {
      assert.equal(c.index, index);
      assert.ok(bytesOf(c.data).equals(deinterleave(slice(ref, index, index + c.samples, C), C)), `chunk at ${index}`);
      index += c.samples;
    }
    assert.equal(index * C * 4, ref.length);
  }, T);
});

describe('chunks, readAll and time', () => {
  test('chunk index/pts/time follow the sample count from ffprobe\'s start time; readAll is their concatenation', async () => {
    for (const name of ['mp3 stereo 44.1k', 'aac mono 48k (m4a)', 'opus stereo 48k (ogg)']) {
      const p = probeAudio(path(name));
      const r = await open(path(name), { chunkSamples: 3000 });
      assert.ok(Math.abs(r.info.startTime - p.start) < 1e-6, `${name}: startTime ${r.info.startTime} vs ffprobe ${p.start}`);
      const { chunks, bytes } = await readChunks(r);
      let before = 0;
      chunks.forEach((c, k) => {
        if (k < chunks.length - 1) assert.equal(c.samples, 3000);
        assert.equal(c.index, before);
        assert.ok(Math.abs(c.time - (p.start + before / p.rate)) < 1e-6, `${name} chunk ${k} time ${c.time}`);
        assert.equal(c.pts, Math.round(p.start * p.rate) + before);
        assert.equal(c.sampleRate, p.rate);
        before += c.samples;
      });
      assert.equal(r.stats.samplesRead, before);
      const all = await r.readAll();
      assert.equal(all.samples, before);
      assert.equal(all.index, 0);
      assert.ok(bytesOf(all.data).equals(bytes), `${name}: readAll differs from the chunks`);
    }
  }, T);

  test('readAll of a planar reader is whole-stream planar; the start/end window applies', async () => {
    const file = path('aac stereo 44.1k (m4a)');
    const ref = cli(file);
    const r = await open(file, { layout: 'planar' });
    const all = await r.readAll();
    assert.ok(bytesOf(all.data).equals(deinterleave(ref, 2)));
    // 0.5 s .. 1.25 s at 44.1 kHz, start time 0: samples [22050, 55125)
    const w = await open(file, { start: 0.5, end: 1.25 });
    const { chunks, bytes } = await readChunks(w);
    assert.equal(chunks[0].index, 22050);
    assert.equal(chunks[0].time, 0.5);
    assert.ok(bytes.equals(slice(ref, 22050, 55125, 2)));
    assert.ok(bytesOf((await w.readAll()).data).equals(bytes));
  }, T);

  test('readAll beyond maxSamples is a RangeError naming it', async () => {
    const r = await open(path('aac mono 48k (m4a)'), { maxSamples: 48000 });
    await assert.rejects(r.readAll(), (e) => e instanceof RangeError && /maxSamples/.test(e.message));
    await assert.rejects(r.samplesAt(0, 2), (e) => e instanceof RangeError && /maxSamples/.test(e.message));
    // within the limit it works
    assert.equal((await r.samplesAt(0, 0.5)).samples, 24000);
  }, T);
});

describe('samplesAt', () => {
  test('48 kHz: [1.0, 1.5) is samples [48000, 72000), and a start off any frame boundary', async () => {
    const file = path('aac mono 48k (m4a)');
    const ref = cli(file);
    const r = await open(file);
    const a = await r.samplesAt(1.0, 1.5);
    assert.equal(a.index, 48000);
    assert.equal(a.samples, 24000);
    assert.equal(a.time, 1);
    assert.ok(bytesOf(a.data).equals(slice(ref, 48000, 72000, 1)));
    // 2.0104 s * 48000 = 96499.2 -> 96499 (AAC frames are 1024 samples: 94 * 1024 = 96256)
    const b = await r.samplesAt(2.0104, 2.2);  // continues the previous decode
    assert.equal(b.index, 96499);
    assert.ok(bytesOf(b.data).equals(slice(ref, 96499, 105600, 1)));
    const c = await r.samplesAt(0.25, 0.3);  // before it: decoded from the start again
    assert.ok(bytesOf(c.data).equals(slice(ref, 12000, 14400, 1)));
    const tail = await r.samplesAt(2.9);  // to the end
    assert.ok(bytesOf(tail.data).equals(ref.subarray(139200 * 4)));
  }, T);

  test('mp3 counts from its start time (ffprobe start_time): [1.0, 1.5) at 44.1 kHz', async () => {
    const file = path('mp3 stereo 44.1k');
    const { start } = probeAudio(file);
    const first = Math.round((1.0 - start) * 44100);
    const last = Math.round((1.5 - start) * 44100);
    assert.equal(first, 42995);  // 0.025057 s of priming trimmed: 1105 samples
    const ref = cli(file);
    const r = await open(file);
    const a = await r.samplesAt(1.0, 1.5);
    assert.equal(a.index, first);
    assert.ok(bytesOf(a.data).equals(slice(ref, first, last, 2)));
  }, T);

  test('resampled and planar: 16 kHz mono [1.0, 1.5) is [16000, 24000) of the CLI -ar 16000 -ac 1', async () => {
    const file = path('opus stereo 48k (ogg)');
    const ref = cli(file, { rate: 16000, channels: 1 });
    const r = await open(file, { sampleRate: 16000, channels: 1 });
    assert.ok(bytesOf((await r.samplesAt(1.0, 1.5)).data).equals(slice(ref, 16000, 24000, 1)));
    const st = cli(file);
    const p = await open(file, { layout: 'planar' });
    const got = await p.samplesAt(0.75, 1.0);  // [36000, 48000) at 48 kHz
    assert.ok(bytesOf(got.data).equals(deinterleave(slice(st, 36000, 48000, 2), 2)));
  }, T);
});

describe('damaged input', () => {
  test("'skip' gives what the CLI gives and counts the damage; 'error' rejects", async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    // a faststart m4a cut in the middle: its sample table promises more
    const whole = join(dir, 'faststart.m4a');
    ffmpeg(['-i', path('aac stereo 44.1k (m4a)'), '-c', 'copy', '-movflags', '+faststart', whole]);
    const cut = join(dir, 'cut.m4a');
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    // an mp3 with bytes overwritten by a seeded generator
    const noisy = join(dir, 'noisy.mp3');
    const mp3 = Buffer.from(readFileSync(path('mp3 stereo 44.1k')));
    const rand = mulberry32(7);
    for (let i = 0; i < 200; i++) mp3[2000 + Math.floor(rand() * (mp3.length - 2000))] = Math.floor(rand() * 256);
    writeFileSync(noisy, mp3);
    // a failed decode carries libav's error's code (INVALID_DATA) where it has one, else DECODE
    for (const [file, expect] of [[cut, ['TRUNCATED']], [noisy, ['INVALID_DATA', 'DECODE']]]) {
      const r = await open(file);
      const { bytes: got } = await readChunks(r);
      assert.ok(got.equals(cli(file)), `${file}: differs from the CLI`);
      const s = r.stats;
      assert.ok(file === cut ? s.truncated : s.decodeErrors > 0, JSON.stringify(s));
      const e = await open(file, { onCorrupt: 'error' });
      await assert.rejects(readChunks(e), (err) => err instanceof AvcvError && expect.includes(err.code));
    }
  }, T);
});

describe('errors', () => {
  const named = (ctor, re) => (e) => {
    assert.ok(e instanceof ctor, `expected ${ctor.name}, got ${e?.constructor?.name}: ${e?.message}`);
    assert.match(e.message, re);
    return true;
  };
  const code = (c) => (e) => {
    assert.ok(e instanceof AvcvError, `expected AvcvError ${c}, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.code, c);
    return true;
  };

  test('a missing file is ENOENT; no audio, or stream naming a video stream, is NO_AUDIO_STREAM', async () => {
    await assert.rejects(AudioReader.open(join(dir, 'nope.m4a')), code('ENOENT'));
    await assert.rejects(AudioReader.open(videoOnly), code('NO_AUDIO_STREAM'));
    await assert.rejects(AudioReader.open(path('h264 + aac (mp4)'), { stream: 0 }), code('NO_AUDIO_STREAM'));
    await assert.rejects(AudioReader.open(path('h264 + aac (mp4)'), { stream: 7 }), code('NO_AUDIO_STREAM'));
    const r = await open(path('h264 + aac (mp4)'), { stream: 1 });
    assert.equal(r.info.stream.index, 1);
  }, T);

  test('bad options are TypeError/RangeError naming the option', async () => {
    const f = path('pcm s16 stereo 44.1k (wav)');
    await assert.rejects(AudioReader.open(f, { sampleRte: 16000 }), named(TypeError, /'sampleRte'/));
    await assert.rejects(AudioReader.open(f, { filtre: 'volume=2' }), named(TypeError, /'filtre'/));
    await assert.rejects(AudioReader.open(f, { sampleRate: '16000' }), named(TypeError, /sampleRate/));
    await assert.rejects(AudioReader.open(f, { sampleRate: 0 }), named(RangeError, /sampleRate/));
    await assert.rejects(AudioReader.open(f, { sampleRate: 16000.5 }), named(RangeError, /sampleRate/));
    await assert.rejects(AudioReader.open(f, { channels: 0 }), named(RangeError, /channels/));
    await assert.rejects(AudioReader.open(f, { layout: 'packed' }), named(TypeError, /layout/));
    await assert.rejects(AudioReader.open(f, { format: 'f64' }), named(TypeError, /format/));
    await assert.rejects(AudioReader.open(f, { start: -1 }), named(RangeError, /start/));
    await assert.rejects(AudioReader.open(f, { start: 2, end: 1 }), named(RangeError, /end/));
    await assert.rejects(AudioReader.open(f, { end: 'x' }), named(TypeError, /end/));
    await assert.rejects(AudioReader.open(f, { chunkSamples: 0 }), named(RangeError, /chunkSamples/));
    await assert.rejects(AudioReader.open(f, { maxSamples: -5 }), named(RangeError, /maxSamples/));
    await assert.rejects(AudioReader.open(f, { onCorrupt: 'ignore' }), named(TypeError, /onCorrupt/));
    await assert.rejects(AudioReader.open(f, { signal: {} }), named(TypeError, /signal/));
    await assert.rejects(AudioReader.open(f, { protocols: 'file' }), named(TypeError, /protocols/));
    await assert.rejects(AudioReader.open(42), named(TypeError, /source/));
    const r = await open(f);
    await assert.rejects(r.samplesAt('1'), named(TypeError, /start/));
    await assert.rejects(r.samplesAt(1, 0.5), named(RangeError, /end/));
    await assert.rejects(r.samplesAt(NaN), named(TypeError, /start/));
  }, T);

  test('a protocol not in the whitelist is refused', async () => {
    await assert.rejects(AudioReader.open('http://127.0.0.1:9/x.m4a'), code('PROTOCOL_NOT_ALLOWED'));
  }, T);

  test('reading after close is CLOSED; close is idempotent', async () => {
    const r = await AudioReader.open(path('aac mono 48k (m4a)'));
    assert.ok(await r.read());
    await r.close();
    await r.close();
    assert.equal(r.closed, true);
    await assert.rejects(r.read(), code('CLOSED'));
    await assert.rejects(r.readAll(), code('CLOSED'));
    await assert.rejects(r.samplesAt(0, 1), code('CLOSED'));
    assert.equal(typeof r.stats.framesDecoded, 'number');
  }, T);

  test('an AbortSignal aborts the open, reads and samplesAt with ABORTED', async () => {
    const file = path('aac stereo 44.1k (m4a)');
    await assert.rejects(AudioReader.open(file, { signal: AbortSignal.abort() }), code('ABORTED'));
    const ac = new AbortController();
    const r = await AudioReader.open(file, { signal: ac.signal, chunkSamples: 64, prefetch: 1 });
    assert.ok(await r.read());
    const pending = r.read();
    ac.abort();
    // the read in flight either had its chunk already or is aborted; nothing after it is read
    await pending.then(() => undefined, code('ABORTED'));
    await assert.rejects(r.read(), code('ABORTED'));
    await assert.rejects(r.samplesAt(0, 1), code('ABORTED'));
    await r.close();
    assert.equal(r.closed, true);
  }, T);
});
