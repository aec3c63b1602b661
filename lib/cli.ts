#!/usr/bin/env node
// The avcv command line, on commander (parsing, help, usage errors) and
// cli-progress (bars on a terminal). Conventions every command follows:
//   exit 0 done, 1 failed (the AvcvError code and message on stderr, a stack
//   only with --verbose), 2 usage error, 130 interrupted (Ctrl-C: no partial
//   output is left); --json prints JSON lines (progress, then the result) on
//   stdout; a bar is drawn only on a terminal, nothing in CI.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { AvcvError, cv, ladder, probe, remux, startWorker, transform, VideoReader, VideoWriter, versions } from './index';
import { writeAtomic } from './files';
import type { Frame } from './frame';
import type { AudioStreamInfo, VideoStreamInfo } from './probe';
import type { RemuxProgress, RemuxResult } from './remux';
import type { TransformProgress } from './progress';

/** Exit codes (documented in the README's CLI section). */
const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

function fmtDuration(s: number | null): string {
  return s === null ? 'unknown' : `${s.toFixed(3)} s`;
}

async function cmdProbe(file: string, opts: { json?: boolean }): Promise<number> {
  const p = await probe(file);
  if (opts.json) {
    console.log(JSON.stringify(p, null, 2));
    return EXIT.ok;
  }
  console.log(`${file}`);
  console.log(`  container  ${p.format} (${p.formatLongName})`);
  console.log(`  duration   ${fmtDuration(p.duration)}   bit rate ${p.bitRate ?? 'unknown'}   size ${p.size ?? 'unknown'} B`);
  for (const s of p.streams) {
    let line = `  #${s.index} ${(s.type ?? 'unknown').padEnd(8)} ${s.codec ?? 'unknown'}${s.profile ? ` (${s.profile})` : ''}`;
    if (s.type === 'video') {
      const v = s as VideoStreamInfo;
      line += `  ${v.width}x${v.height} ${v.pixelFormat ?? '?'} ${v.bitDepth}-bit  ${v.fps.toFixed(3)} fps` +
        `  ${v.frameCount ?? '?'} frames${v.frameCountExact ? '' : ' (estimated)'}` +
        (v.rotation ? `  rotation ${v.rotation}°` : '');
    } else if (s.type === 'audio') {
      const a = s as AudioStreamInfo;
      line += `  ${a.sampleRate} Hz ${a.channelLayout ?? `${a.channels} ch`} ${a.sampleFormat ?? '?'}`;
    }
    console.log(line);
  }
  return EXIT.ok;
}

function bar(done: number, total: number | null, fps: number): string {
  const width = 30;
  const frac = total ? Math.min(1, done / total) : 0;
  const fill = Math.round(frac * width);
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total ?? '?'} frames ${fps.toFixed(0)} fps`;
}

async function cmdDemo(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'avcv-demo-'));
  try {
    // 1. An embedded default input: libavfilter's testsrc2 and a sine tone
    //    through the lavfi device (no file needed), written with VideoWriter.
    const graph = 'testsrc2=size=1280x720:rate=30:duration=4';
    const source = join(dir, 'source.mp4');
    console.log(`avcv demo\n1. synthesising a 4 s 1280x720 clip with a 440 Hz tone -> ${source}`);
    const gen = await VideoReader.open(graph, { inputFormat: 'lavfi', format: 'bgr24' });
    const w = await VideoWriter.open(source, {
      width: gen.info.width, height: gen.info.height, fps: 30, codec: 'h264', preset: 'veryfast',
      audio: { from: 'sine=frequency=440:sample_rate=48000', inputFormat: 'lavfi', mode: 'encode' },
    });
    const hash = createHash('sha256');
    try {
      for await (const f of gen) {
        hash.update(f.data);
        await w.write(f);
      }
      const s = await w.close();
      console.log(`   ${s.frames} frames, ${s.encoder}, audio ${s.audioCodec}; first decoded shape [${gen.info.shape.join(', ')}]`);
      console.log(`   checksum of the generated frames (sha256): ${hash.digest('hex')}`);
    } finally {
      await gen.close();
      await w.abort();
    }

    // 2. transform(): decode -> a pixel operation -> encode, audio kept.
    const output = join(dir, 'output.mp4');
    console.log(`2. transform(): inverting the picture's left half, keeping the audio -> ${output}`);
    const tty = process.stdout.isTTY;
    const summary = await transform(source, output, (f) => {
      const row = f.width * 3;
      for (let y = 0; y < f.height; y++) {
        const o = y * row;
        for (let x = 0; x < row / 2; x++) f.data[o + x] = 255 - f.data[o + x];
      }
      return f;
    }, {
      preset: 'veryfast',
      onProgress: (p) => { if (tty) process.stdout.write(`\r   ${bar(p.frames, p.total, p.fps)}`); },
    });
    if (tty) process.stdout.write('\n');
    console.log(`   ${summary.framesIn} frames in, ${summary.framesOut} out, ${summary.encoder}, audio ${summary.audio} (${summary.audioCodec}), ${(summary.framesIn / summary.wallTime).toFixed(1)} fps`);

    // 3. Re-probe the output.
    const p = await probe(output);
    const v = p.streams.find((s) => s.type === 'video') as VideoStreamInfo | undefined;
    const a = p.streams.find((s) => s.type === 'audio') as AudioStreamInfo | undefined;
    const vd = v?.duration ?? 0;
    const ad = a?.duration ?? 0;
    const frame = v ? 1 / v.fps : 0;
    console.log('3. the output, re-probed:');
    console.log(`   video: ${v?.codec} ${v?.width}x${v?.height} ${v?.fps.toFixed(3)} fps, ${v?.frameCount} frames, ${vd.toFixed(3)} s`);
    console.log(`   audio kept: ${a ? `yes (${a.codec}, ${a.sampleRate} Hz, ${ad.toFixed(3)} s)` : 'NO'}`);
    const match = a !== undefined && Math.abs(vd - ad) <= frame;
    console.log(`   durations match within one frame: ${match ? 'yes' : 'NO'} (|${vd.toFixed(3)} - ${ad.toFixed(3)}| <= ${frame.toFixed(3)})`);
    return v && a && match && summary.framesOut === summary.framesIn ? EXIT.ok : EXIT.failed;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The libav protocols a URL typed on the command line needs (the user named it: it is trusted). */
