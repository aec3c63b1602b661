export { AvcvError, ERROR_CODES, type AvcvErrorCode } from './errors';
export { Frame, stackFrames, letterbox, type FrameInit } from './frame';
export { cv, type CvNamespace, type Image, type DstOption } from './cv';
export { toMat, fromMat, type OpenCvMat, type OpenCvModule, type ToMatOptions, type FromMatOptions } from './interop';
export { loadNodeAv, type NodeAvFrame, type NodeAvModule, type FromNodeAvOptions, type ToNodeAvOptions } from './node-av';
export type { Tensor, TensorOptions, LetterboxResult, LetterboxOptions, FromTensorOptions } from './tensor';
export { PIXEL_FORMATS, LAYOUTS, type PixelFormat, type Layout, type Plane } from './formats';
export { probe, type ProbeResult, type StreamInfo, type VideoStreamInfo, type AudioStreamInfo, type Rational } from './probe';
export type { LiveOptions, LiveEvent } from './reader-options';
export { VideoReader, type VideoReaderOptions, type ReaderInfo, type ReaderStats, type Interpolation, type FrameIndexInfo, type FrameBatch } from './reader';
export { AudioReader, type AudioReaderOptions, type AudioReaderInfo, type AudioReaderStats, type AudioChunk, type SampleFormat, type SampleLayout } from './audio';
export { VideoCapture, type CaptureProperty } from './capture';
export { VideoWriter, type VideoWriterOptions, type WriterInfo, type WriterStats, type WriterLiveOptions, type AudioOptions, type Container, type RationalInput } from './writer';
export { VideoLoader, type VideoLoaderOptions, type ClipBatch } from './loader';
export { FilterGraph, type FilterGraphOptions, type VideoGraphInput, type AudioGraphInput, type GraphOutput, type GraphOutputInfo } from './filter-graph';
export { measureLoudness, loudnormGraph, type LoudnessTarget, type LoudnessMeasurement } from './loudness';
export { transform, type TransformFn, type TransformOptions, type TransformProgress, type TransformSummary } from './transform';
export { ladder, type LadderOptions, type LadderResult, type LadderRendition, type LadderCodec, type Rendition } from './ladder';
export { remux, type RemuxOptions, type RemuxProgress, type RemuxResult } from './remux';
export { startWorker, type AvcvWorker, type TransformQueueOptions, type WorkerEvent, type WorkerOptions } from './queue';
export type { InputOptions } from './source';
export { capabilities, type Device, type DeviceInfo, type Capabilities } from './device';
import { native } from './native';

/**
 * Versions of the libav and OpenCV libraries the addon runs with.
 *
 * @example
 * ```ts
 * console.log(versions());   // what `npx avcv version` prints
 * ```
 */
export function versions(): Record<string, string | boolean> {
  return native().versions();
}
