import { fileURLToPath } from 'node:url';
import type { NativeInputOptions } from '../types/native';
import { bool, checkKeys, describe, isObject } from './validate';

/** Which inputs a source may reach: its protocols, and whether it may open other inputs. */
export interface InputOptions {
  /**
   * libav protocols the source may use. Only 'file' by default: list others
   * ('http', 'https', 'tcp', 'tls', 'rtmp', ...) to allow them.
   */
  protocols?: string[];
  /**
   * Let the demuxer open further inputs (HLS/DASH playlists, concat lists,
   * image sequences). Off by default: a local file cannot pull in other files
   * or URLs behind the caller's back.
   */
  allowNestedInputs?: boolean;
}

export function resolveInput(source: unknown, options: unknown, fn: string, allowed: readonly string[]): NativeInputOptions {
  let src: string;
  if (source instanceof URL) {
    src = source.protocol === 'file:' ? fileURLToPath(source) : source.href;
  } else if (typeof source === 'string') {
    if (source.length === 0) throw new TypeError(`${fn}: source must not be empty`);
    src = source;
  } else {
    throw new TypeError(`${fn}: source must be a path or URL string; got ${describe(source)}`);
  }
  if (!isObject(options)) throw new TypeError(`${fn}: options must be an object`);
  checkKeys(fn, options, allowed);
  let protocols = ['file'];
  if (options.protocols !== undefined) {
    if (!Array.isArray(options.protocols) || options.protocols.length === 0 ||
        !options.protocols.every((p) => typeof p === 'string' && /^[a-z0-9_+-]+$/.test(p))) {
      throw new TypeError(`protocols must be a non-empty array of protocol names; got ${describe(options.protocols)}`);
    }
    protocols = [...new Set(options.protocols as string[])];
  }
  const allowNestedInputs = options.allowNestedInputs === undefined ? false : bool('allowNestedInputs', options.allowNestedInputs);
  return { source: src, protocols, allowNestedInputs, inputFormat: '', live: null };
}
