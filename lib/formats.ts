/** Pixel formats avcv reads and writes. 'bgr24' is OpenCV's order; every frame says which it is. */
export type PixelFormat = 'bgr24' | 'rgb24' | 'gray' | 'bgra' | 'rgba' | 'yuv420p' | 'nv12';
/** hwc: interleaved rows; chw: one plane per channel in the format's order; planar: YUV planes. */
export type Layout = 'hwc' | 'chw' | 'planar';

/** Every {@link PixelFormat}, for validating or listing them. */
export const PIXEL_FORMATS: readonly PixelFormat[] = ['bgr24', 'rgb24', 'gray', 'bgra', 'rgba', 'yuv420p', 'nv12'];
/** Every {@link Layout}: 'hwc', 'chw' and 'planar'. */
export const LAYOUTS: readonly Layout[] = ['hwc', 'chw', 'planar'];

/**
 * The one table of interpolation names: every name resizes frames (swscale);
 * `opencv` ones also serve the cv namespace and letterbox. native/core's
 * image.cpp maps each name to its flags.
 */
export const INTERPOLATIONS = {
  nearest: { opencv: true }, bilinear: { opencv: true }, bicubic: { opencv: true }, area: { opencv: true },
  lanczos: { opencv: true }, fast_bilinear: { opencv: false }, spline: { opencv: false }, gauss: { opencv: false },
} as const;
/**
 * A resize interpolation: 'nearest', 'bilinear', 'bicubic', 'area' and
 * 'lanczos' (also accepted by the cv namespace and letterbox), and
 * 'fast_bilinear', 'spline' and 'gauss' (swscale only: the reader's resize).
 *
 * @useDeclaredType
 */
export type Interpolation = keyof typeof INTERPOLATIONS;
/**
 * The interpolations OpenCV has too: 'nearest', 'bilinear', 'bicubic', 'area', 'lanczos'.
 *
 * @inline
 */
export type CvInterpolation = { [K in Interpolation]: (typeof INTERPOLATIONS)[K]['opencv'] extends true ? K : never }[Interpolation];
export const INTERPOLATION_NAMES = Object.keys(INTERPOLATIONS) as Interpolation[];
export const CV_INTERPOLATION_NAMES = INTERPOLATION_NAMES.filter((k) => INTERPOLATIONS[k].opencv) as CvInterpolation[];

export function isPlanarYuv(f: PixelFormat): boolean {
  return f === 'yuv420p' || f === 'nv12';
}

/** Components per pixel: 3 for BGR/RGB (and the three YUV components), 4 with alpha, 1 for gray. */
export function channelsOf(f: PixelFormat): number {
  switch (f) {
    case 'bgra':
    case 'rgba': return 4;
    case 'gray': return 1;
    default: return 3;
  }
}

/** The channel names in memory order, e.g. ['b','g','r']. */
export function channelOrder(f: PixelFormat): string[] {
  switch (f) {
    case 'bgr24': return ['b', 'g', 'r'];
    case 'rgb24': return ['r', 'g', 'b'];
    case 'bgra': return ['b', 'g', 'r', 'a'];
    case 'rgba': return ['r', 'g', 'b', 'a'];
    case 'gray': return ['y'];
    default: return ['y', 'u', 'v'];
  }
}

export function defaultLayout(f: PixelFormat): Layout {
  return isPlanarYuv(f) ? 'planar' : 'hwc';
}

export function byteLength(f: PixelFormat, layout: Layout, width: number, height: number): number {
  if (isPlanarYuv(f)) return width * height + 2 * (width / 2) * (height / 2);
  void layout;
  return width * height * channelsOf(f);
}

/** Shape of the data: [H, W, C] (hwc), [C, H, W] (chw), [H * 3/2, W] (4:2:0 planar). */
export function shapeOf(f: PixelFormat, layout: Layout, width: number, height: number): number[] {
  if (isPlanarYuv(f)) return [height + height / 2, width];
  const c = channelsOf(f);
  return layout === 'chw' ? [c, height, width] : [height, width, c];
}

/** One plane of a frame's data (see Frame.planes): a view, not a copy. */
export interface Plane {
  /** 'y' | 'u' | 'v' | 'uv' for YUV formats, the channel letter for chw, 'packed' for hwc. */
  name: string;
  /** The plane's bytes: a view into the frame's data (width * height * elementBytes bytes). */
  data: Uint8Array;
  /** Elements per row (pixels; half the frame's width for chroma planes). */
  width: number;
  /** Rows (half the frame's height for chroma planes). */
  height: number;
  /** bytes per element: 2 for nv12's interleaved UV, the channel count for packed, else 1 */
  elementBytes: number;
}

export function planesOf(data: Uint8Array, f: PixelFormat, layout: Layout, width: number, height: number): Plane[] {
  const area = width * height;
  const view = (off: number, len: number) => data.subarray(off, off + len);
  if (f === 'yuv420p') {
    const c = area / 4;
    return [
      { name: 'y', data: view(0, area), width, height, elementBytes: 1 },
      { name: 'u', data: view(area, c), width: width / 2, height: height / 2, elementBytes: 1 },
      { name: 'v', data: view(area + c, c), width: width / 2, height: height / 2, elementBytes: 1 },
    ];
  }
  if (f === 'nv12') {
    return [
      { name: 'y', data: view(0, area), width, height, elementBytes: 1 },
      { name: 'uv', data: view(area, area / 2), width: width / 2, height: height / 2, elementBytes: 2 },
    ];
  }
  if (layout === 'chw' || f === 'gray') {
    return channelOrder(f).map((name, i) => ({ name, data: view(i * area, area), width, height, elementBytes: 1 }));
  }
  return [{ name: 'packed', data, width, height, elementBytes: channelsOf(f) }];
}
