/**
 * Every code an AvcvError can carry, with its meaning. The README's error
 * table is checked against this list (test/api.test.mjs), and native/'s codes
 * against it too: a code missing here arrives as 'INTERNAL'.
 *
 * @example
 * ```ts
 * for (const [code, meaning] of Object.entries(ERROR_CODES)) console.log(code, meaning);
 * ```
 */
export const ERROR_CODES = {
  /** The file does not exist. */
  ENOENT: 'the file does not exist',
  /** The file cannot be read (permissions). */
  EACCES: 'the file cannot be read (permissions)',
  /** The path is a directory. */
  EISDIR: 'the path is a directory',
  /** The operation is not permitted. */
  EPERM: 'the operation is not permitted',
  /** An empty source or an invalid request to libav. */
  EINVAL: 'an empty source or an invalid request to libav',
  /** Out of memory. */
  ENOMEM: 'out of memory',
  /** No space left on the device. */
  ENOSPC: 'no space left on the device',
  /** The path is a FIFO, socket or device, which could block without end. */
  NOT_REGULAR_FILE: 'the path is a FIFO, socket or device, which could block without end',
  /** The file system failed (creating or writing a file). */
  IO: 'the file system failed (creating or writing a file)',
  /** The output already exists and overwrite was not asked for. */
  EXISTS: 'the output already exists and overwrite was not asked for',
  /** The input ended where more was needed. */
  EOF: 'the input ended where more was needed',
  /** The input is empty, not media, or damaged beyond reading. */
  INVALID_DATA: 'the input is empty, not media, or damaged beyond reading',
  /** Libav could not open the source. */
  OPEN: 'libav could not open the source',
  /** The source has no video stream, or not the one asked for. */
  NO_VIDEO_STREAM: 'the source has no video stream, or not the one asked for',
  /** The source has no audio stream, or not the one asked for. */
  NO_AUDIO_STREAM: 'the source has no audio stream, or not the one asked for',
  /** No decoder or encoder for the codec in this libav build. */
  UNSUPPORTED_CODEC: 'no decoder or encoder for the codec in this libav build',
  /** An unknown container or input format. */
  UNSUPPORTED_FORMAT: 'an unknown container or input format',
  /** The operation does not apply to this reader or frame. */
  UNSUPPORTED: 'the operation does not apply to this reader or frame',
  /** No libav protocol handles the URL. */
  PROTOCOL_NOT_FOUND: 'no libav protocol handles the URL',
  /** The protocol is not in the protocols option. */
  PROTOCOL_NOT_ALLOWED: 'the protocol is not in the protocols option',
  /** The source tried to open other inputs (playlists, manifests, lists), or a filter graph names a filter that opens files or URLs, and allowNestedInputs is off. */
  NESTED_INPUT_BLOCKED: 'the source tried to open other inputs (playlists, manifests, lists), or a filter graph names a filter that opens files or URLs, and allowNestedInputs is off',
  /** A filter graph string libavfilter cannot parse or configure; the message names the filter. */
  INVALID_FILTER: 'a filter graph string libavfilter cannot parse or configure; the message names the filter',
  /** Random access with a filter graph that carries state from frame to frame (fps, yadif, setpts, ...). */
  FILTER_NOT_SEEKABLE: 'random access with a filter graph that carries state from frame to frame (fps, yadif, setpts, ...)',
  /** The device asked for (CUDA, NVDEC, NVENC) is not usable; the message says why. */
  NO_DEVICE: 'the device asked for (CUDA, NVDEC, NVENC) is not usable; the message says why',
  /** A network source could not be reached (refused, unreachable, reset, or an HTTP error other than 404). */
  CONNECT: 'a network source could not be reached (refused, unreachable, reset, or an HTTP error other than 404)',
  /** A network source did not answer within live.openTimeout. */
  TIMEOUT: 'a network source did not answer within live.openTimeout',
  /** The server has no such stream or resource (HTTP 404). */
  NOT_FOUND: 'the server has no such stream or resource (HTTP 404)',
  /** A live source stopped (no packet for live.stallTimeout, or the stream ended) and reconnecting gave up; the message has the last libav error. */
  DISCONNECTED: 'a live source stopped (no packet for live.stallTimeout, or the stream ended) and reconnecting gave up; the message has the last libav error',
  /** Reading packets failed. */
  DEMUX: 'reading packets failed',
  /** Decoding failed, or the stream gave no frame although it declares some. */
  DECODE: 'decoding failed, or the stream gave no frame although it declares some',
  /** Encoding failed. */
  ENCODE: 'encoding failed',
  /** A pixel conversion or audio resampling failed. */
  CONVERT: 'a pixel conversion or audio resampling failed',
  /** Writing the output failed (e.g. a full disk). */
  WRITE: 'writing the output failed (e.g. a full disk)',
  /** Damaged data under onCorrupt 'error', or a frame random access cannot reproduce from damaged data. */
  CORRUPT: 'damaged data under onCorrupt \'error\', or a frame random access cannot reproduce from damaged data',
  /** The file ends before what its container promises (onCorrupt 'error'). */
  TRUNCATED: 'the file ends before what its container promises (onCorrupt \'error\')',
  /** Random access could not reach the frame from any keyframe. */
  SEEK: 'random access could not reach the frame from any keyframe',
  /** The frames of this stream cannot be found again after a seek. */
  INDEX: 'the frames of this stream cannot be found again after a seek',
  /** A saved index file is unreadable or for another stream. */
  INVALID_INDEX: 'a saved index file is unreadable or for another stream',
  /** A saved index was made for another version of the file. */
  STALE_INDEX: 'a saved index was made for another version of the file',
  /** The source gave no frames to work on. */
  NO_FRAMES: 'the source gave no frames to work on',
  /** Approximate seeking needs a frame count and rate the metadata lacks. */
  NO_FRAME_COUNT: 'approximate seeking needs a frame count and rate the metadata lacks',
  /** An OpenCV operation failed. */
  OPENCV: 'an OpenCV operation failed',
  /** An optional peer module (@u4/opencv4nodejs, node-av) is not installed. */
  PEER_MISSING: 'an optional peer module (@u4/opencv4nodejs, node-av) is not installed',
  /** The frame function threw on a worker (chunked transform); the message names the chunk and frame, cause is what it threw. */
  FN_FAILED: 'the frame function threw on a worker (chunked transform); the message names the chunk and frame, cause is what it threw',
  /** The reader or writer is closed. */
  CLOSED: 'the reader or writer is closed',
  /** The frame was released (frame.release()): its memory went back to the reader. */
  RELEASED: 'the frame was released (frame.release()): its memory went back to the reader',
  /** The operation was aborted (signal, close, or environment teardown). */
  ABORTED: 'the operation was aborted (signal, close, or environment teardown)',
  /** Another read is already pending on this object. */
  BUSY: 'another read is already pending on this object',
  /** A bug in avcv: please report it. */
  INTERNAL: 'a bug in avcv: please report it',
} as const;

