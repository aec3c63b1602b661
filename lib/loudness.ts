// EBU R128 loudness normalisation in two passes, as loudnorm's documentation
// prescribes: measure the whole track with loudnorm's print_format=json, then
// apply loudnorm with the measured values (linear mode: one gain for the
// whole track where the range allows it).
import { AvcvError, fromNative } from './errors';
import { cancellableBy } from './cancel';
import { normaliseAudio } from './audio-options';
import { native } from './native';
import { checkKeys, describe, isObject } from './validate';

/** Targets, as loudnorm takes them: integrated loudness (LUFS), true peak (dBTP), loudness range (LU). */
export interface LoudnessTarget {
  /** Integrated loudness, -70..-5 LUFS (default -16, streaming platforms' level). */
  integrated?: number;
  /** Maximum true peak, -9..0 dBTP (default -1.5). */
  truePeak?: number;
  /** Loudness range, 1..50 LU (default 11). */
  range?: number;
}

/** What the first pass measured (loudnorm's JSON, as numbers). */
export interface LoudnessMeasurement {
  /** Integrated loudness, LUFS (-99 for silence). */
  integrated: number;
  /** True peak, dBTP. */
  truePeak: number;
  /** Loudness range, LU. */
  range: number;
  /** The gating threshold, LUFS. */
  threshold: number;
  /** The offset gain loudnorm suggests for the second pass (its target_offset). */
  offset: number;
}

const RANGES = { integrated: [-70, -5, -16], truePeak: [-9, 0, -1.5], range: [1, 50, 11] } as const;

/** Validated targets with their defaults. */
export function loudnessTarget(name: string, v: unknown): Required<LoudnessTarget> {
  if (v === undefined || v === true) v = {};
  if (!isObject(v)) throw new TypeError(`${name} must be an object {integrated, truePeak, range}; got ${describe(v)}`);
  checkKeys(name, v, Object.keys(RANGES));
  const out = {} as Required<LoudnessTarget>;
  for (const [k, [lo, hi, def]] of Object.entries(RANGES) as [keyof LoudnessTarget, readonly [number, number, number]][]) {
    const x = v[k];
    if (x === undefined) {
      out[k] = def;
      continue;
    }
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError(`${name}.${k} must be a number; got ${describe(x)}`);
    if (x < lo || x > hi) throw new RangeError(`${name}.${k} must be within ${lo}..${hi}; got ${x}`);
    out[k] = x;
  }
  return out;
}

const targetArgs = (t: Required<LoudnessTarget>) => `I=${t.integrated}:TP=${t.truePeak}:LRA=${t.range}`;

/**
 * The first pass: decodes the source's audio (after `filter`, when given)
 * through loudnorm and returns its measurements. Rejects with AvcvError
 * (NO_AUDIO_STREAM, ...) as AudioReader.open does. Options: `filter` (a graph
 * applied first), `stream`, `protocols`, `allowNestedInputs`, `signal`.
 *
 * @example
 * ```ts
 * const m = await measureLoudness('in.mp4', { integrated: -16 });   // { integrated, truePeak, range, threshold, offset }
 * ```
 */
export async function measureLoudness(source: string, target: LoudnessTarget = {},
  options: { filter?: string; stream?: number; protocols?: string[]; allowNestedInputs?: boolean; signal?: AbortSignal } = {}): Promise<LoudnessMeasurement> {
  const t = loudnessTarget('target', target);
  const graph = `${options.filter ? `${options.filter},` : ''}loudnorm=${targetArgs(t)}:print_format=json`;
  const n = normaliseAudio(source, { ...options, filter: graph });
  let text: string;
  try {
    text = await cancellableBy(n.signal, native().measureAudio(n.native), n.native.source);
  } catch (err) {
    if (n.signal?.aborted) throw new AvcvError('ABORTED', 'the measurement was aborted', { source: n.native.source, cause: n.signal.reason });
    throw fromNative(err, n.native.source);
  }
  const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  let m: Record<string, string>;
  try {
    m = JSON.parse(json) as Record<string, string>;
  } catch {
    throw new AvcvError('INTERNAL', `loudnorm printed no measurements for '${n.native.source}': ${text.slice(0, 200)}`, { source: n.native.source });
  }
  const num = (k: string) => {
    const x = Number(m[k]);
    // silence measures -inf: loudnorm's second pass then leaves the audio as it is
    return Number.isFinite(x) ? x : m[k] === '-inf' ? -99 : NaN;
  };
  return { integrated: num('input_i'), truePeak: num('input_tp'), range: num('input_lra'), threshold: num('input_thresh'), offset: num('target_offset') };
}

/**
 * The second pass: loudnorm with the first pass's measurements, as a filter
 * graph string for AudioReader's `filter`, VideoWriter's `audio.filter` or
 * transform's `audioFilter`.
 *
 * @example
 * ```ts
 * const target = { integrated: -16, truePeak: -1.5, range: 11 };
 * const graph = loudnormGraph(target, await measureLoudness('in.mp4', target));
 * await using audio = await AudioReader.open('in.mp4', { filter: graph });
 * ```
 */
export function loudnormGraph(target: LoudnessTarget, m: LoudnessMeasurement): string {
  const t = loudnessTarget('target', target);
  return `loudnorm=${targetArgs(t)}:measured_I=${m.integrated}:measured_TP=${m.truePeak}:measured_LRA=${m.range}` +
    `:measured_thresh=${m.threshold}:offset=${m.offset}:linear=true:print_format=none`;
}
