// The declared surface of the native addon: the one contract between lib/ and native/.
// lib/ validates and normalises every options object before it crosses.

export interface NativeRational { num: number; den: number }

export interface NativeStream {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | null;
  codec: string | null;
  codecLongName: string;
  profile: string | null;
  bitRate: number | null;
  timeBase: NativeRational;
  startTime: number | null;
  duration: number | null;
  nbFrames: number | null;
  tags: Record<string, string>;
  width?: number;
  height?: number;
  pixelFormat?: string | null;
  bitDepth?: number;
  colorRange?: string | null;
  colorSpace?: string | null;
  colorPrimaries?: string | null;
  colorTransfer?: string | null;
  avgFrameRate?: NativeRational;
  baseFrameRate?: NativeRational;
  sampleAspectRatio?: NativeRational;
  rotation?: number | null;
  frameCount?: number | null;
  frameCountExact?: boolean;
  sampleRate?: number;
  channels?: number;
  channelLayout?: string | null;
  sampleFormat?: string | null;
}

export interface NativeProbe {
  format: string;
  formatLongName: string;
  duration: number | null;
  startTime: number | null;
  bitRate: number | null;
  size: number | null;
  tags: Record<string, string>;
  streams: NativeStream[];
}

/**
 * The native option objects are complete: lib/ validates and defaults every
 * field and the binding (native/binding/options.cpp) reads each one with no
 * default of its own.
 */
export interface NativeInputOptions {
  source: string;
  protocols: string[];
  allowNestedInputs: boolean;
  /** libav input format/device name forced instead of probing (e.g. 'lavfi'); '' = probe. */
  inputFormat: string;
  /** a live source's timeouts, probing and reconnects; null for files */
  live: NativeLiveOptions | null;
}

export interface NativeLiveOptions {
  openTimeout: number; stallTimeout: number; probeDuration: number; transport: string;
  /** -1: without limit */
  attempts: number; delay: number; maxDelay: number;
  queue: 'block' | 'dropOldest' | 'latest';
  listen: boolean;
}

export interface NativeReaderOptions extends NativeInputOptions {
  stream: number;            // -1 = best
  threads: number;           // 0 = auto
  format: string;
  layout: string;
  width: number;             // 0 = source / keep aspect
  height: number;
  crop: { x: number; y: number; width: number; height: number } | null;
  interpolation: string;
  quality: 'fast' | 'accurate';
  autorotate: boolean;
  onCorrupt: 'skip' | 'error';
  device: string;
  /** a libavfilter graph between decoding and the conversion; '' = none */
  filter: string;
}

/** Packets of the indexed stream in decode order; a missing pts/dts is -2^63 (AV_NOPTS_VALUE). */
export interface NativeIndexPackets { pts: Float64Array; dts: Float64Array; pos: Float64Array; key: Uint8Array; discard: Uint8Array }
/** The frames of an index built by decoding, in display order: the packet each came from, its pts, key flag and whether it was decoded after damage. */
export interface NativeIndexFrames { packet: Float64Array; pts: Float64Array; key: Uint8Array; damaged: Uint8Array }
export interface NativeIndex {
  pts: Float64Array; continuousPts: Float64Array; discontinuous: boolean; keyframes: Uint32Array; timeBase: NativeRational;
  packets: NativeIndexPackets; frames?: NativeIndexFrames;
  /** 'packets': built from a packet scan; 'decode': built by decoding the stream once (reason says why) */
  method: 'packets' | 'decode'; reason?: string;
  /** set when frames cannot be found again after a seek: random access is refused with this reason */
  unusable?: string;
}

export interface NativeFrameResult {
  data: Uint8Array;
  pts: number;
  /** seconds on the continuous timeline (the index's) */
  time: number;
  /** pts in seconds */
  rawTime: number;
  duration: number;
  durationSeconds: number;
  index: number;
  keyframe: boolean;
  corrupt: boolean;
  discontinuity: boolean;
  receivedAt: number;
}

