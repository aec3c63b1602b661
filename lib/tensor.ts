import type { Frame } from './frame';
import { native } from './native';
import { CV_INTERPOLATION_NAMES, type CvInterpolation, type PixelFormat } from './formats';
import { checkKeys, describe, int, isObject, oneOf } from './validate';

/** How {@link Frame.toTensor} and {@link stackFrames} lay out and normalise a tensor. */
export interface TensorOptions {
  /** 'chw' (default; [C, H, W], what PyTorch/ONNX models take) or 'hwc' ([H, W, C]). */
  layout?: 'chw' | 'hwc';
  /** 'float32' (default) or 'uint8' (reorder/transpose only: no scale/mean/std). */
  dtype?: 'float32' | 'uint8';
  /** Channel order of colour tensors: 'rgb' (default) or 'bgr'. Alpha is dropped; gray gives 1 channel. */
  channelOrder?: 'rgb' | 'bgr';
  /** float32 value = (pixel * scale - mean[c]) / std[c]. Default scale 1 (use 1/255 for 0..1). */
  scale?: number;
  /** Subtracted after scaling: one number for every channel, or one per channel in channelOrder (default 0). */
  mean?: number | readonly number[];
  /** Divided by after subtracting mean: one number, or one per channel (default 1; never 0). */
  std?: number | readonly number[];
  /**
   * Write into this array instead of a new one: a Float32Array (float32) or
   * Uint8Array (uint8) of exactly the tensor's element count (stackFrames: the
   * whole batch's). Reusing one per frame avoids allocating and faulting in
   * fresh memory every call. The result's `data` is this array.
   */
  out?: Float32Array | Uint8Array;
}

/** An ML tensor: one array of values with its shape, as {@link Frame.toTensor} and {@link stackFrames} make it. */
export interface Tensor {
  /** The values: a Float32Array for 'float32', a Uint8Array for 'uint8'. */
  data: Float32Array | Uint8Array;
  /** [C, H, W] or [H, W, C]; batches [N, C, H, W] or [N, H, W, C]. */
  shape: number[];
  /** The element type: 'float32' (normalised values) or 'uint8' (pixel values). */
  dtype: 'float32' | 'uint8';
  /** 'chw' (channel planes) or 'hwc' (interleaved). */
  layout: 'chw' | 'hwc';
  /** The channels' order: 'rgb', 'bgr', or 'gray' for one channel. */
  channelOrder: 'rgb' | 'bgr' | 'gray';
}

interface NativeTensorOpts {
  layout: 'chw' | 'hwc';
  dtype: 'float32' | 'uint8';
  channelOrder: 'rgb' | 'bgr';
  scale: number;
  mean: number[];
  std: number[];
}

const COLOUR: readonly PixelFormat[] = ['bgr24', 'rgb24', 'bgra', 'rgba', 'gray'];

function triple(name: string, v: unknown, def: number, channels: number): number[] {
  if (v === undefined) return [def, def, def];
  const arr = typeof v === 'number' ? [v, v, v] : Array.isArray(v) ? v : null;
  if (!arr || (arr.length !== channels && arr.length !== 1 && !(typeof v === 'number'))) {
    throw new TypeError(`${name} must be a number or an array of ${channels}; got ${describe(v)}`);
  }
  const vals = arr.length === 1 ? [arr[0], arr[0], arr[0]] : [...arr, ...[def, def, def]].slice(0, 3);
  for (const x of vals) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`${name} must hold finite numbers; got ${describe(x)}`);
  }
  return vals as number[];
}

function normalise(options: unknown, channels: number): NativeTensorOpts {
  if (!isObject(options)) throw new TypeError('tensor options must be an object');
  checkKeys('toTensor', options, ['layout', 'dtype', 'channelOrder', 'scale', 'mean', 'std', 'out']);
  const dtype = options.dtype === undefined ? 'float32' : oneOf('dtype', options.dtype, ['float32', 'uint8'] as const);
  const layout = options.layout === undefined ? 'chw' : oneOf('layout', options.layout, ['chw', 'hwc'] as const);
  const channelOrder = options.channelOrder === undefined ? 'rgb' : oneOf('channelOrder', options.channelOrder, ['rgb', 'bgr'] as const);
  if (dtype === 'uint8' && (options.scale !== undefined || options.mean !== undefined || options.std !== undefined)) {
    throw new TypeError("dtype 'uint8' takes no scale, mean or std (they apply to float32)");
  }
  let scale = 1;
  if (options.scale !== undefined) {
    if (typeof options.scale !== 'number' || !Number.isFinite(options.scale) || options.scale === 0) {
      throw new RangeError(`scale must be a finite non-zero number; got ${describe(options.scale)}`);
    }
    scale = options.scale;
  }
  const mean = triple('mean', options.mean, 0, channels);
  const std = triple('std', options.std, 1, channels);
  if (std.some((s) => s === 0)) throw new RangeError('std must not be 0');
  return { layout, dtype, channelOrder, scale, mean, std };
}

