#!/usr/bin/env node
import { createHash } from 'node:crypto';
import { AvcvError, probe, VideoReader, versions } from './index';
import type { AudioStreamInfo, VideoStreamInfo } from './probe';

const USAGE = `usage:
  avcv probe <file> [--json]   print a file's metadata
  avcv demo                    decode a generated clip through VideoReader and print a summary
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
    let line = `  #${s.index} ${s.type.padEnd(8)} ${s.codec}${s.profile ? ` (${s.profile})` : ''}`;
    if (s.type === 'video') {
      const v = s as VideoStreamInfo;
      line += `  ${v.width}x${v.height} ${v.pixelFormat} ${v.bitDepth}-bit  ${v.fps.toFixed(3)} fps` +
        `  ${v.frameCount ?? '?'} frames${v.frameCountExact ? '' : ' (estimated)'}` +
        (v.rotation ? `  rotation ${v.rotation}°` : '');
    } else if (s.type === 'audio') {
      const a = s as AudioStreamInfo;
      line += `  ${a.sampleRate} Hz ${a.channelLayout ?? `${a.channels} ch`} ${a.sampleFormat}`;
    }
    console.log(line);
  }
  return 0;
}

async function cmdDemo(): Promise<number> {
  // An embedded default input: libavfilter's testsrc2 through the lavfi device, no file needed.
  const graph = 'testsrc2=size=1280x720:rate=30:duration=4';
  console.log(`avcv demo: decoding lavfi '${graph}' through VideoReader (bgr24, hwc)`);
  const t0 = process.hrtime.bigint();
  const reader = await VideoReader.open(graph, { inputFormat: 'lavfi', format: 'bgr24' });
  const hash = createHash('sha256');
  let frames = 0;
  let last = 0;
  try {
    for await (const frame of reader) {
      hash.update(frame.data);
      frames++;
      last = frame.time;
      if (frames === 1) console.log(`  first frame: shape [${frame.shape.join(', ')}], format ${frame.format}, layout ${frame.layout}, ${frame.data.byteLength} bytes`);
    }
  } finally {
    await reader.close();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`  frames: ${frames} (last at ${last.toFixed(3)} s; stream ${reader.info.fps} fps)`);
  console.log(`  decode speed: ${(frames / secs).toFixed(1)} fps`);
  console.log(`  checksum (sha256 of all frame bytes): ${hash.digest('hex')}`);
  console.log(`  stats: ${JSON.stringify(reader.stats)}`);
  return frames > 0 ? 0 : 1;
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
