// Atomic outputs: everything avcv writes goes to a temp file beside its target
// and is renamed onto it only when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AvcvError, ERROR_CODES, type AvcvErrorCode } from './errors';

/** A hidden, unique temp name in the target's folder (a rename stays on one filesystem). */
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.avcv-tmp`);
}

/** AvcvError for a failed file operation: "cannot <what> '<file>': <reason>", the errno code kept. */
export function ioError(err: unknown, what: string, file: string): AvcvError {
  const e = err as NodeJS.ErrnoException;
  // the errno's own code where avcv lists it (ENOENT, EACCES, ENOSPC, ...), else IO
  const code = e.code && Object.prototype.hasOwnProperty.call(ERROR_CODES, e.code) ? (e.code as AvcvErrorCode) : 'IO';
  return new AvcvError(code, `cannot ${what} '${file}': ${e.message}`, { source: file, cause: err });
}

/** Renames a finished temp file onto its target; on failure removes it and throws ioError(what). */
export function commitSync(temp: string, target: string, what: string): void {
  try {
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw ioError(err, what, target);
  }
}

/** Writes bytes to a temp file and renames it onto `target`; nothing is left on failure. */
export async function writeAtomic(target: string, data: string | Uint8Array, what: string): Promise<void> {
  const tmp = tempBeside(target);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw ioError(err, what, target);
  }
}

/** writeAtomic, synchronously. */
export function writeAtomicSync(target: string, data: string | Uint8Array, what: string): void {
  const tmp = tempBeside(target);
  try {
    fs.writeFileSync(tmp, data);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw ioError(err, what, target);
  }
  commitSync(tmp, target, what);
}
