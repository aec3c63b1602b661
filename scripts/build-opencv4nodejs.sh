#!/usr/bin/env bash
# Builds the dev dependency @u4/opencv4nodejs (used by test/interop.test.mjs
# and bench/cv.mjs) against Debian's OpenCV. npm ci installs it with scripts
# ignored; this compiles its addon (about 5 minutes on 2 cores) against the
# OpenCV modules it finds in Debian's library directory. Idempotent: does
# nothing when the addon already loads.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pkg=node_modules/@u4/opencv4nodejs
if [ ! -d "$pkg" ]; then
  echo "build-opencv4nodejs: $pkg is missing (run npm ci)" >&2
  exit 1
fi
if [ -f "$pkg/build/Release/opencv4nodejs.node" ] &&
   node -e "require('@u4/opencv4nodejs')" >/dev/null 2>&1; then
  exit 0
fi

libdir=$(pkg-config --variable=libdir opencv4)
incdir=$(pkg-config --cflags-only-I opencv4 | sed -e "s/^ *-I//" -e "s/ .*//")

nodedir_arg=()
if [ -f /usr/include/node/node_api.h ]; then nodedir_arg=(--nodedir=/usr); fi
echo "build-opencv4nodejs: compiling @u4/opencv4nodejs against OpenCV $(pkg-config --modversion opencv4)"
log=/tmp/avcv-opencv4nodejs-build.log
(
  cd "$pkg"
  OPENCV4NODEJS_DISABLE_AUTOBUILD=1 OPENCV_INCLUDE_DIR="$incdir" OPENCV_LIB_DIR="$libdir" OPENCV_BIN_DIR=/usr/bin \
    "$root/node_modules/.bin/node-gyp" rebuild "${nodedir_arg[@]}" --jobs=2
) >"$log" 2>&1 || { tail -50 "$log"; echo "build-opencv4nodejs: failed (log: $log)" >&2; exit 1; }
node -e "const cv = require('@u4/opencv4nodejs'); if (typeof cv.Mat !== 'function') process.exit(1)" >/dev/null
echo "build-opencv4nodejs: ready"
