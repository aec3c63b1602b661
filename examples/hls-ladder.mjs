// A video on demand as an adaptive-streaming ladder: HLS (and DASH) from one
// decode, every rendition's segments starting at the same frames, the
// audio encoded once, BANDWIDTH measured from the files. Serve outDir with
// any static server and point hls.js, Safari or dash.js at master.m3u8 /
// manifest.mpd.
//
//   node examples/hls-ladder.mjs in.mp4 public/talk [heights, e.g. 720,480,360]
import { ladder } from 'avcv';

const [input, outDir, heights] = process.argv.slice(2);
if (!input || !outDir) {
  console.error('usage: node examples/hls-ladder.mjs <input> <outDir> [720,480,360]');
  process.exit(2);
}
const ac = new AbortController();
process.once('SIGINT', () => ac.abort()); // Ctrl-C: nothing is left under outDir

const r = await ladder(input, outDir, {
  // 'auto' picks up to four standard heights at or below the source's
  renditions: heights ? heights.split(',').map((h) => ({ height: Number(h) })) : 'auto',
  format: 'both', // master.m3u8 and manifest.mpd over the same fMP4 segments
  segmentDuration: 4,
  preset: 'veryfast',
  overwrite: true,
  signal: ac.signal,
  onProgress: (p) => process.stderr.write(`\r${p.frames}/${p.total ?? '?'} frames, ${p.fps.toFixed(0)} fps`),
});
process.stderr.write('\n');
for (const x of r.renditions) {
  console.error(`${x.name.padEnd(6)} ${x.width}x${x.height} ${x.codecs} peak ${(x.bandwidth / 1000).toFixed(0)} kb/s, average ${(x.averageBandwidth / 1000).toFixed(0)} kb/s`);
}
console.log(JSON.stringify({ master: r.master, mpd: r.mpd, renditions: r.renditions.map((x) => ({ name: x.name, bandwidth: x.bandwidth, codecs: x.codecs })), segments: r.segmentStarts.length }));
