// ladder(): one video to an adaptive-streaming ladder. The native job
// (native/core/ladder.*) decodes once, encodes every rendition on its own
// thread with keyframes forced at the same frames, and segments each with
// libav's hls muxer; the source's audio is encoded once into a rendition of
// its own. This file plans the renditions, checks everything before any
// file exists, and writes the playlists itself from the files as they are:
// BANDWIDTH and AVERAGE-BANDWIDTH measured from the segments' sizes and
// durations, CODECS read from the streams, and the DASH MPD over the same
// segments. The tree is built in a hidden folder beside outDir and renamed
// into place when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeLadderResult, NativeWriterOptions } from '../types/native';
import { initSegmentCodec, tsSegmentH264Codec, type TrackCodec } from './codec-string';
import { checkDevice, type Device, type DeviceInfo } from './device';
import { AvcvError, fromNative } from './errors';
import { ioError, tempBeside } from './files';
import { native } from './native';
import { probe, type AudioStreamInfo, type VideoStreamInfo } from './probe';
import { progressReporter, type TransformProgress } from './progress';
import { normalise } from './reader-options';
import { bool, checkKeys, describe, int, isObject, oneOf } from './validate';
import { planWriter } from './writer-options';

/** A video codec a ladder can be encoded in (the best encoder this build has for it). */
export type LadderCodec = 'h264' | 'hevc' | 'av1';

/** One rendition asked for. */
export interface Rendition {
  /** Height in pixels (even). */
  height: number;
  /** Width in pixels (even); default: the source's display aspect ratio at `height`. */
  width?: number;
  /** Target bitrate in bits per second (average bitrate mode); not with `crf`. */
  bitrate?: number;
  /** Peak bitrate cap in bits per second (VBV: bufsize is twice it). Default with crf: the ladder table's rate for the height. */
  maxrate?: number;
  /** Constant quality (capped by maxrate); default 23 (h264), 28 (hevc), 35 (av1). Not with `bitrate`. */
  crf?: number;
  /** This rendition's codec (default: the ladder's `codec`). */
  codec?: LadderCodec;
  /** Encoder profile (e.g. 'main', 'high'). */
  profile?: string;
  /**
   * The highest frame rate this rendition keeps (e.g. 30 for the low rungs of
   * a 60 fps source): the first frame of each 1/fps slot, timestamps
   * unchanged, a segment's first frame always. Default: every frame.
   */
  fps?: number;
}

/** Options of {@link ladder}. */
export interface LadderOptions {
  /** 'auto' (default): up to four of 2160/1440/1080/720/480/360/240p at or below the source's height. */
  renditions?: 'auto' | Rendition[];
  /**
   * Seconds per segment (default 6, the target duration Apple's HLS
   * authoring specification recommends: few requests, and still a quick
   * switch between renditions). Every rendition's keyframes fall at the
   * same frames: the first whose time reaches each multiple of it.
   */
  segmentDuration?: number;
  /** 'hls' (default): master and media playlists; 'dash': an MPD; 'both': both over the same fMP4 segments. */
  format?: 'hls' | 'dash' | 'both';
  /** HLS segments: 'fmp4' (default, CMAF-style fragments, needed for DASH) or 'ts' (MPEG-TS, HLS only, H.264 only). */
  segmentFormat?: 'fmp4' | 'ts';
  /** The renditions' codec (default 'h264'). */
  codec?: LadderCodec;
  /** Encoder preset for every rendition (e.g. x264's 'veryfast'); default the encoder's own. */
  preset?: string;
  /** Where decoding and encoding run: 'cpu' (default), 'cuda' or 'auto' (NVDEC/NVENC where usable). */
  device?: Device;
  /** The audio rendition (AAC, encoded once and shared by every video rendition), or false for none. Default: `{ bitrate: 128000 }` with the source's channels. */
  audio?: false | {
    /** AAC bit rate in bits per second (default 128000) */
    bitrate?: number;
    /** 'aac' (the one codec every HLS and DASH player takes) */
    codec?: 'aac';
    /** channels (default the source's) */
    channels?: number;
  };
  /** Replace an existing outDir (default false: an existing outDir is an EXISTS error before any work). */
  overwrite?: boolean;
  /** Libav protocols the input may use (default ['file']). */
  protocols?: string[];
  /** Aborts the job: an `ABORTED` error, nothing left under outDir or beside it. */
  signal?: AbortSignal;
  /** Frames every rendition has encoded, a few times a second. */
  onProgress?: (p: TransformProgress) => void;
}