function protocolsFor(url: string): string[] {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1].toLowerCase();
  switch (scheme) {
    case undefined: case 'file': return ['file'];
    case 'rtmp': return ['rtmp', 'tcp'];
    case 'rtmps': return ['rtmps', 'rtmp', 'tls', 'tcp'];
    case 'rtsp': return ['rtsp', 'rtp', 'udp', 'tcp'];
    case 'srt': return ['srt', 'udp'];
    case 'udp': return ['udp'];
    case 'tcp': return ['tcp'];
    case 'http': return ['http', 'tcp'];
    case 'https': return ['https', 'http', 'tls', 'tcp'];
    default: throw new InvalidArgumentError(`avcv does not know the '${scheme}' protocol`);
  }
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number of seconds above 0');
  return n;
}

interface Reporter {
  progress(p: RemuxProgress): void;
  done(r: RemuxResult): void;
  stop(): void;
}

/** JSON lines with --json; a bar on a terminal (stderr); else nothing. */
function reporter(json: boolean, total: number | null): Reporter {
  if (json) {
    return {
      progress: (p) => console.log(JSON.stringify({ event: 'progress', ...p })),
      done: (r) => console.log(JSON.stringify({ event: 'done', ...r })),
      stop: () => undefined,
    };
  }
  if (!process.stderr.isTTY) return { progress: () => undefined, done: () => undefined, stop: () => undefined };
  const b = new SingleBar({
    format: total ? ' {bar} {value}/{total} s | {packets} packets | {reconnects} reconnects' : ' {value} s | {packets} packets | {reconnects} reconnects',
    stream: process.stderr, hideCursor: true,
  }, Presets.shades_classic);
  b.start(total ?? 0, 0, { packets: 0, reconnects: 0 });
  return {
    progress: (p) => b.update(Math.round(p.seconds * 10) / 10, { packets: p.packets, reconnects: p.reconnects }),
    done: () => b.stop(),
    stop: () => b.stop(),
  };
}

/**
 * Ctrl-C: for a recording, the first stops it and keeps what was recorded
 * (as a recorder does), a second aborts; for the rest it aborts at once.
 * Aborted: no partial output, exit 130.
 */
function interrupts(graceful: boolean): { signal: AbortSignal; stop: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const stop = new AbortController();
  const onSigint = () => {
    if (graceful && !stop.signal.aborted) {
      process.stderr.write('\navcv: stopping (Ctrl-C again to abort without keeping it)\n');
      stop.abort();
    } else abort.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: abort.signal, stop: stop.signal, dispose: () => process.off('SIGINT', onSigint) };
}