export interface NativeReaderInfo {
  container: NativeProbe;
  stream: NativeStream;
  decoder: string;
  rotation: number;
  device: { type: 'cpu' | 'cuda'; index?: number; fallbackReason?: string };
  /** bytes: the frame; padding: scratch bytes every lent buffer needs after it (swscale writes past the end). */
  output: { width: number; height: number; format: string; layout: string; bytes: number; padding: number };
  crop: { x: number; y: number; width: number; height: number };
  /** the filter graph's output, null without a filter; perFrame: why random access is refused ('' = allowed) */
  filter: { width: number; height: number; format: string; timeBase: NativeRational; frameRate: NativeRational; notPerFrame: string } | null;
}

export interface NativeReaderStats {
  /** Frames the decoder gave for sequential reading. */
  framesDecoded: number;
  /** Packets of the video stream read. */
  packetsRead: number;
  /** the video stream's packet bytes read */
  bytesIn: number;
  /** Packets the demuxer flagged as corrupt (skipped under onCorrupt 'skip'). */
  corruptPackets: number;
  /** Frames the decoder flagged as decoded with errors (concealed). */
  corruptFrames: number;
  /** Packets the decoder failed on. */
  decodeErrors: number;
  /** Read errors the demuxer recovered from. */
  demuxErrors: number;
  /** The file ends before what its container promises. */
  truncated: boolean;
  /** Live sources: times the source was reopened after a stall or an end. */
  reconnects: number;
  /** Live sources: attempts to reopen it, successful or not. */
  reconnectAttempts: number;
  /** Live sources: times no packet came for live.stallTimeout seconds. */
  stalls: number;
  /** Live sources: frames the live.queue policy dropped ('dropOldest', 'latest'). */
  dropped: number;
  /** libav's message for the last error (damage, a lost connection), or null. */
  lastError: string | null;
  /** frames decoded by random access (frame/frames/frameAt), skipped ones included */
  randomAccessFramesDecoded?: number;
  /** packet scans made to build the frame index (0 when a saved index was loaded) */
  indexScans?: number;
  /** frames resized on the GPU (scale_cuda) before their download (device 'cuda' only) */
  gpuScaledFrames?: number;
}

export interface NativeReader {
  info(): NativeReaderInfo | null;
  push(buffer: Uint8Array): void;
  next(): Promise<NativeFrameResult | null>;
  close(): Promise<void>;
  stats(): NativeReaderStats;
  /** The frame index (what sequential decoding yields), built on a second, random-access decoder of the source. */
  index(): Promise<NativeIndex>;
  /** Use a saved index (decode-order packets, and the frames of a decoded index) instead of scanning; call before any random access. */
  loadIndex(packets: NativeIndexPackets, frames?: NativeIndexFrames): void;
  /** Display-order frame i, exactly, decoded into `buffer` (frame bytes + padding). */
  frameAt(i: number, buffer: Uint8Array, approxPts?: number): Promise<NativeFrameResult>;
}

export interface NativeAudioReaderOptions extends NativeInputOptions {
  stream: number;            // -1 = best audio stream
  sampleRate: number;        // 0 = the source's
  channels: number;          // 0 = the source's (its layout); N = libav's default layout for N (ffmpeg -ac N)
  format: 'f32' | 's16';
  layout: 'interleaved' | 'planar';
  /** seconds: the window [start, end) sequential reading covers; end null = to the end */
  start: number;
  end: number | null;
  /** samples per channel of a chunk (the last may be shorter) */
  chunkSamples: number;
  onCorrupt: 'skip' | 'error';
  /** a libavfilter graph between decoding and resampling; '' = none */
  filter: string;
}

export interface NativeAudioChunk {
  /** The lent buffer (next()) or a new one (range()); samples * channels values of the output format. */
  data: Uint8Array;
  /** per channel */
  samples: number;
  /** the first sample's position on the output (0 = the stream's first decoded sample) */
  index: number;
  /** the first sample's time in 1/sampleRate units: round(startTime * sampleRate) + index */
  pts: number;
  /** the first sample's time in seconds: startTime + index / sampleRate */
  time: number;
}

