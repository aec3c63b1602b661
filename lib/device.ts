import type { NativeCapabilities } from '../types/native';
import { native } from './native';
import { describe } from './validate';

/** Where decoding/encoding runs: 'cpu', 'cuda' (NVDEC/NVENC, or an error), 'cuda:N', or 'auto' (GPU when usable, else CPU with the reason). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

export interface DeviceInfo {
  type: 'cpu' | 'cuda';
  index?: number;
  /** Why 'auto' stayed on the CPU, e.g. 'no CUDA driver (libcuda.so.1 not found)'. */
  fallbackReason?: string;
}

export function checkDevice(v: unknown): Device {
  if (v === undefined) return 'cpu';
  if (typeof v !== 'string' || !/^(cpu|cuda|auto|cuda:\d+)$/.test(v)) {
    throw new TypeError(`device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got ${describe(v)}`);
  }
  return v as Device;
}

export function deviceIndex(d: Device): number {
  return d.startsWith('cuda:') ? Number(d.slice(5)) : 0;
}

export type Capabilities = NativeCapabilities;

/**
 * What this machine can do at run time: hardware device types libav was built
 * with, whether CUDA initialises (GPU count and names, or why not), the codecs
 * NVDEC can decode and the NVENC encoders in this build, and whether the
 * scale_cuda filter exists.
 */
export function capabilities(): Capabilities {
  return native().capabilities();
}
