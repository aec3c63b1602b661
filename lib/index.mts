// ESM entry: re-exports the CommonJS build so both share one module instance.
import avcv from './index.js';

export const {
  AvcvError, ERROR_CODES, Frame, PIXEL_FORMATS, LAYOUTS, probe, VideoReader, AudioReader, VideoCapture, VideoWriter, VideoLoader, transform, ladder, remux, startWorker, FilterGraph, measureLoudness, loudnormGraph, versions, stackFrames, letterbox, cv, capabilities, toMat, fromMat, loadNodeAv,
} = avcv;
export type * from './index.js';
export default avcv;