export interface NativeAudioReaderInfo {
  container: NativeProbe;
  stream: NativeStream;
  decoder: string;
  sampleRate: number;
  channels: number;
  channelLayout: string;
  bytesPerSample: number;
  chunkSamples: number;
  /** the first decoded frame's (what the output is converted from) */
  sourceSampleRate: number;
  sourceChannels: number;
  sourceChannelLayout: string;
  sourceSampleFormat: string;
  /** seconds of the first decoded sample (after the priming samples libavcodec trims) */
  startTime: number;
}

export interface NativeAudioStats {
  /** Audio frames the decoder gave for sequential reading. */
  framesDecoded: number;
  /** Packets of the audio stream read. */
  packetsRead: number;
  /** Packets the demuxer flagged as corrupt (skipped under onCorrupt 'skip'). */
  corruptPackets: number;
  /** Frames the decoder flagged as decoded with errors. */
  corruptFrames: number;
  /** Packets the decoder failed on. */
  decodeErrors: number;
  /** Read errors the demuxer recovered from. */
  demuxErrors: number;
  /** The file ends before what its container promises. */
  truncated: boolean;
  /** libav's message for the last error, or null. */
  lastError: string | null;
}

export interface NativeAudioReader {
  info(): NativeAudioReaderInfo | null;
  /** Lends a chunk buffer: exactly chunkSamples * channels * bytesPerSample bytes, 4-byte aligned. */
  push(buffer: Uint8Array): void;
  next(): Promise<NativeAudioChunk | null>;
  /**
   * Output samples [sampleAt(start), sampleAt(end)) (end < 0 or Infinity: to the end), decoded on a second
   * reader from the stream's start (continued when the previous range ended at or before this one's start).
   * More than maxValues samples across all channels rejects with code INVALID_ARGUMENT.
   */
  range(start: number, end: number, maxValues: number): Promise<NativeAudioChunk>;
  close(): Promise<void>;
  stats(): NativeAudioStats;
}

export interface NativeWriterOptions {
  /** libav protocols the output may use (protocol_whitelist) */
  protocols: string[];
  /** the muxer's own options (hls: hls_time, hls_list_size, hls_flags, hls_segment_filename) */
  muxerOptions: Record<string, string>;
  path: string;
  container: string;
  width: number;
  height: number;
  fps: NativeRational;
  /** {0, 1}: 1/fps (transcoding: the source's) */
  timeBase: NativeRational;
  codec: string;
  /** -1: none */
  crf: number;
  /** 0: none */
  bitrate: number;
  /** '': as crf/bitrate say */
  rateControl: '' | 'cq' | 'vbr' | 'cbr';
  /** '': the encoder's */
  preset: string;
  profile: string;
  tune: string;
  /** -1: the encoder's */
  gop: number;
  threads: number;
  codecOptions: Record<string, string>;
  pixelFormat: string;
  inputFormat: string;
  inputLayout: string;
  faststart: boolean;
  metadata: Record<string, string>;
  /** mode 'none' with source '' when there is no audio */
  audio: { mode: 'copy' | 'encode' | 'auto' | 'none'; source: string; protocols: string[]; shift: number; start: number; inputFormat: string; filter: string; allowNestedInputs: boolean };
  /** network targets: timeouts (0: none) and reconnects (attempts -1: without limit) */
  live: { enabled: boolean; openTimeout: number; stallTimeout: number; attempts: number; delay: number; maxDelay: number };
}

export interface NativeTranscodeResult {
  /** 'gpu-passthrough': NVDEC -> (scale_cuda) -> NVENC on the GPU; 'native': decoded frames in system memory. */
  path: 'gpu-passthrough' | 'native';
  /** Why the frames left the GPU, when a device other than 'cpu' was asked for. */
  passthroughReason: string | null;
  device: { type: 'cpu' | 'cuda'; index?: number; fallbackReason?: string };
  decoder: string;
  width: number;
  height: number;
  framesIn: number;
  reader: { framesDecoded: number; decodeErrors: number; corruptFrames: number; gpuScaledFrames: number; lastError: string | null };
  writer: NativeWriterStats;
}

