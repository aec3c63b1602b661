/** Runtime failure from avcv: a stable `code`, libav's message, and the source. */
export class AvcvError extends Error {
  override name = 'AvcvError';
  /** Stable machine-readable code, e.g. 'ENOENT', 'INVALID_DATA', 'DECODE', 'CLOSED', 'ABORTED'. */
  readonly code: string;
  /** The path or URL involved, when there is one. */
  readonly source?: string;
  /** The raw AVERROR value from libav, when libav produced the error (0 otherwise). */
  readonly averror: number;

  constructor(code: string, message: string, options: { source?: string; averror?: number; cause?: unknown } = {}) {
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
  const code = typeof e?.code === 'string' ? e.code : 'INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const out = new AvcvError(code, message, { source, averror: typeof e?.averror === 'number' ? e.averror : 0 });
  if (stackFrom?.stack) {
    // Point at the caller's line, not at the promise machinery.
    out.stack = `${out.name}: ${out.message}\n${stackFrom.stack.split('\n').slice(1).join('\n')}`;
  }
  return out;
}