/** The code of an AvcvError: one of the keys of {@link ERROR_CODES} ('ENOENT', 'DECODE', 'CLOSED', ...). */
export type AvcvErrorCode = keyof typeof ERROR_CODES;

/**
 * Runtime failure from avcv: a stable `code`, libav's message, and the source.
 * Bad arguments are TypeError or RangeError instead, naming the option.
 *
 * @example
 * ```ts
 * try {
 *   await VideoReader.open('missing.mp4');
 * } catch (err) {
 *   if (err instanceof AvcvError && err.code === 'ENOENT') console.log('no such file:', err.source);
 *   else throw err;
 * }
 * ```
 */
export class AvcvError extends Error {
  /** Always 'AvcvError'. */
  override name = 'AvcvError';
  /** Stable machine-readable code (ERROR_CODES), e.g. 'ENOENT', 'INVALID_DATA', 'DECODE', 'CLOSED', 'ABORTED'. */
  readonly code: AvcvErrorCode;
  /** The path or URL involved, when there is one. */
  readonly source?: string;
  /** The raw AVERROR value from libav, when libav produced the error (0 otherwise). */
  readonly averror: number;

  constructor(code: AvcvErrorCode, message: string, options: { source?: string; averror?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.source = options.source;
    this.averror = options.averror ?? 0;
  }
}

/** Turns an error from the native addon into an AvcvError (TypeError/RangeError pass through). */
export function fromNative(err: unknown, source?: string, stackFrom?: Error): Error {
  if (err instanceof TypeError || err instanceof RangeError) return err;
  // a bad value found natively (e.g. an odd width for yuv420p) is still a bad argument
  if ((err as { code?: unknown })?.code === 'INVALID_ARGUMENT') {
    const r = new RangeError(String((err as Error).message));
    if (stackFrom?.stack) r.stack = `RangeError: ${r.message}\n${stackFrom.stack.split('\n').slice(1).join('\n')}`;
    return r;
  }
  const e = err as { code?: unknown; message?: unknown; averror?: unknown };
  const raw = typeof e?.code === 'string' ? e.code : 'INTERNAL';
  const known = Object.prototype.hasOwnProperty.call(ERROR_CODES, raw);
  const code: AvcvErrorCode = known ? (raw as AvcvErrorCode) : 'INTERNAL';
  const message = (typeof e?.message === 'string' ? e.message : String(err)) + (known ? '' : ` (unlisted code ${raw})`);
  const out = new AvcvError(code, message, { source, averror: typeof e?.averror === 'number' ? e.averror : 0 });
  if (stackFrom?.stack) {
    // Point at the caller's line, not at the promise machinery.
    out.stack = `${out.name}: ${out.message}\n${stackFrom.stack.split('\n').slice(1).join('\n')}`;
  }
  return out;
}