export interface NativeLadderResult {
  device: { type: 'cpu' | 'cuda'; index?: number; fallbackReason?: string };
  decoder: string;
  framesIn: number;
  /** the time base of segmentStarts and end */
  timeBase: { num: number; den: number };
  /** pts (from the first frame) of each segment's first frame: the forced keyframes */
  segmentStarts: number[];
  /** the video's end (last pts + its step) */
  end: number;
  renditions: NativeWriterStats[];
  audioMode: 'none' | 'copy' | 'encode';
  audioCodec: string | null;
  audioDuration: number;
  audioPackets: number;
  reader: { framesDecoded: number; decodeErrors: number; corruptFrames: number; gpuScaledFrames: number; lastError: string | null };
}

export interface NativeLadderAudio {
  /** the audio rendition's playlist (the hls muxer's) */
  path: string;
  muxerOptions: Record<string, string>;
  source: string;
  protocols: string[];
  inputFormat: string;
  allowNestedInputs: boolean;
  /** bits per second */
  bitrate: number;
  /** 0: the source's */
  channels: number;
}

export interface NativeRemuxOptions {
  input: NativeInputOptions;
  /** a temp file, or the network target */
  path: string;
  protocols: string[];
  container: string;
  /** seconds, 0: until the source ends */
  duration: number;
  realtime: boolean;
  loop: boolean;
  /** a network output's, seconds (0: none) */
  openTimeout: number;
  stallTimeout: number;
}

export interface NativeRemux {
  promise: Promise<{ duration: number; packets: number; bytes: number; dropped: number; reconnects: number; loops: number; streams: string[]; disconnected: string | null }>;
  progress(): { seconds: number; packets: number; reconnects: number };
  cancel(): void;
  /** ends the job now, the output finished */
  stop(): void;
}

export interface NativeTranscode {
  promise: Promise<NativeTranscodeResult>;
  /** Frames encoded so far. */
  progress(): number;
  cancel(): void;
}

export interface NativeWriterStats {
  /** Frames encoded. */
  frames: number;
  packets: number;
  /** Bytes written to the output (a network target: sent). */
  bytes: number;
  audioPackets: number;
  /** The encoder used (e.g. 'libx264', 'h264_nvenc'). */
  encoder: string;
  /** The encoded pixel format (e.g. 'yuv420p'). */
  pixelFormat: string;
  /** What was done with the audio: 'none', 'copy' or 'encode'. */
  audioMode: 'none' | 'copy' | 'encode';
  /** The output's audio codec (e.g. 'aac'), or null without audio. */
  audioCodec: string | null;
  /** Seconds of video written. */
  videoDuration: number;
  /** Seconds of audio written. */
  audioDuration: number;
  /** network targets: frames that did not reach the server (the connection was down) */
  dropped: number;
  /** Network targets: connections restored after a loss. */
  reconnects: number;
  /** Network targets: reconnection tries, successful or not. */
  reconnectAttempts: number;
  /** Network targets: whether the connection is up now (files: true while open). */
  connected: boolean;
  /** why the last connection was lost, or null */
  lastError: string | null;
}

export interface NativeWriter {
  /** Resolves once the frame has been converted out of `data` (reusable then). pts in the time base. */
  write(data: Uint8Array, pts: number): Promise<void>;
  /** Flushes, writes the trailer and closes the file (at its temp path). */
  finish(): Promise<NativeWriterStats>;
  /** Stops and removes the unfinished output. */
  abort(): Promise<void>;
  stats(): NativeWriterStats;
}

/**
 * Whether CUDA is usable on this machine (capabilities().cuda).
 *
 * @inline
 */
export interface NativeCudaInfo {
  /** CUDA works: the driver loads, reports a GPU, and libav opens a CUDA device on it. */
  available: boolean;
  /** Why CUDA is not usable (e.g. 'no CUDA driver (libcuda.so.1 not found)'), or null. */
  reason: string | null;
  /** GPUs the driver reports. */
  deviceCount: number;
  /** Their names, by device index. */
  names: string[];
}
/**
 * What this machine and build can do with hardware (capabilities()).
 *
 * @inline
 */
