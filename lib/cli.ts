#!/usr/bin/env node
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvcvError, probe, transform, VideoReader, VideoWriter, versions } from './index';
import type { AudioStreamInfo, VideoStreamInfo } from './probe';

const USAGE = `usage:
  avcv probe <file> [--json]   print a file's metadata
  avcv demo                    synthesise a clip with audio, transform it (audio kept), re-probe it
  avcv version                 print the libav / OpenCV versions in use`;

function fmtDuration(s: number | null): string {
  return s === null ? 'unknown' : `${s.toFixed(3)} s`;
}

async function cmdProbe(args: string[]): Promise<number> {
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error(USAGE);
    return 2;
  }
  const p = await probe(file);
  if (args.includes('--json')) {
    console.log(JSON.stringify(p, null, 2));
    return 0;
  }
  console.log(`${file}`);
  console.log(`  container  ${p.format} (${p.formatLongName})`);
  console.log(`  duration   ${fmtDuration(p.duration)}   bit rate ${p.bitRate ?? 'unknown'}   size ${p.size ?? 'unknown'} B`);
  for (const s of p.streams) {
    let line = `  #${s.index} ${(s.type ?? "unknown").padEnd(8)} ${s.codec ?? "unknown"}${s.profile ? ` (${s.profile})` : ''}`;
    if (s.type === 'video') {
      const v = s as VideoStreamInfo;
      line += `  ${v.width}x${v.height} ${v.pixelFormat ?? "?"} ${v.bitDepth}-bit  ${v.fps.toFixed(3)} fps` +
        `  ${v.frameCount ?? '?'} frames${v.frameCountExact ? '' : ' (estimated)'}` +
        (v.rotation ? `  rotation ${v.rotation}°` : '');
    } else if (s.type === 'audio') {
      const a = s as AudioStreamInfo;
      line += `  ${a.sampleRate} Hz ${a.channelLayout ?? `${a.channels} ch`} ${a.sampleFormat ?? "?"}`;
    }
    console.log(line);
  }
  return 0;
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
    return v && a && match && summary.framesOut === summary.framesIn ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'probe': return cmdProbe(rest);
    case 'demo': return cmdDemo();
    case 'version':
      console.log(JSON.stringify(versions(), null, 2));
      return 0;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    if (err instanceof AvcvError) console.error(`avcv: ${err.code}: ${err.message}`);
    else console.error(err);
    process.exitCode = 1;
  },
);
