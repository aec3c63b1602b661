#!/usr/bin/env node
// Builds the addon with cmake-js (the real build).
//   --prebuild        also copy it to prebuilds/<platform>-<arch>/ (prebuildify naming)
//   --no-external     build with NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED (Electron)
//   --sanitize        AddressSanitizer + UBSan
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmakeArgs = [cmakeJs, 'build', '--directory', root, '--out', 'build'];
if (args.includes('--no-external')) cmakeArgs.push('--CDAVCV_NO_EXTERNAL_BUFFERS=ON');
else cmakeArgs.push('--CDAVCV_NO_EXTERNAL_BUFFERS=OFF');
if (args.includes('--sanitize')) cmakeArgs.push('--CDAVCV_SANITIZE=ON');
else cmakeArgs.push('--CDAVCV_SANITIZE=OFF');
cmakeArgs.push('--parallel', String(Math.max(2, require('node:os').availableParallelism())));
execFileSync(process.execPath, cmakeArgs, { stdio: 'inherit', cwd: root });

if (args.includes('--prebuild')) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, 'avcv.napi.node'); // prebuildify's name for Node-API addons
  fs.copyFileSync(path.join(root, 'build', 'Release', 'avcv.node'), target);
  console.log(`prebuild: ${path.relative(root, target)}`);
}