export interface NativeCapabilities {
  /** Hardware device types libav was built with (e.g. 'cuda', 'vaapi'). */
  hwDeviceTypes: string[];
  /** CUDA's state: available, why not, and the GPUs. */
  cuda: NativeCudaInfo;
  /** Codecs NVDEC can decode in this build (e.g. 'h264', 'hevc', 'av1'). */
  nvdec: string[];
  /** NVENC encoders in this build ('h264_nvenc', 'hevc_nvenc', 'av1_nvenc'). */
  nvenc: string[];
  /**
   * Those of `nvenc` that open an encoding session on CUDA device 0: empty
   * without a GPU, and on GPUs that have NVDEC but no NVENC engine (H100,
   * A100), where `device: 'auto'` encodes on the CPU and `'cuda'` is a
   * NO_DEVICE error.
   */
  nvencUsable: string[];
  /** Why an encoder of `nvenc` is not in `nvencUsable` (libav's words); absent when all are usable. */
  nvencReason?: string;
  /** Whether the scale_cuda filter exists (GPU-side resizing). */
  scaleCuda: boolean;
}

export interface NativeImageDesc { format: string; layout: string; width: number; height: number }

/** Work on a native thread whose libav I/O cancel() interrupts. */
export interface NativeJob<T> { promise: Promise<T>; cancel(): void }

export type NativeGraphInput =
  | { type: 'video'; width: number; height: number; format: string; layout: string; timeBase: NativeRational; frameRate: NativeRational }
  | { type: 'audio'; sampleRate: number; channels: number; format: 'f32' | 's16'; layout: 'interleaved' | 'planar'; timeBase: NativeRational };
export type NativeGraphOutput = { type: 'video'; format: string } | { type: 'audio'; format: 'f32' | 's16'; layout: 'interleaved' | 'planar' };
export interface NativeGraphPad {
  type: 'video' | 'audio'; timeBase: NativeRational; libavFormat: string;
  width?: number; height?: number; frameRate?: NativeRational; sampleRate?: number; channels?: number;
}
export interface NativeFilterGraph {
  info(): NativeGraphPad[] | null;
  /** bytes null: the end of that input */
  push(input: number, bytes: Uint8Array | null, pts: number, samples: number): Promise<void>;
  pull(output: number): Promise<{ data: Buffer; pts: number; samples: number; width: number; height: number } | 'again' | 'end'>;
  close(): void;
}

export interface NativeStitch {
  promise: Promise<{ packets: number; audioPackets: number; bytes: number; videoDuration: number; audioDuration: number; audioMode: 'none' | 'copy' | 'encode'; audioCodec: string; codec: string }>;
  progress(): number;
  cancel(): void;
}

