// Frames for an ML model: the first 8 frames resized to 224x224, as one
// normalised [8, 3, 224, 224] float32 batch in RGB (ImageNet mean/std), the
// shape onnxruntime-node's Tensor takes.
//
//   node examples/tensor-batch.mjs in.mp4
import { VideoReader, stackFrames } from 'avcv';

const [input] = process.argv.slice(2);
if (!input) {
  console.error('usage: node examples/tensor-batch.mjs <input>');
  process.exit(2);
}

// ask for RGB explicitly: there is no silent BGR/RGB swap to debug later
const reader = await VideoReader.open(input, { format: 'rgb24', resize: { width: 224, height: 224 } });
const frames = [];
for await (const f of reader) {
  frames.push(f);
  if (frames.length === 8) break;
}
await reader.close();

const batch = stackFrames(frames, {
  layout: 'chw', dtype: 'float32', channelOrder: 'rgb', scale: 1 / 255,
  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
});
// e.g. new ort.Tensor('float32', batch.data, batch.shape)
let sum = 0;
for (const v of batch.data) sum += v;
console.log(JSON.stringify({ shape: batch.shape, mean: sum / batch.data.length }));
