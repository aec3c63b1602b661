// remux(): a source's audio and video packets copied into another container
// without decoding (the CLI's `-c copy`): recording a live stream into a
// file, or streaming a file to a server at its own pace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AvcvError, fromNative } from './errors';
import { commitSync, tempBeside } from './files';
import { native } from './native';
import { liveOptions, type LiveOptions } from './reader-options';
import { resolveInput } from './source';
import { bool, checkKeys, describe, isObject, oneOf } from './validate';
import { CONTAINERS, MUXER, containerOf, networkScheme, writerProtocols, type Container } from './writer-options';

/** Options of {@link remux}: the source's and target's sides, how long, pacing and looping, and stopping. */
export interface RemuxOptions {
  /** The source's side: protocols it may use (default ['file']), a live source's timeouts and reconnects, a forced input format. */
  input?: {
    /** libav protocols the source may use (default ['file']; rtsp:// needs ['rtsp', 'tcp']). */
    protocols?: string[];
    /** A live source's timeouts and reconnects, as VideoReaderOptions.live (without queue and onEvent). */
    live?: Omit<LiveOptions, 'queue' | 'onEvent'>;
    /** A libav input format or device instead of probing (e.g. 'v4l2'); never with an untrusted source. */
    inputFormat?: string;
    /** Let the source open other inputs (HLS playlists, concat lists); default false. */
    allowNestedInputs?: boolean;
  };
  /** The target's side: protocols it may use (default ['file']), the container (default: from the name or the URL's scheme). */
  output?: {
    /** libav protocols the target may use (default ['file']; rtmp:// needs ['rtmp', 'tcp']). */
    protocols?: string[];
    /** The container (default: from the extension; rtmp:// is flv, srt://, udp:// and tcp:// are ts); not 'hls'. */
    container?: Exclude<Container, 'hls'>;
  };
  /**
   * Seconds of output, counted from the first keyframe (default: until the
   * source ends). Cut as the CLI's -t with -c copy: video by decode time, so
   * with B-frames a frame or two shown just after the end stays (the frames
   * before it may need it).
   */
  duration?: number;
  /** No faster than the packets' timestamps (the CLI's -re): for streaming a file to a server. */
  realtime?: boolean;
  /** When the source (a file) ends, it starts again; timestamps go on rising. Stop it with `signal` or `duration`. */
  loop?: boolean;
  /** Aborts the job: a file target is not left behind. */
  signal?: AbortSignal;
  /** Ends the job now as if the source had ended: the output is finished and kept (stopping a recording). */
  stop?: AbortSignal;
  /** Called about 4 times a second. */
  onProgress?: (p: RemuxProgress) => void;
}

/** What RemuxOptions.onProgress receives. */
export interface RemuxProgress {
  /** Output seconds written. */
  seconds: number;
  /** Packets written so far. */
  packets: number;
  /** Times a live source was reconnected so far. */
  reconnects: number;
}

/** What {@link remux} resolves with once the output is complete. */
export interface RemuxResult {
  /** The target written: an absolute file path, or the network URL. */
  target: string;
  /** The container written. */
  container: Container;
  /** The streams copied, in output order: 'video h264', 'audio aac'. */
  streams: string[];
  /** Seconds of output. */
  duration: number;
  /** Packets written. */
  packets: number;
  /** Bytes written. */
  bytes: number;
  /** Packets cut: before the first keyframe, beyond duration, overlapping across a reconnect. */
  dropped: number;
  /** Times a live source was reconnected. */
  reconnects: number;
  /** Times a looped file source started again (`loop`). */
  loops: number;
  /**
   * A live source lost for good (stalled or failed with no reconnects left):
   * why, with the message libav gave. What was recorded until then is in the
   * finished output; null when the job ended otherwise.
   */
  disconnected: string | null;
}

const KEYS = ['input', 'output', 'duration', 'realtime', 'loop', 'signal', 'stop', 'onProgress'] as const;

/**
 * Copies every audio and video stream of `source` into `target` without
 * re-encoding, timestamps starting at 0 and starting at a keyframe. A file
 * target is written to a temp name and renamed when complete; a network
 * target (rtmp://, srt://, udp://) is written as it goes.
 *
 * @example
 * ```ts
 * // record 60 s of a camera, reconnecting if it drops
 * await remux('rtsp://cam/stream', 'clip.mkv', { input: { protocols: ['rtsp', 'tcp'], live: { reconnect: {} } }, duration: 60 });
 * // stream a file to a server, looping, paced like ffmpeg -re, until stop.abort()
 * const stop = new AbortController();
 * await remux('talk.mp4', 'rtmp://host/live/key', { output: { protocols: ['rtmp', 'tcp'] }, realtime: true, loop: true, stop: stop.signal });
 * ```
 */