async function runRemux(source: string, target: string, how: {
  duration?: number; json?: boolean; realtime?: boolean; loop?: boolean; reconnect?: boolean; graceful: boolean; live: boolean;
}): Promise<number> {
  const ints = interrupts(how.graceful);
  const rep = reporter(how.json ?? false, how.duration ?? null);
  try {
    const r = await remux(source, target, {
      input: {
        protocols: protocolsFor(source),
        // an HLS playlist opens its segments (the user named the URL)
        allowNestedInputs: /^https?:/i.test(source),
        ...(how.live ? { live: { reconnect: how.reconnect ? {} : false } } : {}),
      },
      output: { protocols: protocolsFor(target) },
      duration: how.duration, realtime: how.realtime, loop: how.loop,
      signal: ints.signal, stop: ints.stop, onProgress: (p) => rep.progress(p),
    });
    rep.done(r);
    if (!how.json) {
      console.log(`${r.target}: ${r.streams.join(', ')}, ${r.duration.toFixed(2)} s, ${r.packets} packets` +
        `${r.reconnects ? `, ${r.reconnects} reconnects` : ''}${r.loops ? `, ${r.loops} loops` : ''}`);
    }
    if (r.disconnected) {
      // the stream was lost for good: what was recorded is kept, and the exit says it failed
      console.error(`avcv: DISCONNECTED: ${r.disconnected} (the ${r.duration.toFixed(2)} s recorded are kept in ${r.target})`);
      return EXIT.failed;
    }
    return EXIT.ok;
  } catch (err) {
    rep.stop();
    if (ints.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    ints.dispose();
  }
}

/** '640x360', '640x' or 'x360' (one side keeps the aspect ratio). */
function size(v: string): { width?: number; height?: number } {
  const m = /^(\d*)x(\d*)$/.exec(v);
  if (!m || (!m[1] && !m[2])) throw new InvalidArgumentError('WxH, Wx or xH (e.g. 1280x720, 640x)');
  return { ...(m[1] ? { width: Number(m[1]) } : {}), ...(m[2] ? { height: Number(m[2]) } : {}) };
}

function rect(v: string): { x: number; y: number; width: number; height: number } {
  const n = v.split(',').map(Number);
  if (n.length !== 4 || !n.every((x) => Number.isInteger(x) && x >= 0)) throw new InvalidArgumentError('x,y,w,h in pixels (e.g. 0,0,640,360)');
  return { x: n[0], y: n[1], width: n[2], height: n[3] };
}

function integer(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('an integer');
  return n;
}

/** Frame progress: JSON lines with --json; a bar on a terminal (stderr), started at the first report; else nothing. */
function frameProgress(json: boolean): { progress(p: TransformProgress): void; stop(): void } {
  const b = !json && process.stderr.isTTY
    ? new SingleBar({ format: ' {bar} {value}/{total} frames | {fps} fps | eta {eta_s} s', stream: process.stderr, hideCursor: true }, Presets.shades_classic)
    : null;
  let started = false;
  return {
    progress: (p) => {
      if (json) console.log(JSON.stringify({ event: 'progress', ...p }));
      else if (b) {
        if (!started) b.start(p.total ?? 0, 0, { fps: 0 });
        started = true;
        b.update(p.frames, { fps: Math.round(p.fps) });
      }
    },
    stop: () => b?.stop(),
  };
}

async function cmdTransform(input: string, output: string, o: {
  resize?: { width?: number; height?: number }; crop?: { x: number; y: number; width: number; height: number }; filter?: string;
  codec?: string; crf?: number; preset?: string; device?: string; audio: boolean; json?: boolean;
  module?: string; workers?: number; chunkDuration?: number; redis?: string; queue?: string;
}): Promise<number> {
  if (!o.module && (o.workers !== undefined || o.chunkDuration !== undefined || o.redis || o.queue)) {
    throw new UsageError('--workers, --chunk-duration, --redis and --queue need --module (the frame function runs on workers)');
  }
  if (o.module && o.crop) throw new UsageError('--crop applies to the native transcode; with --module crop in the frame function or use --filter crop=w:h:x:y');
  if (o.workers !== undefined && o.redis) throw new UsageError('--workers runs chunks on this machine, --redis on `avcv worker` processes: give one');
  const ints = interrupts(false);
  const bar = frameProgress(o.json ?? false);
  try {
    const s = await transform(input, output, o.module ?? null, {
      ...(o.module ? {
        ...(o.redis ? { queue: { connection: o.redis, ...(o.queue ? { name: o.queue } : {}) } } : { workers: o.workers }),
        ...(o.chunkDuration !== undefined ? { chunkDuration: o.chunkDuration } : {}),
      } : {}),
      // a crop is libavfilter's crop, ahead of the user's graph (transcoding has no frame-level crop)
      ...(o.resize ? { resize: o.resize } : {}),
      ...(o.crop || o.filter ? { videoFilter: [o.crop ? `crop=${o.crop.width}:${o.crop.height}:${o.crop.x}:${o.crop.y}` : '', o.filter ?? ''].filter(Boolean).join(',') } : {}),
      ...(o.codec ? { codec: o.codec } : {}), ...(o.crf !== undefined ? { crf: o.crf } : {}), ...(o.preset ? { preset: o.preset } : {}),
      ...(o.device ? { device: o.device as 'cpu' } : {}), audio: o.audio ? 'auto' : 'none', signal: ints.signal,
      onProgress: bar.progress,
    });
    bar.stop();
    if (o.json) console.log(JSON.stringify({ event: 'done', ...s }));
    else console.log(`${s.output}: ${s.framesOut} frames, ${s.encoder}, audio ${s.audio}${s.audioCodec ? ` (${s.audioCodec})` : ''}, ${(s.framesIn / s.wallTime).toFixed(1)} fps${s.chunks ? `, ${s.chunks} chunks` : ''}`);
    return EXIT.ok;
  } catch (err) {
    bar.stop();
    if (ints.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    ints.dispose();
  }
}

async function cmdWorker(o: { redis: string; concurrency?: number; queue?: string; lockDuration?: number; json?: boolean }): Promise<number> {
  const w = await startWorker({
    connection: o.redis, ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.queue ? { name: o.queue } : {}),
    ...(o.lockDuration !== undefined ? { lockDuration: o.lockDuration } : {}),
    onEvent: (e) => {
      if (o.json) console.log(JSON.stringify(e));
      else {
        const what = e.kind === 'chunk' ? `chunk ${e.chunk} of ${e.output}` : `stitch of ${e.output}`;
        if (e.event === 'start') console.log(`${what}: started`);
        else if (e.event === 'done') console.log(e.cached ? `${what}: done (an earlier try's result)` : `${what}: done in ${e.seconds.toFixed(1)} s`);
        else console.log(`${what}: failed: ${e.error}`);
      }
    },
  });
  if (o.json) console.log(JSON.stringify({ event: 'ready', queue: o.queue ?? 'avcv' }));
  else console.error(`avcv worker: waiting for jobs on queue '${o.queue ?? 'avcv'}' (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const onSigint = () => {
      process.off('SIGINT', onSigint);
      process.once('SIGINT', () => process.exit(EXIT.interrupted));
      if (!o.json) console.error('avcv worker: finishing the running chunks (Ctrl-C again to stop at once)');
      resolve();
    };
    process.on('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
  });
  await w.close();
  return EXIT.ok;
}

/** A usage error found after parsing (exit 2, the message printed without a stack). */
class UsageError extends Error {}

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a number above 0');
  return n;
}

function indexList(v: string): number[] {
  const n = v.split(',').map((x) => Number(x.trim()));
  if (!n.length || !n.every((x) => Number.isInteger(x) && x >= 0)) throw new InvalidArgumentError('frame indices, e.g. 0,10,20');
  return n;
}

/** '1s', '1.5', '500ms' -> seconds. */
function interval(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  const x = m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : NaN;
  if (!(x > 0)) throw new InvalidArgumentError('a time such as 1s, 0.5 or 500ms');
  return x;
}

/** Display indices shown at t0, t0 + step, ... (the last frame whose time is <= t). */
function shownEvery(times: Float64Array, fps: number, step: number): number[] {
  const n = times.length;
  if (n === 0) return [];
  const end = times[n - 1] + (fps > 0 ? 1 / fps : 0);
  const out: number[] = [];
  let i = 0;
  for (let k = 0; ; k++) {
    const t = times[0] + k * step;
    if (t >= end - 1e-9) break;
    while (i + 1 < n && times[i + 1] <= t + 1e-9) i++;
    if (out.at(-1) !== i) out.push(i);
  }
  return out;
}

async function cmdFrames(file: string, outDir: string, o: {
  every?: number; fps?: number; indices?: number[]; format: string; resize?: { width?: number; height?: number }; quality?: number; json?: boolean;
}): Promise<number> {
  const picks = [o.every, o.fps, o.indices].filter((x) => x !== undefined).length;
  if (picks > 1) throw new UsageError('choose one of --every, --fps and --indices');
  const format = o.format;
  if (!['png', 'jpg', 'raw'].includes(format)) throw new UsageError('--format is png, jpg or raw');
  const ints = interrupts(false);
  let reader: VideoReader;
  try {
    reader = await VideoReader.open(file, { format: 'bgr24', ...(o.resize ? { resize: o.resize } : {}), signal: ints.signal });
  } catch (err) {
    ints.dispose();
    if (ints.signal.aborted) return EXIT.interrupted;
    throw err;
  }
  const written: string[] = [];
  const tty = !o.json && process.stderr.isTTY;
  const b = tty ? new SingleBar({ format: ' {bar} {value}/{total} frames', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : null;
  try {
    mkdirSync(outDir, { recursive: true });
    let wanted: number[] | null = null;
    if (o.indices) wanted = o.indices;
    else if (o.every !== undefined || o.fps !== undefined) {
      const ix = await reader.index();
      wanted = shownEvery(ix.times, reader.info.fps, o.every ?? 1 / o.fps!);
    }
    const total = wanted?.length ?? reader.info.frameCount ?? 0;
    b?.start(total, 0);
    const save = async (f: Frame, i: number) => {
      const name = `frame_${String(i).padStart(6, '0')}.${format}`;
      const target = join(outDir, name);
      const bytes = format === 'raw' ? f.data : await cv.imencode(f, format === 'png' ? '.png' : '.jpg', o.quality !== undefined ? { quality: o.quality } : undefined);
      await writeAtomic(target, bytes, 'write');  // a reader of the folder never sees half a file
      written.push(target);
      if (o.json) console.log(JSON.stringify({ event: 'frame', index: i, time: f.time, file: target }));
      b?.update(written.length);
    };
    if (wanted) {
      for (let j = 0; j < wanted.length; j += 16) {
        const batch = wanted.slice(j, j + 16);
        const frames = await reader.frames(batch);
        for (let k = 0; k < frames.length; k++) await save(frames[k], batch[k]);
      }
    } else {
      let i = 0;
      for await (const f of reader) await save(f, i++);
    }
    b?.stop();
    const { width, height } = reader.info;
    if (o.json) console.log(JSON.stringify({ event: 'done', frames: written.length, width, height, format, outDir }));
    else console.log(`${outDir}: ${written.length} frames, ${width}x${height} ${format}${format === 'raw' ? ' (bgr24, hwc)' : ''}`);
    return EXIT.ok;
  } catch (err) {
    b?.stop();
    // no partial output: the frames this run wrote go
    for (const f of written) rmSync(f, { force: true });
    if (ints.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    ints.dispose();
    await reader.close();
  }
}

function clock(t: number): string {
  const ms = Math.max(0, Math.round(t * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const sec = (ms / 1000) % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${sec.toFixed(3).padStart(6, '0')}`;
}

/** Up to `count` of `list`, evenly spread, first and last included. */
function spread<T>(list: ArrayLike<T>, count: number): T[] {
  const n = list.length;
  if (n <= count) return Array.from(list);
  return Array.from({ length: count }, (_, k) => list[Math.round((k * (n - 1)) / (count - 1 || 1))]);
}

const THUMB_GAP = 4;  // pixels between tiles and around the sheet

async function cmdThumbs(file: string, out: string, o: { count: number; cols: number; width: number; json?: boolean }): Promise<number> {
  if (!/\.(jpe?g|png|webp)$/i.test(out)) throw new UsageError('the sheet is a .jpg, .png or .webp file');
  const reader = await VideoReader.open(file, { format: 'bgr24', resize: { width: o.width } });
  try {
    const ix = await reader.index();
    // keyframes: decoded alone, each a clean picture; the sheet spans the video
    const picks = spread(ix.keyframes.length ? ix.keyframes : Uint32Array.from({ length: ix.frameCount }, (_, i) => i), o.count);
    const frames = await reader.frames(picks);
    const { width: tw, height: th } = reader.info;
    const cols = Math.min(o.cols, frames.length);
    const rows = Math.ceil(frames.length / cols);
    const W = cols * tw + (cols + 1) * THUMB_GAP;
    const H = rows * th + (rows + 1) * THUMB_GAP;
    const sheet = new Uint8Array(W * H * 3).fill(32);
    const scale = Math.max(0.35, th / 240);
    frames.forEach((f, k) => {
      const x0 = THUMB_GAP + (k % cols) * (tw + THUMB_GAP);
      const y0 = THUMB_GAP + Math.floor(k / cols) * (th + THUMB_GAP);
      // the frame's time, outlined so it reads on any picture
      const label = clock(ix.times[picks[k]] - ix.times[0]);
      const y = th - Math.max(4, Math.round(6 * scale));
      cv.putTextSync(f, label, { x: 4, y, color: [0, 0, 0], fontScale: scale, thickness: 3, dst: f });
      cv.putTextSync(f, label, { x: 4, y, color: [255, 255, 255], fontScale: scale, thickness: 1, dst: f });
      for (let r = 0; r < th; r++) sheet.set(f.data.subarray(r * tw * 3, (r + 1) * tw * 3), ((y0 + r) * W + x0) * 3);
    });
    await cv.imwrite(out, { data: sheet, width: W, height: H, format: 'bgr24' }, /\.png$/i.test(out) ? undefined : { quality: 90 });
    const result = { file: out, width: W, height: H, tiles: frames.length, cols, rows, frames: picks, times: picks.map((i) => ix.times[i] - ix.times[0]) };
    if (o.json) console.log(JSON.stringify({ event: 'done', ...result }));
    else console.log(`${out}: ${frames.length} keyframes in ${cols}x${rows}, ${W}x${H}`);
    return EXIT.ok;
  } finally {
    await reader.close();
  }
}

function heights(v: string): number[] {
  const n = v.split(',').map((x) => Number(x.trim().replace(/p$/i, '')));
  if (n.length === 0 || !n.every((x) => Number.isInteger(x) && x > 0)) throw new InvalidArgumentError('heights separated by commas (e.g. 1080,720,480)');
  return n;
}

async function cmdHls(input: string, outDir: string, o: {
  renditions?: number[]; segment?: number; dash?: boolean; dashOnly?: boolean; ts?: boolean; codec?: string; preset?: string;
  device?: string; audio: boolean; overwrite?: boolean; json?: boolean;
}): Promise<number> {
  if (o.dash && o.dashOnly) throw new UsageError('--dash adds an MPD beside the HLS playlists, --dash-only writes the MPD alone: give one');
  if (o.ts && (o.dash || o.dashOnly)) throw new UsageError('--ts segments are HLS only (DASH needs fMP4)');
  const ints = interrupts(false);
  const bar = frameProgress(o.json ?? false);
  try {
    const r = await ladder(input, outDir, {
      ...(o.renditions ? { renditions: o.renditions.map((height) => ({ height })) } : {}),
      ...(o.segment !== undefined ? { segmentDuration: o.segment } : {}),
      format: o.dashOnly ? 'dash' : o.dash ? 'both' : 'hls', ...(o.ts ? { segmentFormat: 'ts' as const } : {}),
      ...(o.codec ? { codec: o.codec as 'h264' } : {}), ...(o.preset ? { preset: o.preset } : {}),
      ...(o.device ? { device: o.device as 'cpu' } : {}), ...(o.audio ? {} : { audio: false as const }),
      ...(o.overwrite ? { overwrite: true } : {}), signal: ints.signal,
      protocols: protocolsFor(input),
      onProgress: bar.progress,
    });
    bar.stop();
    if (o.json) {
      console.log(JSON.stringify({ event: 'done', ...r }));
      return EXIT.ok;
    }
    const kbps = (x: number) => `${(x / 1000).toFixed(0)} kb/s`;
    const rows = [['rendition', 'size', 'codecs', 'BANDWIDTH (peak)', 'AVERAGE', 'segments', 'MB'],
      ...r.renditions.map((x) => [x.name, `${x.width}x${x.height}`, x.codecs, kbps(x.bandwidth), kbps(x.averageBandwidth), String(x.segments), (x.bytes / 1e6).toFixed(2)]),
      ...(r.audio ? [['audio', `${r.audio.channels} ch`, r.audio.codecs, kbps(r.audio.bandwidth), '', String(r.audio.segments), '']] : [])];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
    for (const s of r.skipped) console.log(`skipped ${s.height}p: ${s.reason}`);
    console.log(`${[r.master, r.mpd].filter(Boolean).join(', ')}: ${r.duration.toFixed(2)} s in ${r.segmentStarts.length} segments, ` +
      `${r.framesIn} frames decoded once, ${r.wallTime.toFixed(1)} s`);
    return EXIT.ok;
  } catch (err) {
    bar.stop();
    if (ints.signal.aborted) return EXIT.interrupted;
    throw err;
  } finally {
    ints.dispose();
  }
}

function program(): Command {
  const p = new Command('avcv')
    .description('video frames for Node.js: libav + OpenCV')
    .option('--verbose', 'print a stack trace with errors')
    .showHelpAfterError('(avcv --help lists the commands)')
    .addHelpText('after', '\nExit codes: 0 done, 1 failed (the error code and message on stderr), 2 usage error,\n130 interrupted (Ctrl-C; no partial output is left). avcv <command> --help for each.')
    .exitOverride();
  p.command('probe <file>')
    .description("print a file's metadata")
    .option('--json', 'all of it as JSON')
    .addHelpText('after', '\nExamples:\n  avcv probe in.mp4\n  avcv probe in.mkv --json | jq \'.streams[0].fps\'')
    .action(async (file: string, o: { json?: boolean }) => { process.exitCode = await cmdProbe(file, o); });
  p.command('demo')
    .description('synthesise a clip with audio, transform it (audio kept), re-probe it')
    .addHelpText('after', '\nNeeds no input: the clip comes from libavfilter (testsrc2 and a sine tone).\n\nExample:\n  avcv demo')
    .action(async () => { process.exitCode = await cmdDemo(); });
  p.command('version')
    .description('print the libav / OpenCV versions in use')
    .addHelpText('after', '\nExample:\n  avcv version')
    .action(() => { console.log(JSON.stringify(versions(), null, 2)); });
  p.command('transform <input> <output>')
    .description('decode, resize/crop/filter and encode a video natively, the audio kept')
    .option('--resize <WxH>', 'output size; one side (640x, x360) keeps the aspect ratio', size)
    .option('--crop <x,y,w,h>', 'crop rectangle in source pixels, before the resize', rect)
    .option('--filter <graph>', 'a libavfilter graph, as the CLI\'s -vf')
    .option('--codec <name>', 'encoder or short name (h264, hevc, vp9, av1, libx264, ...)')
    .option('--crf <n>', 'constant-quality level', integer)
    .option('--preset <p>', 'encoder preset (veryfast, medium, p4, ...)')
    .option('--device <d>', 'cpu, cuda, cuda:N or auto (NVDEC/NVENC when usable)')
    .option('--no-audio', 'drop the audio (kept by default: copied when the container takes it)')
    .option('--module <file>', 'a JS module whose default export is the frame function (frame => frame | bytes | null)')
    .option('--workers <n>', 'with --module: worker threads processing chunks at once (default: the cores)', integer)
    .option('--chunk-duration <seconds>', 'with --module: seconds per chunk, up to the next keyframe', positive)
    .option('--redis <url>', 'with --module: send the chunks to `avcv worker` processes through Redis (redis://host:port)')
    .option('--queue <name>', 'with --redis: the queue name (default avcv)')
    .option('--json', 'progress and the result as JSON lines')
    .addHelpText('after', '\nThe output is written under a temp name and renamed when complete; Ctrl-C leaves nothing.\nWith --module the output equals a single pass: the same frames, timestamps and audio.\n\nExamples:\n  avcv transform in.mp4 out.mp4 --resize 1280x720 --crf 23 --preset veryfast\n  avcv transform in.mov out.mkv --filter yadif,fps=25 --codec hevc\n  avcv transform in.mp4 out.mp4 --module edit.mjs --workers 4\n  avcv transform /shared/in.mp4 /shared/out.mp4 --module /shared/edit.mjs --redis redis://10.0.0.5:6379')
    .action(async (input: string, output: string, o: Parameters<typeof cmdTransform>[2]) => {
      process.exitCode = await cmdTransform(input, output, o);
    });
  p.command('hls <input> <outDir>')
    .description('an adaptive-streaming ladder: every rendition from one decode, aligned segments, measured BANDWIDTH')
    .option('--renditions <heights>', 'rendition heights, e.g. 1080,720,480 (default: up to four at or below the source)', heights)
    .option('--segment <seconds>', 'segment duration (default 6)', positive)
    .option('--dash', 'a DASH MPD too, over the same fMP4 segments')
    .option('--dash-only', 'the DASH MPD alone (no HLS playlists)')
    .option('--ts', 'MPEG-TS segments instead of fMP4 (HLS only, H.264)')
    .option('--codec <name>', 'h264 (default), hevc or av1')
    .option('--preset <p>', 'encoder preset for every rendition (veryfast, medium, p4, ...)')
    .option('--device <d>', 'cpu, cuda, cuda:N or auto (NVDEC/NVENC when usable)')
    .option('--no-audio', 'no audio rendition (default: the source\'s audio as AAC, shared by every rendition)')
    .option('--overwrite', 'replace an existing outDir')
    .option('--json', 'progress and the result as JSON lines')
    .addHelpText('after', '\nThe tree is built in a hidden folder beside outDir and renamed into place when complete;\nCtrl-C leaves nothing. An existing outDir is an error unless --overwrite.\n\nExamples:\n  avcv hls talk.mp4 public/talk --renditions 1080,720,480 --preset veryfast\n  avcv hls talk.mp4 public/talk --segment 4 --dash --overwrite\n  avcv hls cam.mkv out --ts --json')
    .action(async (input: string, outDir: string, o: Parameters<typeof cmdHls>[2]) => {
      process.exitCode = await cmdHls(input, outDir, o);
    });
  p.command('worker')
    .description('run the chunks of transforms sent with --redis (or the queue option), until Ctrl-C')
    .requiredOption('--redis <url>', 'Redis: redis://host:port[/db], rediss://..., unix:///path.sock')
    .option('--concurrency <n>', 'chunks at once, each on its own thread (default: the cores)', integer)
    .option('--queue <name>', 'the queue name (default avcv)')
    .option('--lock-duration <seconds>', 'how long a chunk stays with a worker that stopped answering before another takes it (default 30)', positive)
    .option('--json', 'what the worker does as JSON lines')
    .addHelpText('after', '\nThe worker opens the jobs\' files at the paths the caller gave: run it where they are\nvisible at the same paths (a shared folder). Ctrl-C finishes the running chunks and\nstops; a second Ctrl-C stops at once (the chunks go to other workers).\n\nExamples:\n  avcv worker --redis redis://10.0.0.5:6379 --concurrency 4\n  avcv worker --redis unix:///run/redis/redis.sock --json')
    .action(async (o: { redis: string; concurrency?: number; queue?: string; lockDuration?: number; json?: boolean }) => {
      process.exitCode = await cmdWorker(o);
    });
  p.command('frames <file> <outDir>')
    .description('exact frames of a video as images: every frame, or --every/--fps/--indices')
    .option('--every <time>', 'the frame shown every so often (1s, 0.5, 500ms)', interval)
    .option('--fps <n>', 'the frames shown n times a second', positive)
    .option('--indices <list>', 'these frames (display order, from 0)', indexList)
    .option('--format <f>', 'png, jpg or raw (bgr24 bytes)', 'png')
    .option('--quality <q>', 'jpg quality 0-100', integer)
    .option('--resize <WxH>', 'output size; one side (640x) keeps the aspect ratio', size)
    .option('--json', 'a JSON line per frame written, then the result')
    .addHelpText('after', '\nFiles are named frame_<index>.<format> (the frame\'s display index), each written under a\ntemp name and renamed; an error or Ctrl-C removes what the run wrote.\n\nExamples:\n  avcv frames in.mp4 shots --every 1s --format jpg\n  avcv frames in.mp4 shots --indices 0,100,200 --resize 640x')
    .action(async (file: string, outDir: string, o: Parameters<typeof cmdFrames>[2]) => {
      process.exitCode = await cmdFrames(file, outDir, o);
    });
  p.command('thumbs <file> <out>')
    .description('a contact sheet: keyframes spread over the video, each with its time drawn')
    .option('--count <n>', 'tiles (at most the keyframe count)', integer, 16)
    .option('--cols <n>', 'tiles per row', integer, 4)
    .option('--width <px>', 'tile width (the height keeps the aspect ratio)', integer, 320)
    .option('--json', 'the result as a JSON line')
    .addHelpText('after', '\nThe sheet (.jpg, .png or .webp) is written under a temp name and renamed.\n\nExample:\n  avcv thumbs talk.mp4 sheet.jpg --count 24 --cols 6')
    .action(async (file: string, out: string, o: { count: number; cols: number; width: number; json?: boolean }) => {
      if (o.count < 1 || o.cols < 1 || o.width < 16) throw new UsageError('--count and --cols must be at least 1, --width at least 16');
      process.exitCode = await cmdThumbs(file, out, o);
    });
  p.command('record <url> <out>')
    .description('record a live stream (rtmp, rtsp, srt, udp, http/hls) into a file, audio kept, without re-encoding')
    .option('-d, --duration <seconds>', 'stop after this long (else at the end of the stream, or Ctrl-C)', seconds)
    .option('--no-reconnect', 'end when the stream drops instead of reconnecting')
    .option('--json', 'progress and the result as JSON lines')
    .addHelpText('after', '\nThe file is written under a temp name and renamed when complete. Ctrl-C stops the\nrecording and keeps it; a second Ctrl-C aborts and leaves nothing.\n\nExamples:\n  avcv record rtmp://127.0.0.1/live/cam cam.mkv --duration 60\n  avcv record rtsp://camera/stream door.mp4')
    .action(async (url: string, out: string, o: { duration?: number; reconnect: boolean; json?: boolean }) => {
      process.exitCode = await runRemux(url, out, { ...o, graceful: true, live: true });
    });
  p.command('stream <file> <url>')
    .description('stream a file to a server (rtmp, srt, udp) at its own pace, like ffmpeg -re, without re-encoding')
    .option('--loop', 'start again at the end (until Ctrl-C or --duration)')
    .option('-d, --duration <seconds>', 'stop after this long', seconds)
    .option('--json', 'progress and the result as JSON lines')
    .addHelpText('after', '\nThe container follows the URL: flv for rtmp://, MPEG-TS for srt:// and udp://.\n\nExamples:\n  avcv stream talk.mp4 rtmp://127.0.0.1/live/key --loop\n  avcv stream clip.mp4 srt://127.0.0.1:9000')
    .action(async (file: string, url: string, o: { loop?: boolean; duration?: number; json?: boolean }) => {
      process.exitCode = await runRemux(file, url, { ...o, realtime: true, graceful: false, live: false });
    });
  return p;
}

async function main(argv: string[]): Promise<void> {
  // output piped into a reader that stops early (| head): end quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const p = program();
  if (argv.length === 0) {
    p.outputHelp();
    return;
  }
  try {
    await p.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are exit 0; usage errors 2 (commander printed them)
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof UsageError) {
      console.error(`avcv: ${err.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof AvcvError) console.error(`avcv: ${err.code}: ${err.message}`);
    else console.error(`avcv: ${err instanceof Error ? err.message : String(err)}`);
    if (p.opts().verbose && err instanceof Error) console.error(err.stack);
    process.exitCode = EXIT.failed;
  }
}

if (require.main === module) void main(process.argv.slice(2));