/** The caller's `out` array, checked against the dtype and element count; undefined when not given. */
function outArray(options: TensorOptions, dtype: 'float32' | 'uint8', elements: number): Float32Array | Uint8Array | undefined {
  const out = options.out;
  if (out === undefined) return undefined;
  const want = dtype === 'float32' ? Float32Array : Uint8Array;
  if (!(out instanceof want)) {
    throw new TypeError(`out must be a ${want.name} for dtype '${dtype}'; got ${describe(out)}${ArrayBuffer.isView(out) ? ` (${out.constructor.name})` : ''}`);
  }
  if (out.length !== elements) throw new RangeError(`out has ${out.length} elements; this tensor has ${elements}`);
  return out;
}

/**
 * What the tensor functions need of a frame. tensor.ts works on these plain
 * images and never constructs a Frame (frame.ts wraps the results), so the
 * two modules do not import each other.
 */
export interface TensorImage {
  data: Uint8Array;
  width: number;
  height: number;
  format: PixelFormat;
  layout: 'hwc' | 'chw' | 'planar';
}

function imageOf(frame: TensorImage) {
  if (!COLOUR.includes(frame.format)) {
    throw new TypeError(`tensors are made from ${COLOUR.join('/')} frames; this frame is '${frame.format}' (convert it with frame.to('rgb24'))`);
  }
  return { format: frame.format, layout: frame.layout, width: frame.width, height: frame.height };
}

/** One frame -> tensor, in one native pass (channel order + layout + normalisation). */
export function frameToTensor(frame: TensorImage, options: TensorOptions = {}): Tensor {
  const img = imageOf(frame);
  const C = frame.format === 'gray' ? 1 : 3;
  const o = normalise(options, C);
  const out = outArray(options, o.dtype, C * frame.width * frame.height);
  let data: Float32Array | Uint8Array;
  if (out) {
    native().toTensor(frame.data, img, o, out, 0);
    data = out;
  } else {
    data = native().toTensor(frame.data, img, o) as Float32Array | Uint8Array;
  }
  return {
    data, dtype: o.dtype, layout: o.layout, channelOrder: C === 1 ? 'gray' : o.channelOrder,
    shape: o.layout === 'chw' ? [C, frame.height, frame.width] : [frame.height, frame.width, C],
  };
}

/**
 * A batch tensor [N, C, H, W] (chw) or [N, H, W, C] (hwc) from frames of one
 * size and format, written straight into one preallocated buffer.
 */
export function stackImages(frames: readonly TensorImage[], options: TensorOptions = {}): Tensor {
  const f0 = frames[0];
  const img = imageOf(f0);
  for (const [i, f] of frames.entries()) {
    if (f.width !== f0.width || f.height !== f0.height || f.format !== f0.format || f.layout !== f0.layout) {
      throw new RangeError(`frames[${i}] is ${f.width}x${f.height} ${f.format}/${f.layout}; frames[0] is ${f0.width}x${f0.height} ${f0.format}/${f0.layout}`);
    }
  }
  const C = f0.format === 'gray' ? 1 : 3;
  const o = normalise(options, C);
  const per = C * f0.width * f0.height;
  const out = outArray(options, o.dtype, per * frames.length) ??
    (o.dtype === 'float32' ? new Float32Array(per * frames.length) : new Uint8Array(per * frames.length));
  frames.forEach((f, i) => native().toTensor(f.data, img, o, out, i * per));
  return {
    data: out, dtype: o.dtype, layout: o.layout, channelOrder: C === 1 ? 'gray' : o.channelOrder,
    shape: o.layout === 'chw' ? [frames.length, C, f0.height, f0.width] : [frames.length, f0.height, f0.width, C],
  };
}

/**
 * Tensor -> Frame: the inverse of toTensor. float32 values become
 * round((x * std + mean) / scale) (half away from zero), clamped to 0..255;
 * NaN becomes 0. The frame's format follows the channel order unless given.
 */
/** Options of Frame.fromTensor(). */
export interface FromTensorOptions {
  /** The frame's format: 'bgr24', 'rgb24', 'bgra', 'rgba' or 'gray' (default: gray for 1 channel, else the tensor's channel order). */
  format?: PixelFormat;
  /** The scale the tensor was made with (default 1); float32 only. */
  scale?: number;
  /** The mean the tensor was made with (default 0); float32 only. */
  mean?: number | number[];
  /** The std the tensor was made with (default 1); float32 only. */
  std?: number | number[];
}