/** One rendition as written. */
export interface LadderRendition {
  /** its folder name under outDir (e.g. '720p') */
  name: string;
  /** width in pixels */
  width: number;
  /** height in pixels */
  height: number;
  /** the codec asked for */
  codec: LadderCodec;
  /** the encoder that made it (libx264, h264_nvenc, ...) */
  encoder: string;
  /** RFC 6381 codec string of the video, read from the stream (e.g. 'avc1.64001f') */
  codecs: string;
  /** HLS BANDWIDTH: the peak segment bit rate, video and audio together, measured (bits/s) */
  bandwidth: number;
  /** HLS AVERAGE-BANDWIDTH: the average bit rate, video and audio together, measured (bits/s) */
  averageBandwidth: number;
  /** HLS FRAME-RATE: the source's average frame rate (capped by the rendition's fps) */
  frameRate: number;
  /** number of segments */
  segments: number;
  /** the media playlist (or, for 'dash', the init segment) relative to outDir */
  playlist: string;
  /** bytes of video written (init and segments) */
  bytes: number;
}

/** What {@link ladder} returns. */
export interface LadderResult {
  /** the master playlist's path ('hls' and 'both'), else null */
  master: string | null;
  /** the MPD's path ('dash' and 'both'), else null */
  mpd: string | null;
  /** the video renditions, in the order asked for */
  renditions: LadderRendition[];
  /** renditions asked for and not made, and why (larger than the source) */
  skipped: Array<{
    /** the height asked for */
    height: number;
    /** why it was not made */
    reason: string;
  }>;
  /** the audio rendition (the AUDIO group of every video rendition), or null without audio */
  audio: {
    /** RFC 6381 codec string, read from the stream (mp4a.40.2) */
    codecs: string;
    /** channels, from the stream's AudioSpecificConfig */
    channels: number;
    /** sample rate in Hz (0 for MPEG-TS segments) */
    sampleRate: number;
    /** the audio's own peak segment bit rate, measured (bits/s) */
    bandwidth: number;
    /** number of segments */
    segments: number;
    /** its media playlist relative to outDir */
    playlist: string;
    /** seconds of audio written */
    duration: number;
  } | null;
  /** the video's duration in seconds */
  duration: number;
  /** where each segment starts, seconds from the first frame (the same in every rendition) */
  segmentStarts: number[];
  /** frames decoded (once) */
  framesIn: number;
  /** seconds the whole call took */
  wallTime: number;
  /** outDir, absolute */
  path: string;
  /** where the source was decoded */
  device: DeviceInfo;
}

const LADDER_KEYS = ['renditions', 'segmentDuration', 'format', 'segmentFormat', 'codec', 'preset', 'device', 'audio',
  'overwrite', 'protocols', 'signal', 'onProgress'] as const;
const RENDITION_KEYS = ['height', 'width', 'bitrate', 'maxrate', 'crf', 'codec', 'profile', 'fps'] as const;
const CODECS: readonly LadderCodec[] = ['h264', 'hevc', 'av1'];
/** The auto ladder's heights, with the peak rate each is capped at in H.264 (16:9 at 30 fps, after Apple's authoring table). */
const TABLE: ReadonlyArray<readonly [number, number]> = [[2160, 16_000_000], [1440, 10_000_000], [1080, 6_000_000],
  [720, 3_000_000], [480, 1_400_000], [360, 800_000], [240, 400_000]];
const CODEC_RATE: Record<LadderCodec, number> = { h264: 1, hevc: 0.7, av1: 0.6 };
const DEFAULT_CRF: Record<LadderCodec, number> = { h264: 23, hevc: 28, av1: 35 };

