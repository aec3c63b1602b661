/** Progress of a job over frames: frames done, the total when known, speed and time left. */
export interface TransformProgress {
  /** Frames done so far. */
  frames: number;
  /** Frames in all, when known (from the source's frame count), else null. */
  total: number | null;
  /** Frames per second so far. */
  fps: number;
  /** Seconds left, estimated (null when the total is unknown). */
  eta: number | null;
}

/**
 * The one way progress is reported: `report(frames)` calls `onProgress` with
 * the speed since `t0` (performance.now()) and the time left. A no-op
 * without a callback.
 */
export function progressReporter(onProgress: ((p: TransformProgress) => void) | undefined, total: () => number | null,
  t0: number): (frames: number) => void {
  if (!onProgress) return () => undefined;
  return (frames) => {
    const secs = (performance.now() - t0) / 1000;
    const fps = secs > 0 ? frames / secs : 0;
    const n = total();
    onProgress({ frames, total: n, fps, eta: n && fps > 0 ? Math.max(0, (n - frames) / fps) : null });
  };
}