export interface NativeAddon {
  /** cancel() interrupts the open and probe (ABORTED at once). */
  probe(options: NativeInputOptions): NativeJob<NativeProbe>;
  /** cancel() interrupts the open, probing included (ABORTED at once). */
  openReader(options: NativeReaderOptions): NativeJob<NativeReader>;
  /** cancel() interrupts the open (ABORTED at once). */
  openAudioReader(options: NativeAudioReaderOptions): NativeJob<NativeAudioReader>;
  NativeFilterGraph: new (graph: string, inputs: NativeGraphInput[], outputs: NativeGraphOutput[], options: { allowNestedInputs: boolean; threads: number }) => NativeFilterGraph;
  /** Reads the audio to its end through options.filter; resolves with what the graph logged at info level (loudnorm's JSON). */
  measureAudio(options: NativeAudioReaderOptions): NativeJob<string>;
  openWriter(options: NativeWriterOptions): Promise<NativeWriter>;
  /** Decode -> encode without JS per frame (GPU passthrough when possible; see native/core/transcode.h). */
  transcode(reader: NativeReaderOptions, writer: NativeWriterOptions, how: { passthrough: -1 | 0 | 1; cfr: boolean }): NativeTranscode;
  /**
   * One decode to many renditions (native/core/ladder.h): each writer's
   * hls muxer segments its rendition, keyframes forced at the same frames;
   * progress() is the frames every rendition has encoded.
   */
  ladder(reader: NativeReaderOptions, renditions: NativeWriterOptions[], how: { segmentDuration: number; maxFps: number[]; audio: NativeLadderAudio | null }): NativeJob<NativeLadderResult> & { progress(): number };
  /** Packets copied from input to output (native/core/remux.h); progress() polls, cancel() ends it (ABORTED). */
  remux(options: NativeRemuxOptions): NativeRemux;
  /**
   * Joins video-only pieces (a chunked transform's) into the writer's output
   * with the source's audio (native/core/stitch.h); progress() is video packets written.
   */
  stitch(writer: NativeWriterOptions, how: { pieces: string[]; starts: number[]; end: number }): NativeStitch;
  /**
   * The encoder a writer uses for a codec name, fourcc or encoder name on a
   * device ('cpu' | 'cuda' | 'cuda:N' | 'auto'): NVENC on a usable GPU, else
   * the best CPU encoder. Throws {code: 'UNSUPPORTED_CODEC' | 'NO_DEVICE'}.
   */
  chooseEncoder(codecName: string, device: string): { encoder: string; device: { type: 'cpu' | 'cuda'; index?: number; fallbackReason?: string } };
  convertImage(data: Uint8Array, src: NativeImageDesc, dst: NativeImageDesc): Uint8Array;
  /**
   * Another libav's frame (node-av's planes, read in place on the calling
   * thread; its pixel format by libav name) converted into a new image of
   * dst (the frame's size), as the reader converts decoded frames.
   */
  convertForeign(
    planes: (Uint8Array | undefined)[], strides: number[],
    src: { format: string; width: number; height: number; colorspace: number; colorRange: number },
    dst: NativeImageDesc,
  ): Uint8Array;
  /** Bytes every destination buffer needs after the image (SIMD stores run past its end). */
  padding: number;
  /** Pooled frame memory (not where versions().externalBuffers is false): its block returns to the pool when the ArrayBuffer is collected or detached. */
  frameBuffer(bytes: number): ArrayBuffer;
  /** A new ArrayBuffer on a frameBuffer's memory; `buffer` is detached (its views are emptied). */
  moveFrameBuffer(buffer: ArrayBuffer): ArrayBuffer;
  /** Whether a reader that takes from the pool is open: with false, idle blocks are freed and so are blocks that come back. */
  framePoolKeep(keep: boolean): void;
  /** A reader opened (true) or closed (false): while any is open, glibc's heap keeps freed large blocks (returns whether it does). */
  heapRetain(on: boolean): boolean;
  framePoolStats(): { idleBytes: number; liveBytes: number; idleBlocks: number; reused: number; allocated: number; freed: number };
  versions(): Record<string, string | boolean>;
  capabilities(): NativeCapabilities;
  probeCuda(index: number): NativeCudaInfo;
  toTensor(data: Uint8Array, img: NativeImageDesc, opts: object, out?: Float32Array | Uint8Array, offset?: number): Float32Array | Uint8Array;
  fromTensor(data: Float32Array | Uint8Array, img: NativeImageDesc, opts: object): Uint8Array;
  letterbox(data: Uint8Array, img: { format: string; layout: string; width: number; height: number }, width: number, height: number, color: number[], interpolation: string):
    { data: Uint8Array; scale: number; padX: number; padY: number; innerWidth: number; innerHeight: number };
  findContours(img: object, mode: string, method: string, async: boolean):
    { contours: Int32Array[]; hierarchy: Int32Array } | Promise<{ contours: Int32Array[]; hierarchy: Int32Array }>;
  cvRun(op: string, inputs: object[], out: object, args: object, async: boolean): number | Promise<number>;
  imencode(img: object, ext: string, args: object, async?: boolean): Uint8Array | Promise<Uint8Array>;
  imdecode(bytes: Uint8Array, gray: boolean, async?: boolean):
    { data: Uint8Array; width: number; height: number } | Promise<{ data: Uint8Array; width: number; height: number }>;
}
