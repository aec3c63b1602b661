#!/usr/bin/env bash
# `npm install avcv` where nothing is installed: packs this checkout
# (npm pack, with the LGPL prebuild in prebuilds/linux-x64/), then installs
# the tarball into a fresh folder inside a minimal Debian 12 root
# (debootstrap --variant=minbase: no libav, no OpenCV, no compiler, no
# python) and runs a 10-line script there that decodes, converts, writes
# H.264 and keeps the audio, and decodes AV1 on the CPU (dav1d). The host's
# ffmpeg makes the inputs and its ffprobe checks the output.
# Needs: root (chroot, mounts), the prebuild
#   (AVCV_STATIC_LICENSE=lgpl bash scripts/build-static.sh deps src ffmpeg opencv addon check licenses prebuild),
#   dist/ (npx tsc -p tsconfig.json), debootstrap (installed here) and the
#   npm registry (the package's JS dependencies). The root is kept in
#   AVCV_PACK_ROOT (default /tmp/avcv-bare-root) for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RFS=${AVCV_PACK_ROOT:-/tmp/avcv-bare-root}
log() { echo "[pack-check $(date +%T)] $*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PREBUILD=prebuilds/linux-$(node -p process.arch)/avcv.napi.node
[ -f "$PREBUILD" ] || { log "no $PREBUILD: build it with AVCV_STATIC_LICENSE=lgpl bash scripts/build-static.sh (see above)"; exit 1; }
[ -f dist/index.js ] || { log "no dist/: npx tsc -p tsconfig.json"; exit 1; }

# 1. the tarball, as `npm publish` would make it
PACK=$(mktemp -d /tmp/avcv-pack.XXXXXX)
trap 'rm -rf "$PACK"' EXIT
npm pack --silent --pack-destination "$PACK" >/dev/null
TARBALL=$(ls "$PACK"/*.tgz)
log "npm pack: $(basename "$TARBALL") ($(stat -c %s "$TARBALL") bytes)"
tar -tzf "$TARBALL" >"$PACK/list"
grep -q -x "package/$PREBUILD" "$PACK/list" || { log "the tarball has no $PREBUILD"; exit 1; }
grep -q -x "package/${PREBUILD%/*}/LICENSES.txt" "$PACK/list" || { log "the tarball has no LICENSES.txt beside the prebuild"; exit 1; }
grep -q -x "package/LICENSE" "$PACK/list" || { log "the tarball has no LICENSE"; exit 1; }

# 2. the bare root
if [ ! -x "$RFS/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  log "debootstrap --variant=minbase bookworm $RFS"
  $SUDO rm -rf "$RFS.tmp"
  $SUDO debootstrap --variant=minbase bookworm "$RFS.tmp" http://deb.debian.org/debian >/tmp/avcv-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/avcv-debootstrap.log; log "debootstrap failed"; exit 1; }
  $SUDO mv "$RFS.tmp" "$RFS"
fi
# what it lacks, checked rather than assumed
for p in libavcodec59 libopencv-core406 gcc g++ make python3; do
  if $SUDO chroot "$RFS" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    log "the bare root has $p installed"; exit 1
  fi
done
# Node and npm: the host's (a Node release is one binary; npm is JS)
$SUDO mkdir -p "$RFS/usr/local/bin" "$RFS/usr/local/lib/node_modules"
$SUDO cp "$(command -v node)" "$RFS/usr/local/bin/node"
$SUDO rm -rf "$RFS/usr/local/lib/node_modules/npm"
$SUDO cp -r "$(npm root -g)/npm" "$RFS/usr/local/lib/node_modules/npm"
$SUDO ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$RFS/usr/local/bin/npm"
$SUDO cp /etc/resolv.conf "$RFS/etc/resolv.conf"
# the host's CA bundle when it names one (a TLS-inspecting proxy's CA, as
# on CI machines): the root has no ca-certificates, and Node and npm there
# would otherwise trust only Node's built-in list
CA=$(npm config get cafile 2>/dev/null || true)
[ -n "$CA" ] && [ "$CA" != null ] && [ "$CA" != undefined ] || CA=${NODE_EXTRA_CA_CERTS:-}
CA_ENV=()
if [ -n "$CA" ] && [ -f "$CA" ]; then
  $SUDO mkdir -p "$RFS/etc/avcv-pack-check"
  $SUDO cp "$CA" "$RFS/etc/avcv-pack-check/ca.pem"
  CA_ENV=(NODE_EXTRA_CA_CERTS=/etc/avcv-pack-check/ca.pem npm_config_cafile=/etc/avcv-pack-check/ca.pem)
fi

# 3. a fresh folder with the tarball and an input made by the host's ffmpeg
APP=$RFS/work/app
$SUDO rm -rf "$RFS/work"
$SUDO mkdir -p "$APP"
$SUDO cp "$TARBALL" "$RFS/work/avcv.tgz"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$PACK/in.mp4"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libaom-av1 -cpu-used 8 \
  -pix_fmt yuv420p "$PACK/av1.mkv"
$SUDO cp "$PACK/in.mp4" "$PACK/av1.mkv" "$APP/"
$SUDO tee "$APP/check.mjs" >/dev/null <<'JS'
import { VideoReader, transform, versions } from 'avcv';
const r = await VideoReader.open('in.mp4', { format: 'rgb24', layout: 'chw' });     // decode + convert
let n = 0, sum = 0;
for await (const f of r) { n++; sum += f.data[0]; f.release(); }
await r.close();
const s = await transform('in.mp4', 'out.mp4', (f) => f, { codec: 'h264' });        // H.264, audio kept
const a = await VideoReader.open('av1.mkv');                                          // AV1 on the CPU
let av1 = 0;
for await (const f of a) { av1++; f.release(); }
console.log(JSON.stringify({ decoded: n, sum, encoder: s.encoder, audio: s.audio, audioCodec: s.audioCodec, framesOut: s.framesOut,
  av1, av1Decoder: a.info.decoder, libavcodec: versions().libavcodec }));
JS

# 4. install and run, inside the root
mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do $SUDO umount -l "$m" || true; done
  rm -rf "$PACK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through the EXIT trap: the mounts go
for m in proc dev; do
  if [ $m = proc ]; then $SUDO mount -t proc proc "$RFS/proc"; else $SUDO mount --bind /dev "$RFS/dev"; fi
  mounted+=("$RFS/$m")
done
log "in the bare root: npm install ../avcv.tgz && node check.mjs"
OUT=$($SUDO chroot "$RFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "${CA_ENV[@]}" /bin/sh -c \
  'cd /work/app && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error ../avcv.tgz >&2 && node check.mjs')
echo "$OUT"

# 5. the output, as the host's ffprobe sees it
RESULT=$(echo "$OUT" | tail -n 1)
node -e '
  const r = JSON.parse(process.argv[1]);
  const ok = r.decoded === 50 && r.framesOut === 50 && r.audio !== "none" && r.audioCodec === "aac" && /264/.test(r.encoder)
    && r.av1 === 25 && r.av1Decoder === "libdav1d";
  if (!ok) { console.error("pack-check: unexpected result", r); process.exit(1); }' "$RESULT"
PROBE=$(ffprobe -v error -show_entries stream=codec_type,codec_name,nb_frames -of csv=p=0 "$APP/out.mp4")
echo "$PROBE"
echo "$PROBE" | grep -q '^h264,video,50$' || { log "out.mp4: no 50-frame H.264 video"; exit 1; }
echo "$PROBE" | grep -q '^aac,audio' || { log "out.mp4: no AAC audio"; exit 1; }
# OpenH264 without a bitrate: 0.1 bit per pixel and frame (320x240 at 25 fps:
# 192 kb/s), not the wrapper's 2 Mb/s
VBR=$(ffprobe -v error -select_streams v:0 -show_entries stream=bit_rate -of csv=p=0 "$APP/out.mp4")
echo "video bit rate: $VBR b/s (target 192000)"
[ "$VBR" -gt 96000 ] && [ "$VBR" -lt 288000 ] || { log "out.mp4: $VBR b/s, not within 0.5-1.5x of 192 kb/s"; exit 1; }
log "ok: installed from the tarball with no libav, OpenCV or compiler; decoded, converted, wrote H.264 with the audio, decoded AV1"
