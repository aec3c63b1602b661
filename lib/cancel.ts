import type { NativeJob } from '../types/native';
import { AvcvError } from './errors';

/**
 * Awaits a cancellable native job, cancelling it when `signal` aborts: libav's
 * interrupt callback sees it at once, so a slow open or probe (a server that
 * never answers, a damaged file probed for seconds) rejects within
 * milliseconds with AvcvError ABORTED.
 */
export async function cancellableBy<T>(signal: AbortSignal | undefined, job: NativeJob<T>, source: string): Promise<T> {
  const aborted = () => new AvcvError('ABORTED', 'the operation was aborted', { source, cause: signal?.reason });
  if (signal?.aborted) {
    job.cancel();
    await job.promise.catch(() => undefined);
    throw aborted();
  }
  const onAbort = () => job.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await job.promise;
  } catch (err) {
    if (signal?.aborted) throw aborted();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
