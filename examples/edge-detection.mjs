// FFmpeg -> OpenCV -> FFmpeg: every frame through Canny edge detection, the
// source's audio kept, the output written atomically.
//
//   node examples/edge-detection.mjs in.mp4 edges.mp4
import { transform, cv } from 'avcv';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node examples/edge-detection.mjs <input> <output>');
  process.exit(2);
}

const summary = await transform(input, output, async (frame) => {
  // frames arrive as bgr24 (OpenCV's order); the formats are explicit, never guessed
  const gray = await cv.cvtColor(frame, 'gray');
  const edges = await cv.canny(gray, { threshold1: 80, threshold2: 160 });
  return cv.cvtColor(edges, 'bgr24'); // the writer takes what the reader gave: bgr24
}, {
  crf: 20,
  preset: 'veryfast',
  audio: 'auto', // copied when the container takes it (the default, said out loud)
  onProgress: (p) => process.stderr.write(`\r${p.frames}/${p.total ?? '?'} frames`),
});
process.stderr.write('\n');
console.log(JSON.stringify({ frames: summary.framesOut, audio: summary.audio, audioCodec: summary.audioCodec, encoder: summary.encoder }));
