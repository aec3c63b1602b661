import type { NativeJob } from '../types/native';
import { AvcvError } from './errors';

/**
 * Awaits a cancellable native job, cancelling it when `signal` aborts. The
 * promise rejects with AvcvError ABORTED at the abort itself, not when the
 * native thread has stopped: libav's interrupt callback sees the cancel at its
 * next check, but a network read polls it only every 100 ms (POLLING_TIME in
 * libavformat/network.h), and a damaged file may be deep in a probe. The
 * thread finishes in the background; a result that still arrives is handed
 * to `dispose` (a reader opened after all is closed), never to the caller.
 */
export function cancellableBy<T>(signal: AbortSignal | undefined, job: NativeJob<T>, source: string,
  dispose?: (late: T) => unknown): Promise<T> {
  const aborted = () => new AvcvError('ABORTED', 'the operation was aborted', { source, cause: signal?.reason });
  const drop = () => {
    job.promise.then((late) => { if (dispose) Promise.resolve().then(() => dispose(late)).catch(() => undefined); }, () => undefined);
  };
  if (!signal) return job.promise;
  if (signal.aborted) {
    job.cancel();
    drop();
    return Promise.reject(aborted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      job.cancel();
      drop();
      reject(aborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    job.promise.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(signal.aborted ? aborted() : err);
    });
  });
}
