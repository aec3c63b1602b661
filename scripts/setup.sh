#!/usr/bin/env bash
# Brings a fresh Debian 12 machine to a built avcv: installs the Debian
# packages it lacks, the npm dev dependencies, compiles lib/ and the addon.
# Idempotent and quick when everything is already there.
#   --test   also builds what only the tests and benchmarks use: the dev
#            dependency @u4/opencv4nodejs (scripts/build-opencv4nodejs.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=0
for a in "$@"; do
  case "$a" in
    --test) for_tests=1 ;;
    *) echo "setup.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

APT_PACKAGES=(ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev libopencv-dev python3-opencv pkg-config cmake g++ make)
# the tests also build the C++ unit tests (GoogleTest), check C++ formatting,
# and run real streaming servers on loopback, started by the live tests
# themselves: nginx with libnginx-mod-rtmp (RTMP) and GStreamer's
# gst-rtsp-server through python3-gi (RTSP; qtdemux, h264parse, rtph264pay),
# redis-server for the chunked transform's BullMQ queue, and chromium (driven by
# puppeteer-core) to play the ladder's HLS and DASH with hls.js and dash.js
if [ "$for_tests" = 1 ]; then
  APT_PACKAGES+=(libgtest-dev clang-format nginx-light libnginx-mod-rtmp python3-gi gir1.2-gst-rtsp-server-1.0
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad redis-server chromium)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "avcv setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies (scripts ignored: the addon is built below with cmake-js)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "avcv setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

echo "avcv setup: compiling TypeScript"
npx --no-install tsc -p tsconfig.json
chmod +x dist/cli.js

echo "avcv setup: building the native addon (cmake-js)"
node scripts/build-native.js ${AVCV_BUILD_FLAGS:-} >/tmp/avcv-build.log 2>&1 || { cat /tmp/avcv-build.log; exit 1; }
if [ "$for_tests" = 1 ]; then bash scripts/build-opencv4nodejs.sh; fi
echo "avcv setup: ready"
