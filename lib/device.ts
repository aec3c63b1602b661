import type { NativeCapabilities } from '../types/native';
import { native } from './native';
import { describe } from './validate';

/** Where decoding/encoding runs: 'cpu', 'cuda' (NVDEC/NVENC, or an error), 'cuda:N', or 'auto' (GPU when usable, else CPU with the reason). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/** Where work actually runs, after the device policy: see info.device on readers and writers. */
export interface DeviceInfo {
  /** 'cpu', or 'cuda' for NVDEC/NVENC. */
  type: 'cpu' | 'cuda';
  /** The CUDA device's index (type 'cuda' only). */
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

/**
 * What {@link capabilities} reports: `hwDeviceTypes`, `cuda` ({ available,
 * reason, deviceCount, names }), `nvdec`, `nvenc`, `nvencUsable` (the NVENC
 * encoders that open a session on this GPU), `nvencReason` and `scaleCuda`.
 *
 * @interface
 */
export type Capabilities = NativeCapabilities;

/**
 * What this machine can do at run time: hardware device types libav was built
 * with, whether CUDA initialises (GPU count and names, or why not), the codecs
 * NVDEC can decode and the NVENC encoders in this build, and whether the
 * scale_cuda filter exists.
 *
 * @example
 * ```ts
 * const caps = capabilities();
 * if (!caps.cuda.available) console.log('CPU only:', caps.cuda.reason);
 * console.log(caps.nvdec, caps.nvenc);   // e.g. ['h264', 'hevc', ...], ['h264_nvenc', ...]
 * ```
 */
export function capabilities(): Capabilities {
  return native().capabilities();
}
