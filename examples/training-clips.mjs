// A training set's clips: 16-frame clips every 8 frames from several videos,
// decoded exactly by random access, shuffled deterministically, in batches of
// 4 as [4, 3, 16, 112, 112] uint8 (chw) buffers. One epoch.
//
//   node examples/training-clips.mjs a.mp4 b.mp4 ...
import { VideoLoader } from 'avcv';

const sources = process.argv.slice(2);
if (sources.length === 0) {
  console.error('usage: node examples/training-clips.mjs <video> [video ...]');
  process.exit(2);
}

const loader = new VideoLoader(sources, {
  clipLength: 16, stride: 8, batchSize: 4, shuffle: 'clips', seed: 1,
  format: 'rgb24', layout: 'chw', resize: { width: 112, height: 112 },
});
let batches = 0;
let clips = 0;
try {
  for await (const batch of loader) {
    batches++;
    clips += batch.shape[0];
    if (batches === 1) console.error(`first batch: shape [${batch.shape.join(', ')}], from ${batch.sources.join(', ')}`);
  }
} finally {
  await loader.close();
}
console.log(JSON.stringify({ batches, clips }));
