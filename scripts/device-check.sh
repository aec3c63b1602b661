#!/usr/bin/env bash
# The GPU checks on a machine with an NVIDIA GPU and nothing else installed
# (the lent device machine reaches no registry). Needs, beside the checkout:
#   dist/                 compiled here (npx tsc -p tsconfig.json)
#   build-static/bundle/  from scripts/build-static.sh (node, ffmpeg, ffprobe
#                         and the self-contained avcv.node, xz-compressed)
# It unpacks the bundle, puts node/ffmpeg/ffprobe first on PATH, points
# AVCV_ADDON at the static addon, then runs test-gpu/ and bench/gpu.mjs.
# Logs go to $OUT when set (the device tool's output folder), else /tmp.
#   bash scripts/device-check.sh [--no-bench]
# AVCV_BENCH_TIMEOUT (seconds, default 360) bounds bench/gpu.mjs.
set -uo pipefail
cd "$(dirname "$0")/.."
bench=1
for a in "$@"; do
  case "$a" in
    --no-bench) bench=0 ;;
    *) echo "device-check.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
bundle=build-static/bundle
work=${AVCV_DEVICE_DIR:-/tmp/avcv-device}
out=${OUT:-/tmp}
[ -d dist ] || { echo "device-check: dist/ is missing (compile it and carry it)" >&2; exit 1; }
[ -d "$bundle" ] || { echo "device-check: $bundle is missing (bash scripts/build-static.sh, then carry it)" >&2; exit 1; }
(cd "$bundle" && sha256sum -c --quiet SHA256SUMS) || { echo "device-check: the bundle is damaged" >&2; exit 1; }
mkdir -p "$work"
for f in avcv.node ffmpeg ffprobe node; do xz -dc "$bundle/$f.xz" >"$work/$f"; done
chmod +x "$work/ffmpeg" "$work/ffprobe" "$work/node"
export PATH="$work:$PATH" AVCV_ADDON="$work/avcv.node"

{
  echo "node $(node --version); $(ffmpeg -hide_banner -version | head -1)"
  nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
  node -e "const a = require('./dist/index.js'); console.log(JSON.stringify({ versions: a.versions(), capabilities: a.capabilities() }, null, 1))"
} 2>&1 | tee "$out/device-info.log"

rc=0
node --test --test-reporter=spec test-gpu/ 2>&1 | tee "$out/test-gpu.log" || rc=1
if [ "$bench" = 1 ]; then
  # bounded so that the whole call stays inside one 10-minute device command
  timeout "${AVCV_BENCH_TIMEOUT:-360}" node bench/gpu.mjs --runs 2 --frames 180 2>&1 | tee "$out/bench-gpu.log" || rc=1
fi
exit $rc