export async function remux(source: string | URL, target: string, options: RemuxOptions = {}): Promise<RemuxResult> {
  const caller = new Error();
  if (!isObject(options)) throw new TypeError('remux: options must be an object');
  checkKeys('remux', options, KEYS);
  if (typeof target !== 'string' || !target) throw new TypeError(`target must be a file path or URL; got ${describe(target)}`);
  const inOpts = options.input ?? {};
  if (!isObject(inOpts)) throw new TypeError(`input must be an object {protocols, live, inputFormat}; got ${describe(inOpts)}`);
  const input = resolveInput(source, inOpts, 'remux input', ['protocols', 'live', 'inputFormat', 'allowNestedInputs']);
  if (inOpts.inputFormat !== undefined) {
    if (typeof inOpts.inputFormat !== 'string' || !/^[a-z0-9_,]+$/.test(inOpts.inputFormat)) throw new TypeError(`input.inputFormat must be a libav format name; got ${describe(inOpts.inputFormat)}`);
    input.inputFormat = inOpts.inputFormat;
  }
  if (inOpts.live !== undefined) {
    if (isObject(inOpts.live) && ('queue' in inOpts.live || 'onEvent' in inOpts.live)) throw new TypeError('input.live takes no queue or onEvent: remux has no frame queue');
    input.live = liveOptions(inOpts.live);
  }
  const outOpts = options.output ?? {};
  if (!isObject(outOpts)) throw new TypeError(`output must be an object {protocols, container}; got ${describe(outOpts)}`);
  checkKeys('output', outOpts, ['protocols', 'container']);
  const container = containerOf(target, outOpts.container);
  if (container === 'hls') throw new TypeError('remux does not write HLS; use VideoWriter with container \'hls\'');
  oneOf('output.container', container, CONTAINERS.filter((c) => c !== 'hls'));
  const scheme = networkScheme(target);
  const protocols = writerProtocols(outOpts.protocols);
  if (scheme && !protocols.includes(scheme)) {
    throw new AvcvError('PROTOCOL_NOT_ALLOWED', `protocol '${scheme}' is not allowed (allowed: ${protocols.join(', ')}); pass it in output.protocols to allow it`, { source: target });
  }
  let duration = 0;
  if (options.duration !== undefined) {
    if (typeof options.duration !== 'number' || !Number.isFinite(options.duration)) throw new TypeError(`duration must be a number of seconds; got ${describe(options.duration)}`);
    if (options.duration <= 0) throw new RangeError(`duration must be above 0 s; got ${options.duration}`);
    duration = options.duration;
  }
  const realtime = options.realtime === undefined ? false : bool('realtime', options.realtime);
  const loop = options.loop === undefined ? false : bool('loop', options.loop);
  if (loop && input.live) throw new TypeError('loop applies to a file source, not a live one');
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  const stop = options.stop;
  if (stop !== undefined && !(stop instanceof AbortSignal)) throw new TypeError('stop must be an AbortSignal');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError(`onProgress must be a function; got ${describe(onProgress)}`);
  const abs = scheme ? target : path.resolve(target);
  const temp = scheme ? abs : tempBeside(abs);
  if (signal?.aborted) throw new AvcvError('ABORTED', 'the remux was aborted before it started', { source: input.source, cause: signal.reason });

  const job = native().remux({
    input, path: temp, protocols, container: MUXER[container], duration, realtime, loop,
    openTimeout: scheme ? 10 : 0, stallTimeout: scheme ? 5 : 0,
  });
  const onAbort = () => job.cancel();
  const onStop = () => job.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  stop?.addEventListener('abort', onStop, { once: true });
  if (stop?.aborted) job.stop();
  let last = -1;
  const timer = onProgress ? setInterval(() => {
    const p = job.progress();
    if (p.packets !== last) {
      last = p.packets;
      onProgress(p);
    }
  }, 250) : null;
  let r;
  try {
    r = await job.promise;
  } catch (err) {
    if (!scheme) fs.rmSync(temp, { force: true });
    if (signal?.aborted) throw new AvcvError('ABORTED', 'the remux was aborted', { source: input.source, cause: signal.reason });
    throw fromNative(err, input.source, caller);
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
    stop?.removeEventListener('abort', onStop);
  }
  if (!scheme) commitSync(temp, abs, 'move the finished file onto');
  onProgress?.({ seconds: r.duration, packets: r.packets, reconnects: r.reconnects });
  return { target: abs, container, ...r };
}
