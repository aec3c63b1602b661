#!/usr/bin/env node
// npm's prepack hook (npm pack, npm publish): the tarball must carry the
// self-contained LGPL prebuild, not nothing and not `npm run build:local-prebuild`'s
// addon, which links Debian's shared libav/OpenCV and would fail to load on
// a user's machine without them. Checked: prebuilds/<platform>-<arch>/
// avcv.napi.node exists, LICENSES.txt sits beside it and says it is the lgpl
// build, and the ELF file needs no shared library beyond the C/C++ runtime
// (readelf -d, from binutils). AVCV_PACK_SOURCE_ONLY=1 packs without a
// prebuild on purpose (users then build from source with node-gyp).
// Reports go to stderr: stdout is npm's (npm pack --json).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const addon = path.join(dir, 'avcv.napi.node');
const build = 'AVCV_STATIC_LICENSE=lgpl bash scripts/build-static.sh deps src ffmpeg opencv addon check licenses prebuild';

function fail(msg) {
  console.error(`prepack: ${msg}`);
  process.exit(1);
}

if (process.env.AVCV_PACK_SOURCE_ONLY === '1') {
  if (fs.existsSync(path.join(root, 'prebuilds'))) fail('AVCV_PACK_SOURCE_ONLY=1 but prebuilds/ exists: remove it');
  console.error('prepack: source-only package (no prebuild), as AVCV_PACK_SOURCE_ONLY=1 asks');
  process.exit(0);
}
if (!fs.existsSync(addon)) fail(`no ${path.relative(root, addon)}: build the LGPL prebuild first (${build}), or set AVCV_PACK_SOURCE_ONLY=1`);
const licenses = path.join(dir, 'LICENSES.txt');
if (!fs.existsSync(licenses)) fail(`no LICENSES.txt beside the prebuild: it was not made by build-static.sh's prebuild step (${build})`);
if (!/^avcv\.node \(lgpl build/.test(fs.readFileSync(licenses, 'utf8'))) fail('LICENSES.txt is not the lgpl build\'s: the package is MIT and ships only the LGPL prebuild');
// the C and C++ runtime, as build-static.sh's check step allows
const SYSTEM = /^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+\.so|libgcc_s\.so)/;
let dyn;
try {
  dyn = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
} catch (e) {
  fail(`readelf -d ${addon} failed (${e.message.split('\n')[0]}): binutils is needed to check the prebuild`);
}
const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const foreign = needed.filter((n) => !SYSTEM.test(n));
if (foreign.length) fail(`${path.relative(root, addon)} needs ${foreign.join(', ')}: not the self-contained build (${build})`);
console.error(`prepack: ${path.relative(root, addon)} (${fs.statSync(addon).size} bytes, needs ${needed.join(', ')}) with LICENSES.txt`);
