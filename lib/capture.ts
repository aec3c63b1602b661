import { AvcvError } from './errors';
import type { Frame } from './frame';
import { VideoReader, type VideoReaderOptions } from './reader';
import { int, oneOf } from './validate';

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
 */
export class VideoCapture {
  #reader: VideoReader | null;
  #source: string | URL;
  #options: VideoReaderOptions;
  #pos = 0;
  #lastTime = 0;

  private constructor(reader: VideoReader, source: string | URL, options: VideoReaderOptions) {
    this.#reader = reader;
    this.#source = source;
    this.#options = options;
  }

  static async open(source: string | URL, options: VideoReaderOptions = {}): Promise<VideoCapture> {
    const opts = { format: 'bgr24' as const, ...options };
    return new VideoCapture(await VideoReader.open(source, opts), source, opts);
  }

  isOpened(): boolean {
    return this.#reader !== null;
  }

  /** Like cv2: `{ ok: false, frame: null }` at the end of the video (errors still throw). */
  async read(): Promise<{ ok: boolean; frame: Frame | null }> {
    if (!this.#reader) return { ok: false, frame: null };
    const frame = await this.#reader.read();
    if (!frame) return { ok: false, frame: null };
    this.#pos++;
    this.#lastTime = frame.time;
    return { ok: true, frame };
  }

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
   * `posFrames`: the next read() returns frame n exactly. Until indexed
   * random access lands this reopens and decodes forward (O(n)), so it is
   * exact but not fast for large n.
   */
  async set(prop: 'posFrames', value: number): Promise<boolean> {
    if (prop !== 'posFrames') throw new TypeError(`set: only 'posFrames' can be set; got '${String(prop)}'`);
    const n = int('value', value, 0, Number.MAX_SAFE_INTEGER);
    if (!this.#reader) throw new AvcvError('CLOSED', 'the capture is released');
    await this.#reader.close();
    this.#reader = await VideoReader.open(this.#source, this.#options);
    this.#pos = 0;
    this.#lastTime = 0;
    for (let i = 0; i < n; i++) {
      const f = await this.#reader.read();
      if (!f) return false;
      this.#pos++;
      this.#lastTime = f.time;
    }
    return true;
  }

  async release(): Promise<void> {
    const r = this.#reader;
    this.#reader = null;
    if (r) await r.close();
  }
}
