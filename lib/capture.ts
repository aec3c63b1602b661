import { AvcvError } from './errors';
import type { Frame } from './frame';
import { VideoReader, type VideoReaderOptions } from './reader';
import { int, oneOf } from './validate';

/**
 * What VideoCapture.get() reads: 'fps', 'frameCount' (0 when unknown),
 * 'width', 'height', 'posFrames' (frames read so far: the next frame's
 * index) and 'posMsec' (the last frame read's time, in ms).
 */
export type CaptureProperty = 'fps' | 'frameCount' | 'width' | 'height' | 'posFrames' | 'posMsec';
const PROPS: readonly CaptureProperty[] = ['fps', 'frameCount', 'width', 'height', 'posFrames', 'posMsec'];

/**
 * OpenCV's VideoCapture shape over VideoReader, for porting cv2 / ffmpegcv
 * code. Frames are BGR (bgr24, HWC) like OpenCV's unless `format` says otherwise.
 *
 * | cv2                                  | avcv                                        |
 * |--------------------------------------|---------------------------------------------|
 * | `cap = cv2.VideoCapture(p)`          | `const cap = await VideoCapture.open(p)`    |
 * | `ok, img = cap.read()`               | `const { ok, frame } = await cap.read()`    |
 * | `cap.get(cv2.CAP_PROP_FPS)`          | `cap.get('fps')`                            |
 * | `cap.get(cv2.CAP_PROP_FRAME_COUNT)`  | `cap.get('frameCount')`                     |
 * | `cap.set(cv2.CAP_PROP_POS_FRAMES, n)`| `await cap.set('posFrames', n)` (exact)     |
 * | `cap.release()`                      | `await cap.release()`                       |
 *
 * @example
 * ```ts
 * const cap = await VideoCapture.open('in.mp4');
 * console.log(cap.get('fps'), cap.get('frameCount'));
 * await cap.set('posFrames', 100);                  // the next read() is frame 100, exactly
 * for (let r = await cap.read(); r.ok; r = await cap.read()) console.log(r.frame!.index);
 * await cap.release();
 * ```
 */
export class VideoCapture {
  #reader: VideoReader | null;
  #pos = 0;
  #lastTime = 0;
  /** after set('posFrames'): reads go through exact random access from here */
  #seeking = false;

  private constructor(reader: VideoReader) {
    this.#reader = reader;
  }

  /** Opens `source` with VideoReader's options (format defaults to 'bgr24', as OpenCV's). */
  static async open(source: string | URL, options: VideoReaderOptions = {}): Promise<VideoCapture> {
    const opts = { format: 'bgr24' as const, ...options };
    return new VideoCapture(await VideoReader.open(source, opts));
  }

  /** True until release(). */
  isOpened(): boolean {
    return this.#reader !== null;
  }

  /** Like cv2: `{ ok: false, frame: null }` at the end of the video (errors still throw). */
  async read(): Promise<{
    /** False at the end of the video, or after release(). */
    ok: boolean;
    /** The next frame, or null when ok is false. */
    frame: Frame | null;
  }> {
    if (!this.#reader) return { ok: false, frame: null };
    let frame: Frame | null;
    if (this.#seeking) {  // continues decoding forward from the seek: no re-seek per frame
      const n = (await this.#reader.index()).frameCount;
      frame = this.#pos < n ? await this.#reader.frame(this.#pos) : null;
    } else {
      frame = await this.#reader.read();
    }
    if (!frame) return { ok: false, frame: null };
    this.#pos++;
    this.#lastTime = frame.time;
    return { ok: true, frame };
  }

  /** A property's value (see {@link CaptureProperty}); 0 after release(). */
  get(prop: CaptureProperty): number {
    const p = oneOf('prop', prop, PROPS);
    const r = this.#reader;
    if (!r) return 0;
    switch (p) {
      case 'fps': return r.info.fps;
      case 'frameCount': return r.info.frameCount ?? 0;
      case 'width': return r.info.width;
      case 'height': return r.info.height;
      case 'posFrames': return this.#pos;
      case 'posMsec': return this.#lastTime * 1000;
    }
  }

  /**
   * `posFrames`: the next read() returns frame n exactly (by the reader's
   * frame index: a keyframe seek, then decoding forward). Returns false when
   * the video has fewer than n frames.
   */
  async set(prop: 'posFrames', value: number): Promise<boolean> {
    if (prop !== 'posFrames') throw new TypeError(`set: only 'posFrames' can be set; got '${String(prop)}'`);
    const n = int('value', value, 0, Number.MAX_SAFE_INTEGER);
    if (!this.#reader) throw new AvcvError('CLOSED', 'the capture is released');
    const ix = await this.#reader.index();
    this.#seeking = true;
    this.#pos = Math.min(n, ix.frameCount);
    this.#lastTime = this.#pos > 0 ? ix.times[this.#pos - 1] : 0;
    return n <= ix.frameCount;
  }

  /** Closes the reader; later reads give `{ ok: false, frame: null }`. Idempotent. */
  async release(): Promise<void> {
    const r = this.#reader;
    this.#reader = null;
    if (r) await r.close();
  }
}