/** The table's rate for a height (interpolated by pixel count between rows). */
function tableRate(height: number): number {
  for (const [h, r] of TABLE) if (height >= h) return Math.round(r * Math.max(0.5, height / h));
  const [h, r] = TABLE[TABLE.length - 1];
  return Math.max(100_000, Math.round(r * (height / h) ** 2));
}

interface PlannedRendition {
  name: string;
  width: number;
  height: number;
  codec: LadderCodec;
  /** the frame-rate cap (0: none) */
  fps: number;
  native: NativeWriterOptions;
  device: DeviceInfo;
}

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

/**
 * Encodes `input` into an adaptive-streaming ladder under `outDir`: every
 * rendition from one decode, keyframes and segments aligned across them,
 * the audio encoded once into its own group, and playlists whose
 * BANDWIDTH, AVERAGE-BANDWIDTH and CODECS are measured from what was
 * written. The tree appears under `outDir` only when complete.
 *
 * @example
 * ```ts
 * const r = await ladder('talk.mp4', 'public/talk', { renditions: [{ height: 720 }, { height: 360 }], format: 'both' });
 * console.log(r.master, r.renditions.map((x) => `${x.name} ${x.bandwidth}`));
 * ```
 */
export async function ladder(input: string, outDir: string, options: LadderOptions = {}): Promise<LadderResult> {
  const t0 = performance.now();
  const caller = new Error();
  if (typeof input !== 'string' || !input) throw new TypeError(`input must be a file path or URL; got ${describe(input)}`);
  if (typeof outDir !== 'string' || !outDir) throw new TypeError(`outDir must be a folder path; got ${describe(outDir)}`);
  if (!isObject(options)) throw new TypeError(`ladder: options must be an object; got ${describe(options)}`);
  checkKeys('ladder', options, LADDER_KEYS);
  const seg = options.segmentDuration === undefined ? 6 : options.segmentDuration;
  if (typeof seg !== 'number' || !(seg >= 0.5 && seg <= 60)) throw new RangeError(`segmentDuration must be within 0.5..60 s; got ${describe(seg)}`);
  const format = options.format === undefined ? 'hls' : oneOf('format', options.format, ['hls', 'dash', 'both'] as const);
  const segmentFormat = options.segmentFormat === undefined ? 'fmp4' : oneOf('segmentFormat', options.segmentFormat, ['fmp4', 'ts'] as const);
  if (segmentFormat === 'ts' && format !== 'hls') throw new TypeError(`segmentFormat 'ts' is HLS only; DASH needs 'fmp4' (format '${format}')`);
  const codec = options.codec === undefined ? 'h264' : oneOf('codec', options.codec, CODECS);
  const preset = options.preset === undefined ? '' : options.preset;
  if (typeof preset !== 'string') throw new TypeError(`preset must be a string; got ${describe(preset)}`);
  const device = checkDevice(options.device);
  const overwrite = options.overwrite === undefined ? false : bool('overwrite', options.overwrite);
  let audioOpt: { bitrate: number; channels: number } | null = { bitrate: 128_000, channels: 0 };
  if (options.audio === false) {
    audioOpt = null;
  } else if (options.audio !== undefined) {
    if (!isObject(options.audio)) throw new TypeError(`audio must be false or an object {bitrate, codec, channels}; got ${describe(options.audio)}`);
    checkKeys('audio', options.audio, ['bitrate', 'codec', 'channels']);
    if (options.audio.codec !== undefined) oneOf('audio.codec', options.audio.codec, ['aac'] as const);
    audioOpt = {
      bitrate: options.audio.bitrate === undefined ? 128_000 : int('audio.bitrate', options.audio.bitrate, 8_000, 1_000_000),
      channels: options.audio.channels === undefined ? 0 : int('audio.channels', options.audio.channels, 1, 8),
    };
  }
  const { signal } = options;
  const onProgress = options.onProgress as LadderOptions['onProgress'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const n = normalise(input, {
    format: 'yuv420p', ...(options.protocols !== undefined ? { protocols: options.protocols } : {}),
    ...(options.device !== undefined ? { device: options.device } : {}),
  });
  const source = n.native.source;
  const target = path.resolve(outDir);
  if (fs.existsSync(target) && !overwrite) {
    throw new AvcvError('EXISTS', `'${target}' already exists; pass overwrite: true to replace it`, { source: target });
  }
  const aborted = () => new AvcvError('ABORTED', 'the ladder was aborted', { source, cause: signal?.reason });
  if (signal?.aborted) throw aborted();

  // the source: its video (size, aspect, rate) and whether it has audio
  let info;
  try {
    info = await probe(source, { protocols: n.native.protocols, allowNestedInputs: n.native.allowNestedInputs });
  } catch (err) {
    throw fromNative(err, source, caller);
  }
  const video = info.streams.find((s): s is VideoStreamInfo => s.type === 'video');
  if (!video) throw new AvcvError('NO_VIDEO_STREAM', `'${source}' has no video stream`, { source });
  const hasAudio = info.streams.some((s): s is AudioStreamInfo => s.type === 'audio');
  const sar = video.sampleAspectRatio.num > 0 && video.sampleAspectRatio.den > 0 ? video.sampleAspectRatio.value : 1;
  const rotated = video.rotation !== null && Math.abs(video.rotation) % 180 === 90;
  const srcW = rotated ? video.height : video.width * sar, srcH = rotated ? video.width * sar : video.height;

  // the renditions: validated, sized, skipped when larger than the source
  const asked: Rendition[] = [];
  const skipped: LadderResult['skipped'] = [];
  if (options.renditions === undefined || options.renditions === 'auto') {
    const heights = TABLE.map(([h]) => h).filter((h) => h <= srcH).slice(0, 4);
    if (heights.length === 0) heights.push(even(srcH));
    for (const h of heights) asked.push({ height: h });
  } else {
    if (!Array.isArray(options.renditions) || options.renditions.length === 0) {
      throw new TypeError(`renditions must be 'auto' or a non-empty array of {height, ...}; got ${describe(options.renditions)}`);
    }
    for (const [i, r] of options.renditions.entries()) {
      if (!isObject(r)) throw new TypeError(`renditions[${i}] must be an object {height, ...}; got ${describe(r)}`);
      checkKeys(`renditions[${i}]`, r, RENDITION_KEYS);
      asked.push(r as unknown as Rendition);
    }
  }
  const planned: PlannedRendition[] = [];
  const names = new Set<string>();
  for (const [i, r] of asked.entries()) {
    const what = `renditions[${i}]`;
    const height = int(`${what}.height`, r.height, 2, 8640);
    if (height % 2) throw new RangeError(`${what}.height must be even (4:2:0 video); got ${height}`);
    const width = r.width === undefined ? even(srcW * height / srcH) : int(`${what}.width`, r.width, 2, 16384);
    if (width % 2) throw new RangeError(`${what}.width must be even (4:2:0 video); got ${width}`);
    if (r.bitrate !== undefined && r.crf !== undefined) throw new RangeError(`${what}: bitrate and crf together; give one (crf is capped by maxrate)`);
    const c = r.codec === undefined ? codec : oneOf(`${what}.codec`, r.codec, CODECS);
    if (segmentFormat === 'ts' && c !== 'h264') throw new TypeError(`${what}: segmentFormat 'ts' carries h264 only; got codec '${c}'`);
    const bitrate = r.bitrate === undefined ? undefined : int(`${what}.bitrate`, r.bitrate, 10_000, 2 ** 32);
    const maxrate = r.maxrate === undefined ? (bitrate === undefined ? Math.round(tableRate(height) * CODEC_RATE[c]) : undefined)
      : int(`${what}.maxrate`, r.maxrate, 10_000, 2 ** 32);
    if (bitrate !== undefined && maxrate !== undefined && maxrate < bitrate) throw new RangeError(`${what}.maxrate (${maxrate}) is below its bitrate (${bitrate})`);
    const crf = bitrate !== undefined ? undefined : r.crf === undefined ? DEFAULT_CRF[c] : int(`${what}.crf`, r.crf, 0, 63);
    const fps = r.fps === undefined ? 0 : r.fps;
    if (typeof fps !== 'number' || !(fps === 0 || (fps >= 1 && fps <= 240))) throw new RangeError(`${what}.fps must be within 1..240; got ${describe(r.fps)}`);
    if (height > srcH || width > Math.ceil(srcW / 2) * 2) {
      skipped.push({ height, reason: `larger than the source (${Math.round(srcW)}x${srcH})` });
      continue;
    }
    let name = `${height}p`;
    for (let k = 2; names.has(name); k++) name = `${height}p_${k}`;
    names.add(name);
    const dir = path.join('__TMP__', name);
    let plan;
    try {
      plan = planWriter(path.join(dir, 'index.m3u8'), {
        container: 'hls', codec: c, device, width, height, fps: { num: 30, den: 1 },
        ...(crf !== undefined ? { crf } : {}), ...(bitrate !== undefined ? { bitrate } : {}),
        ...(preset ? { preset } : {}), ...(r.profile !== undefined ? { profile: r.profile } : {}),
        codecOptions: maxrate !== undefined ? { maxrate: String(maxrate), bufsize: String(2 * maxrate) } : {},
      }, false);
    } catch (err) {
      throw err instanceof AvcvError || err instanceof TypeError || err instanceof RangeError ? err : fromNative(err, source, caller);
    }
    planned.push({ name, width, height, codec: c, fps, native: plan.native, device: plan.device });
  }
  if (planned.length === 0) {
    throw new RangeError(`every rendition asked for is larger than the source (${Math.round(srcW)}x${srcH}): ${skipped.map((s) => `${s.height}p`).join(', ')}`);
  }
  if (signal?.aborted) throw aborted();

  // the work, in a hidden folder beside outDir
  const tmp = tempBeside(target);
  const ext = segmentFormat === 'ts' ? 'ts' : 'm4s';
  const muxerOptions = (dir: string, audio = false): Record<string, string> => ({
    hls_time: String(seg),
    hls_playlist_type: 'vod',
    hls_list_size: '0',
    hls_segment_type: segmentFormat === 'ts' ? 'mpegts' : 'fmp4',
    hls_segment_filename: path.join(dir, `seg_%05d.${ext}`),
    ...(segmentFormat === 'fmp4' ? {
      hls_fmp4_init_filename: 'init.mp4',
      // video: the first frame shown at its decode time (negative
      // composition offsets), so that no edit list is needed for it.
      // Audio: the encoder's priming samples (AAC's first 1024, at negative
      // pts) cut by an edit list in init.mp4, as CMAF allows; MSE
      // (Chromium's, under hls.js and dash.js), Safari and ffmpeg apply
      // it. Without it, the audio plays one AAC frame (21 ms at 48 kHz)
      // late and ends that much after the video.
      hls_segment_options: audio ? 'use_editlist=1' : 'movflags=+negative_cts_offsets:use_editlist=0',
    } : {}),
    // fMP4: the priming packet's negative pts kept through the HLS muxer
    // to the segment muxer, which turns it into the edit list
    ...(audio && segmentFormat === 'fmp4' ? { avoid_negative_ts: 'disabled' } : {}),
    // MPEG-TS: every stream's timestamps moved by the same 10 s, so that
    // none is negative (B-frames' first decode times, the priming packet)
    // and no segment muxer shifts its own by its own amount: the audio
    // stays in step with the video (the player starts at the first pts)
    ...(segmentFormat === 'ts' ? { output_ts_offset: '10' } : {}),
  });
  try {
    fs.mkdirSync(tmp);
    for (const p of planned) {
      const dir = path.join(tmp, p.name);
      fs.mkdirSync(dir);
      p.native.path = path.join(dir, 'index.m3u8');
      p.native.muxerOptions = muxerOptions(dir);
    }
    if (audioOpt && hasAudio) fs.mkdirSync(path.join(tmp, 'audio'));
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw ioError(err, 'create the ladder folder', tmp);
  }

  const job = native().ladder(n.native, planned.map((p) => p.native), {
    segmentDuration: seg,
    maxFps: planned.map((p) => p.fps),
    audio: audioOpt && hasAudio ? {
      path: path.join(tmp, 'audio', 'index.m3u8'), muxerOptions: muxerOptions(path.join(tmp, 'audio'), true),
      source, protocols: n.native.protocols, inputFormat: n.inputFormat ?? '', allowNestedInputs: n.native.allowNestedInputs,
      bitrate: audioOpt.bitrate, channels: audioOpt.channels,
    } : null,
  });
  const onAbort = () => job.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const total = video.frameCount;
  const report = progressReporter(onProgress, () => total, t0);
  let last = -1;
  const timer = onProgress ? setInterval(() => {
    const f = job.progress();
    if (f !== last) report(last = f);
  }, 200) : null;
  let r: NativeLadderResult;
  let result: LadderResult;
  try {
    try {
      r = await job.promise;
    } catch (err) {
      if (signal?.aborted) throw aborted();
      throw fromNative(err, source, caller);
    } finally {
      if (timer) clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw aborted();
    if (r.framesIn !== last) report(r.framesIn);
    result = writeManifests(tmp, target, planned, r, { seg, format, segmentFormat, frameRate: video.fps, hasAudio: audioOpt !== null && hasAudio });
    result.skipped = skipped;
    result.wallTime = (performance.now() - t0) / 1000;
    moveIntoPlace(tmp, target, overwrite);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return result;
}

interface MuxerSegment { file: string; duration: number }

/** The segments the hls muxer wrote, in order, from its own media playlist. */
function muxerSegments(playlist: string): MuxerSegment[] {
  const lines = fs.readFileSync(playlist, 'utf8').split(/\r?\n/);
  const out: MuxerSegment[] = [];
  let dur: number | null = null;
  for (const l of lines) {
    if (l.startsWith('#EXTINF:')) dur = parseFloat(l.slice(8));
    else if (l && !l.startsWith('#')) {
      if (dur === null) throw new AvcvError('INTERNAL', `'${playlist}': a segment without #EXTINF`);
      out.push({ file: l.trim(), duration: dur });
      dur = null;
    }
  }
  return out;
}

/**
 * The peak segment bit rate as RFC 8216bis defines BANDWIDTH: the largest
 * bit rate of any contiguous run of segments whose total duration is
 * between 0.5 and 1.5 times the target duration (the whole, when shorter).
 */
function peakBitrate(bytes: number[], durations: number[], target: number): number {
  let peak = 0, any = false;
  for (let i = 0; i < bytes.length; i++) {
    let b = 0, d = 0;
    for (let j = i; j < bytes.length; j++) {
      b += bytes[j];
      d += durations[j];
      if (d > 1.5 * target) break;
      if (d >= 0.5 * target) {
        peak = Math.max(peak, (8 * b) / d);
        any = true;
      }
    }
  }
  if (!any) {
    const b = bytes.reduce((s, x) => s + x, 0), d = durations.reduce((s, x) => s + x, 0);
    peak = d > 0 ? (8 * b) / d : 0;
  }
  return peak;
}

const size = (f: string) => fs.statSync(f).size;
const fmt = (x: number) => x.toFixed(6).replace(/\.?0+$/, '') || '0';
const iso = (s: number) => `PT${s.toFixed(3)}S`;

interface ManifestOptions {
  seg: number;
  format: 'hls' | 'dash' | 'both';
  segmentFormat: 'fmp4' | 'ts';
  frameRate: number;
  hasAudio: boolean;
}

/** Measures what was written and writes the media playlists, the master playlist and the MPD. */
function writeManifests(tmp: string, target: string, planned: PlannedRendition[], r: NativeLadderResult, o: ManifestOptions): LadderResult {
  const tb = r.timeBase.num / r.timeBase.den;
  const starts = r.segmentStarts;
  const videoDurs = starts.map((s, i) => ((i + 1 < starts.length ? starts[i + 1] : r.end) - s) * tb);
  const duration = (r.end - starts[0]) * tb;
  const fmp4 = o.segmentFormat === 'fmp4';
  const hls = o.format !== 'dash', dash = o.format !== 'hls';

  // the audio rendition
  let audio: LadderResult['audio'] = null;
  let audioSegs: MuxerSegment[] = [], audioBytes: number[] = [], audioTrack: TrackCodec | null = null;
  if (o.hasAudio && r.audioMode === 'none') fs.rmSync(path.join(tmp, 'audio'), { recursive: true, force: true });
  if (o.hasAudio && r.audioMode !== 'none') {
    const dir = path.join(tmp, 'audio');
    audioSegs = muxerSegments(path.join(dir, 'index.m3u8'));
    audioBytes = audioSegs.map((s) => size(path.join(dir, s.file)));
    const init = fmp4 ? fs.readFileSync(path.join(dir, 'init.mp4')) : null;
    audioTrack = init ? initSegmentCodec(init) : null;
    const channels = audioTrack?.channels ?? 2;
    audio = {
      codecs: audioTrack?.codecs ?? 'mp4a.40.2', channels, sampleRate: audioTrack?.sampleRate ?? 0,
      bandwidth: Math.ceil(peakBitrate(audioBytes, audioSegs.map((s) => s.duration), o.seg)),
      segments: audioSegs.length, playlist: 'audio/index.m3u8', duration: r.audioDuration,
    };
    if (hls) writeMediaPlaylist(path.join(dir, 'index.m3u8'), audioSegs, fmp4);
  }

  const renditions: LadderRendition[] = [];
  const tracks: TrackCodec[] = [];
  for (const [i, p] of planned.entries()) {
    const dir = path.join(tmp, p.name);
    const segs = muxerSegments(path.join(dir, 'index.m3u8'));
    if (segs.length !== starts.length) {
      throw new AvcvError('INTERNAL', `rendition ${p.name}: the muxer cut ${segs.length} segments where ${starts.length} keyframes were forced`);
    }
    const bytes = segs.map((s) => size(path.join(dir, s.file)));
    // a segment's bits: its video and the audio segment beside it
    const withAudio = bytes.map((b, k) => b + (audioBytes[k] ?? 0) + (k === bytes.length - 1 ? audioBytes.slice(bytes.length).reduce((s, x) => s + x, 0) : 0));
    let codecs: string;
    if (fmp4) {
      const t = initSegmentCodec(fs.readFileSync(path.join(dir, 'init.mp4')));
      tracks.push(t);
      codecs = t.codecs;
    } else {
      codecs = tsSegmentH264Codec(fs.readFileSync(path.join(dir, segs[0].file)));
    }
    const segsOut = segs.map((s, k) => ({ file: s.file, duration: videoDurs[k] }));
    if (hls) writeMediaPlaylist(path.join(dir, 'index.m3u8'), segsOut, fmp4);
    else fs.rmSync(path.join(dir, 'index.m3u8'));
    const total = withAudio.reduce((s, x) => s + x, 0);
    renditions.push({
      name: p.name, width: p.width, height: p.height, codec: p.codec, encoder: r.renditions[i].encoder, codecs,
      bandwidth: Math.ceil(peakBitrate(withAudio, videoDurs, o.seg)),
      averageBandwidth: Math.ceil((8 * total) / duration),
      frameRate: p.fps > 0 ? Math.min(p.fps, o.frameRate) : o.frameRate, segments: segs.length,
      playlist: hls ? `${p.name}/index.m3u8` : `${p.name}/init.mp4`,
      bytes: bytes.reduce((s, x) => s + x, 0) + (fmp4 ? size(path.join(dir, 'init.mp4')) : 0),
    });
  }

  let master: string | null = null;
  if (hls) {
    const lines = ['#EXTM3U', `#EXT-X-VERSION:${fmp4 ? 7 : 4}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
    if (audio) {
      lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels}",URI="${audio.playlist}"`);
    }
    for (const x of [...renditions].sort((a, b) => b.bandwidth - a.bandwidth)) {
      const codecs = audio ? `${x.codecs},${audio.codecs}` : x.codecs;
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${x.bandwidth},AVERAGE-BANDWIDTH=${x.averageBandwidth},CODECS="${codecs}",` +
        `RESOLUTION=${x.width}x${x.height},FRAME-RATE=${x.frameRate.toFixed(3)}${audio ? ',AUDIO="audio"' : ''}`, x.playlist);
    }
    fs.writeFileSync(path.join(tmp, 'master.m3u8'), lines.join('\n') + '\n');
    master = path.join(target, 'master.m3u8');
  } else if (audio) {
    fs.rmSync(path.join(tmp, 'audio', 'index.m3u8'));
  }

  let mpd: string | null = null;
  if (dash) {
    const timeline = (durs: number[], scale: number) => {
      let t = 0;
      const s: string[] = [];
      for (const d of durs) {
        const ticks = Math.round(d * scale);
        s.push(`<S t="${t}" d="${ticks}"/>`);
        t += ticks;
      }
      return s.join('');
    };
    const vScale = r.timeBase.den;
    const videoTimeline = (() => {
      // exact: the segment starts are ticks of the video time base
      let s = '';
      for (let k = 0; k < starts.length; k++) {
        const d = ((k + 1 < starts.length ? starts[k + 1] : r.end) - starts[k]) * r.timeBase.num;
        s += `<S t="${(starts[k] - starts[0]) * r.timeBase.num}" d="${d}"/>`;
      }
      return s;
    })();
    const x: string[] = ['<?xml version="1.0" encoding="UTF-8"?>',
      `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" minBufferTime="PT${Math.ceil(o.seg)}S" mediaPresentationDuration="${iso(duration)}">`,
      '  <Period id="0" start="PT0S">',
      `    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="${Math.max(...renditions.map((v) => v.width))}" maxHeight="${Math.max(...renditions.map((v) => v.height))}">`];
    for (const v of renditions) {
      x.push(`      <Representation id="${v.name}" codecs="${v.codecs}" bandwidth="${v.bandwidth}" width="${v.width}" height="${v.height}" frameRate="${fmt(v.frameRate)}" sar="1:1">`,
        `        <SegmentTemplate timescale="${vScale}" initialization="${v.name}/init.mp4" media="${v.name}/seg_$Number%05d$.m4s" startNumber="0">`,
        `          <SegmentTimeline>${videoTimeline}</SegmentTimeline>`,
        '        </SegmentTemplate>', '      </Representation>');
    }
    x.push('    </AdaptationSet>');
    if (audio && audioTrack) {
      x.push('    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">',
        `      <Representation id="audio" codecs="${audio.codecs}" bandwidth="${audio.bandwidth}" audioSamplingRate="${audio.sampleRate}">`,
        `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${audio.channels}"/>`,
        `        <SegmentTemplate timescale="${audioTrack.timescale}" initialization="audio/init.mp4" media="audio/seg_$Number%05d$.m4s" startNumber="0">`,
        `          <SegmentTimeline>${timeline(audioSegs.map((s) => s.duration), audioTrack.timescale)}</SegmentTimeline>`,
        '        </SegmentTemplate>', '      </Representation>', '    </AdaptationSet>');
    }
    x.push('  </Period>', '</MPD>');
    fs.writeFileSync(path.join(tmp, 'manifest.mpd'), x.join('\n') + '\n');
    mpd = path.join(target, 'manifest.mpd');
  }
  return {
    master, mpd, renditions, skipped: [], audio, duration,
    segmentStarts: starts.map((s) => (s - starts[0]) * tb), framesIn: r.framesIn, wallTime: 0, path: target,
    device: r.device as DeviceInfo,
  };
}

/** A VOD media playlist over the segments (EXT-X-TARGETDURATION: the longest, rounded up). */
function writeMediaPlaylist(file: string, segs: MuxerSegment[], fmp4: boolean): void {
  const target = Math.max(1, Math.ceil(Math.max(...segs.map((s) => s.duration)) - 1e-9));
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${fmp4 ? 7 : 4}`, `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (fmp4) lines.push('#EXT-X-MAP:URI="init.mp4"');
  for (const s of segs) lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.file);
  lines.push('#EXT-X-ENDLIST');
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** The finished tree onto outDir (an existing one only with overwrite, swapped out and removed after). */
function moveIntoPlace(tmp: string, target: string, overwrite: boolean): void {
  let old: string | null = null;
  try {
    if (fs.existsSync(target)) {
      if (!overwrite) throw new AvcvError('EXISTS', `'${target}' appeared while the ladder was made; pass overwrite: true to replace it`, { source: target });
      old = `${tmp}.old`;
      fs.renameSync(target, old);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    if (old && !fs.existsSync(target)) fs.renameSync(old, target);
    throw err instanceof AvcvError ? err : ioError(err, 'move the finished ladder onto', target);
  }
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