export function tensorToImage(tensor: Tensor, options: FromTensorOptions = {}): { data: Uint8Array; width: number; height: number; format: PixelFormat } {
  if (!isObject(tensor)) throw new TypeError('fromTensor takes a tensor {data, shape, dtype, layout, channelOrder}');
  const t = tensor as unknown as Tensor;
  const layout = oneOf('tensor.layout', t.layout, ['chw', 'hwc'] as const);
  const dtype = oneOf('tensor.dtype', t.dtype, ['float32', 'uint8'] as const);
  if (!Array.isArray(t.shape) || t.shape.length !== 3) throw new RangeError(`fromTensor takes one image: shape [C, H, W] or [H, W, C]; got ${describe(t.shape)}`);
  const [C, H, W] = layout === 'chw' ? t.shape : [t.shape[2], t.shape[0], t.shape[1]];
  if (C !== 1 && C !== 3) throw new RangeError(`a tensor image has 1 or 3 channels; got ${C}`);
  int('height', H, 1, 16384);
  int('width', W, 1, 16384);
  if (!isObject(options)) throw new TypeError('options must be an object');
  checkKeys('fromTensor', options, ['format', 'scale', 'mean', 'std']);
  const order = t.channelOrder === 'bgr' ? 'bgr' : 'rgb';
  const format = options.format === undefined ? (C === 1 ? 'gray' : order === 'bgr' ? 'bgr24' : 'rgb24') : oneOf('format', options.format, COLOUR);
  if ((C === 1) !== (format === 'gray')) throw new TypeError(`a ${C}-channel tensor cannot become a '${format}' frame`);
  const o = normalise(dtype === 'uint8' ? { dtype, layout, channelOrder: order } : { dtype, layout, channelOrder: order, scale: options.scale, mean: options.mean, std: options.std }, C);
  const data = native().fromTensor(t.data, { format, layout: 'hwc', width: W, height: H }, o);
  return { data, width: W, height: H, format };
}

/** What {@link letterbox} returns: the padded frame and how to map points between it and the original. */
export interface LetterboxResult<F = Frame> {
  /** The letterboxed frame: the requested width x height, in the input's format. */
  frame: F;
  /** Original -> letterboxed: x' = x * scale + padX, y' = y * scale + padY. */
  scale: number;
  /** Pixels of padding left of the resized image. */
  padX: number;
  /** Pixels of padding above the resized image. */
  padY: number;
  /** Map a point of the letterboxed image back to the original frame. */
  toOriginal(x: number, y: number): [number, number];
}

/**
 * Detector-style preprocessing: resize keeping the aspect ratio, then pad to
 * width x height with `color` (default gray 114), centred. hwc frames only.
 */
export interface LetterboxOptions {
  /** Width of the result in pixels. */
  width: number;
  /** Height of the result in pixels. */
  height: number;
  /** The padding's colour: 1 to 4 values 0..255 in the frame's channel order (default [114, 114, 114]). */
  color?: number[];
  /** The resize's interpolation (default 'bilinear', OpenCV's INTER_LINEAR). */
  interpolation?: CvInterpolation;
}

/** letterbox() on plain images: the padded image's bytes and the mapping (frame.ts wraps them in a Frame). */
export function letterboxImage(frame: TensorImage, options: LetterboxOptions): { data: Uint8Array; width: number; height: number; scale: number; padX: number; padY: number } {
  if (!COLOUR.includes(frame.format) || (frame.layout !== 'hwc' && frame.format !== 'gray')) {
    throw new TypeError(`letterbox takes hwc ${COLOUR.join('/')} frames; this one is ${frame.format}/${frame.layout}`);
  }
  if (!isObject(options)) throw new TypeError('letterbox options must be an object {width, height}');
  checkKeys('letterbox', options, ['width', 'height', 'color', 'interpolation']);
  const width = int('width', options.width, 1, 16384);
  const height = int('height', options.height, 1, 16384);
  const color = options.color === undefined ? [114, 114, 114, 255] : options.color;
  if (!Array.isArray(color) || color.length < 1 || color.length > 4 || !color.every((c) => typeof c === 'number' && c >= 0 && c <= 255)) {
    throw new RangeError(`color must be 1 to 4 numbers in 0..255; got ${describe(options.color)}`);
  }
  const full = color.length === 1 ? [color[0], color[0], color[0], 255] : [...color, 255, 255, 255].slice(0, 4);
  const interp = options.interpolation === undefined ? 'bilinear' : oneOf('interpolation', options.interpolation, CV_INTERPOLATION_NAMES);
  const r = native().letterbox(frame.data, { format: frame.format, layout: frame.layout, width: frame.width, height: frame.height }, width, height, full, interp);
  return { data: r.data, width, height, scale: r.scale, padX: r.padX, padY: r.padY };
}
