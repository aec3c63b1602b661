import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeAddon } from '../types/native';

let cached: NativeAddon | undefined;

const APT = 'sudo apt-get install -y libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4 ' +
  'libavfilter8 libavdevice59 libopencv-core406 libopencv-imgproc406';

/**
 * Loads the addon with an error that says how to fix it: the file named by
 * AVCV_ADDON when set (e.g. the self-contained build of
 * scripts/build-static.sh), else prebuilds/ first, then build/Release.
 */
export function native(): NativeAddon {
  if (cached) return cached;
  const root = path.resolve(__dirname, '..');
  try {
    const forced = process.env.AVCV_ADDON;
    if (forced) {
      // a .node file is loaded by require(); there is no import for it
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(path.resolve(forced)) as NativeAddon;
      return cached;
    }
    // node-gyp-build: prebuilds/ first, then build/Release. In a source
    // checkout a build newer than the prebuild wins, so a stale prebuild
    // never shadows a fresh compile.
    const local = path.join(root, 'build', 'Release', 'avcv.node');
    const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'avcv.napi.node');
    if (fs.existsSync(local) && fs.existsSync(pre) && fs.statSync(local).mtimeMs > fs.statSync(pre).mtimeMs) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(local) as NativeAddon;
      return cached;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    cached = load(root);
    return cached;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    let hint: string;
    if (process.env.AVCV_ADDON) {
      hint = `avcv could not load the addon that AVCV_ADDON names (${process.env.AVCV_ADDON}).`;
    } else if (/No native build was found/.test(msg)) {
      hint = 'avcv has no native build for this platform. Build it: `npm run build:native` ' +
        '(needs cmake, g++, pkg-config and the libav/OpenCV dev packages: ' +
        'sudo apt-get install -y cmake g++ pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ' +
        'libswresample-dev libavfilter-dev libavdevice-dev libopencv-dev).';
    } else if (/cannot open shared object file/.test(msg)) {
      const lib = /(lib[\w.+-]+\.so[\d.]*)/.exec(msg)?.[1] ?? 'a shared library';
      hint = `avcv's addon needs ${lib}, which is not installed. On Debian 12: ${APT}`;
    } else {
      hint = 'avcv could not load its native addon.';
    }
    const e = new Error(`${hint}\nCause: ${msg}`, { cause: err });
    (e as Error & { code: string }).code = 'ADDON_LOAD';
    throw e;
  }
}
