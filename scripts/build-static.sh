#!/usr/bin/env bash
# Builds a self-contained avcv addon (FFmpeg 5.1 + OpenCV 4.6 linked in
# statically, from Debian 12's sources) for carrying to a machine that has
# neither, e.g. a GPU box (NVENC/NVDEC through ffnvcodec; the CUDA driver is
# dlopen'ed at run time). Everything goes under build-static/:
#   src/      Debian source packages (apt-get source)
#   ffmpeg/   FFmpeg build tree        opencv/  OpenCV build tree
#   prefix/   static libs, .pc files, ffmpeg/ffprobe CLIs
#   addon/    cmake-js build of the addon (-DAVCV_STATIC_DEPS=ON)
#   bundle/   what to carry: avcv.node, ffmpeg, ffprobe, node (xz)
#   logs/     build logs
# Re-runnable: every step is skipped when its output exists. Force a step by
# removing its output (e.g. rm -rf build-static/prefix/lib/libavcodec.a).
# Re-running the ffmpeg step with a changed component list (FF_* below)
# reconfigures and rebuilds FFmpeg.
# Licence: AVCV_STATIC_LICENSE=gpl (default) or lgpl.
#   gpl:  H.264/HEVC encoding through x264/x265 (FFmpeg --enable-gpl): the
#         build carried to a GPU machine for scripts/device-check.sh, the
#         same encoders as the Debian build the tests are written against.
#   lgpl: what an MIT package may ship (build-static-lgpl/): no
#         --enable-gpl, H.264 encoding through Cisco's libopenh264 (BSD),
#         no HEVC software encoder (hevc_nvenc stays), VP8/VP9 through libvpx,
#         AV1 through SVT-AV1 (encoder) and dav1d (decoder), both BSD and
#         built here from Debian's sources; no libaom (SVT-AV1 is the one
#         codec: 'av1' picks) and no libvorbis (Opus is webm's audio; the
#         native vorbis decoder stays), so that the .node stays under
#         30 MB. Its step 'prebuild' puts the addon into
#         prebuilds/linux-x64/ with LICENSES.txt beside it.
#   Both write LICENSES.txt (what is linked in, with each library's Debian
#   copyright file) into bundle/.
# Usage: bash scripts/build-static.sh [STEP ...]
#   default: deps src ffmpeg opencv addon check bundle
#   test:    the whole test suite against the static addon in a clone
#            (AVCV_STATIC_REF=1: with the static ffmpeg/ffprobe as reference)
# JOBS=N sets make's parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LICENSE=${AVCV_STATIC_LICENSE:-gpl}
case $LICENSE in
  gpl) B=$ROOT/build-static ;;
  lgpl) B=$ROOT/build-static-lgpl ;;
  *) echo "build-static.sh: AVCV_STATIC_LICENSE must be gpl or lgpl; got '$LICENSE'" >&2; exit 2 ;;
esac
SRC=$ROOT/build-static/src  # the Debian sources, shared by both
PREFIX=$B/prefix
LOGS=$B/logs
JOBS=${JOBS:-2}
mkdir -p "$SRC" "$PREFIX" "$LOGS"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
log() { echo "[build-static $(date +%T)] $*"; }
# run_logged NAME CMD...: runs CMD with output in logs/NAME.log; prints the tail on failure
run_logged() {
  local name=$1; shift
  local t0=$SECONDS
  if ! "$@" >"$LOGS/$name.log" 2>&1; then
    tail -n 40 "$LOGS/$name.log"; log "FAILED: $name (log: $LOGS/$name.log)"; exit 1
  fi
  log "$name done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- 1. deps
APT_PACKAGES=(nasm clang libffmpeg-nvenc-dev libx264-dev libx265-dev libnuma-dev libopenh264-dev libvpx-dev libopus-dev
  libaom-dev libvorbis-dev libogg-dev libmp3lame-dev libmbedtls-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libwebp-dev cmake pkg-config make g++ dpkg-dev xz-utils
  meson ninja-build)
step_deps() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # deb-src entries in a file of our own (debian.sources is left alone)
  local srcfile=/etc/apt/sources.list.d/avcv-deb-src.sources
  local need_update=0
  if [ ! -f "$srcfile" ]; then
    log "adding $srcfile"
    $SUDO tee "$srcfile" >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    need_update=1
  fi
  if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The external libraries' static archives go into prefix/lib: every link
# line below has -L$PREFIX/lib before the system directory, so -lx264 finds
# libx264.a there instead of the system's libx264.so (a directory with both
# would give the .so). glibc, libstdc++, libgcc_s stay dynamic (see
# CMakeLists.txt, AVCV_STATIC_DEPS).
# Debian's .a files are not built with -fPIC. With --exclude-libs,ALL (all
# their symbols local) that is harmless for most of them: x86-64 non-PIC
# code reaches its own symbols RIP-relative, and none has 32-bit absolute
# relocations. It is fatal for those whose code reads a glibc variable
# (stderr) directly: "relocation R_X86_64_PC32 against symbol
# `stderr@@GLIBC_2.2.5' can not be used when making a shared object". Those
# (x264, opus, lame, libpng, libjpeg-turbo) are rebuilt here with -fPIC from
# Debian's source packages (same versions as the installed headers that
# FFmpeg and OpenCV were compiled against); libnuma too (x265 needs it, and
# its TLS is local-exec). The others are Debian's own .a, linked.
# dav1d and SVT-AV1: bookworm ships only their shared libraries
# (libdav1d-dev, libsvtav1enc-dev have no .a), so both are built here,
# static and PIC, from Debian's source packages.
# lgpl: Debian's libopenh264.a is PIC already (GOTPCREL relocations only);
# no x264, x265, libnuma or libaom.
STATIC_DEPS=(libvpx.a libz.a libwebp.a libmbedtls.a libmbedx509.a libmbedcrypto.a)
PIC_SOURCES=(opus lame libpng1.6 libjpeg-turbo dav1d svt-av1)
if [ "$LICENSE" = gpl ]; then
  STATIC_DEPS+=(libx265.a libaom.a libvorbis.a libvorbisenc.a libogg.a)
  PIC_SOURCES+=(x264)
else
  STATIC_DEPS+=(libopenh264.a)
fi
link_static_deps() {
  local a multi
  multi=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  mkdir -p "$PREFIX/lib"
  for a in "${STATIC_DEPS[@]}"; do
    [ -f "$multi/$a" ] || { log "missing $multi/$a"; exit 1; }
    ln -sfn "$multi/$a" "$PREFIX/lib/$a"
  done
  if [ "$LICENSE" = gpl ]; then step_numa; fi
  step_piclibs
}

# ---------------------------------------------------------------- 1b. sources
# Debian's source packages (ffmpeg 5.1.x, opencv 4.6.0, and those rebuilt
# with -fPIC below), unpacked with Debian's patches applied into src/<name>.
fetch_source() { # fetch_source PKG DIR
  local pkg=$1 dir=$2
  [ -d "$SRC/$dir" ] && return 0
  log "apt-get source $pkg"
  # the newest version first; a mirror may list a version whose files it
  # does not have yet (404): then the next older one
  local v ok=0
  for v in "" $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p' | sort -V -r); do
    if ( cd "$SRC" && apt-get source --download-only "$pkg${v:+=$v}" >>"$LOGS/source-$pkg.log" 2>&1 ); then ok=1; break; fi
  done
  [ $ok = 1 ] || { tail -n 5 "$LOGS/source-$pkg.log"; log "apt-get source $pkg failed"; exit 1; }
  local dsc
  dsc=$(ls "$SRC"/"${pkg}"_*.dsc | sort -V | tail -n 1)
  rm -rf "$SRC/$dir.tmp"
  ( cd "$SRC" && dpkg-source -x "$dsc" "$SRC/$dir.tmp" >>"$LOGS/source-$pkg.log" 2>&1 )
  mv "$SRC/$dir.tmp" "$SRC/$dir"
  log "$pkg: $(basename "$dsc") unpacked into src/$dir"
}
step_src() {
  fetch_source ffmpeg ffmpeg
  fetch_source opencv opencv
  if [ "$LICENSE" = gpl ]; then fetch_source numactl numactl; fi
  local p
  for p in "${PIC_SOURCES[@]}"; do fetch_source "$p" "$p"; done
}

# ---------------------------------------------------------------- 1c. libnuma (PIC)
# libx265.a needs libnuma, and Debian's libnuma.a is not PIC (its TLS uses
# the local-exec model: "relocation R_X86_64_TPOFF32 ... recompile with
# -fPIC" when linking the .node). The ffmpeg/ffprobe executables could use
# it, the shared addon cannot, so the library (6 C files) is compiled here
# with -fPIC from Debian's numactl source, without autotools (config.h has
# the two things its configure finds: the symver attribute and __thread).
step_numa() {
  local out=$B/numa/libnuma.a
  if [ ! -f "$out" ]; then
    log "numa: compiling libnuma.a with -fPIC"
    local d=$B/numa
    mkdir -p "$d"
    printf '#define HAVE_ATTRIBUTE_SYMVER 1\n#define TLS __thread\n' >"$d/config.h"
    local f objs=()
    for f in libnuma syscall distance affinity sysfs rtnetlink; do
      gcc -O2 -fPIC -std=gnu99 -I"$d" -I"$SRC/numactl" -c "$SRC/numactl/$f.c" -o "$d/$f.o" 2>>"$LOGS/numa.log"
      # Symbol versions: libnuma.so's compat symbols (name@libnuma_1.1) and
      # default ones (name@@libnuma_1.2) would need libnuma's version nodes in
      # the .node. Keep the default ones under their plain names, drop the
      # compat ones (nothing links against them).
      local sym oc=()
      for sym in $(nm "$d/$f.o" | awk '$3 ~ /@/ {print $3}'); do
        case $sym in
          *@@*) oc+=(--redefine-sym "$sym=${sym%%@*}") ;;
          *) oc+=(--strip-symbol "$sym") ;;
        esac
      done
      [ ${#oc[@]} = 0 ] || objcopy "${oc[@]}" "$d/$f.o"
      objs+=("$d/$f.o")
    done
    ar rcs "$out.tmp" "${objs[@]}" && mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$PREFIX/lib/libnuma.a"
}

# ---------------------------------------------------------------- 1d. PIC rebuilds
# pic_build NAME OUTPUT.a: runs build_NAME in pic/NAME unless OUTPUT exists,
# then copies OUTPUT into prefix/lib.
pic_build() {
  local name=$1 out=$B/pic/$1/$2
  if [ ! -f "$out" ]; then
    mkdir -p "$B/pic/$name"
    log "pic: building $name (-fPIC, static)"
    local t0=$SECONDS
    ( cd "$B/pic/$name" && "build_$name" ) >"$LOGS/pic-$name.log" 2>&1 \
      || { tail -n 30 "$LOGS/pic-$name.log"; log "FAILED: pic $name"; exit 1; }
    [ -f "$out" ] || { log "pic: $name did not produce $out"; exit 1; }
    log "pic: $name done in $((SECONDS - t0))s"
  fi
  local dst=$PREFIX/lib/$(basename "$out")
  mkdir -p "$PREFIX/lib"
  if [ -L "$dst" ] || ! cmp -s "$out" "$dst"; then rm -f "$dst"; cp -p "$out" "$dst"; fi
}
PIC_CFLAGS="-O2 -fPIC"
build_x264() {
  # bit depth and chroma formats as Debian's (x264_config.h: X264_BIT_DEPTH 0 = all)
  "$SRC/x264/configure" --enable-static --enable-pic --disable-cli --bit-depth=all --chroma-format=all \
    --disable-lavf --disable-swscale --disable-ffms --disable-gpac --disable-lsmash --disable-opencl
  make -j"$JOBS" libx264.a
}
build_opus() {
  CFLAGS="$PIC_CFLAGS" "$SRC/opus/configure" --with-pic --disable-shared --enable-static --disable-doc \
    --disable-extra-programs --enable-custom-modes --disable-maintainer-mode
  make -j"$JOBS"
}
build_lame() {
  CFLAGS="$PIC_CFLAGS" "$SRC/lame/configure" --with-pic --disable-shared --enable-static --enable-nasm \
    --disable-frontend --disable-maintainer-mode
  make -j"$JOBS"
}
build_libpng1.6() {
  CFLAGS="$PIC_CFLAGS" "$SRC/libpng1.6/configure" --with-pic --disable-shared --enable-static \
    --disable-maintainer-mode
  make -j"$JOBS" libpng16.la
}
build_libjpeg-turbo() {
  cmake -S "$SRC/libjpeg-turbo" -B . -DCMAKE_BUILD_TYPE=Release -DENABLE_SHARED=OFF -DENABLE_STATIC=ON \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DWITH_TURBOJPEG=OFF -DWITH_JAVA=0 -DWITH_SIMD=1
  cmake --build . -j "$JOBS" --target jpeg-static
}
# pic/NAME/inst: headers and .pc files for FFmpeg's configure (its
# PKG_CONFIG_PATH); the .a is copied into prefix/lib like the others.
build_dav1d() {
  meson setup . "$SRC/dav1d" --buildtype=release --default-library=static -Db_staticpic=true \
    -Denable_tools=false -Denable_tests=false --prefix="$B/pic/dav1d/inst" --libdir=lib
  ninja -j"$JOBS" install
}
build_svt-av1() {
  # encoder library only (FFmpeg has no libsvtav1 decoder); nasm, as yasm is
  # not installed. -O2 rather than CMake's Release -O3: 1.5 MB less in the
  # .node (its SIMD kernels are intrinsics and assembly either way), which
  # keeps the prebuild under 30 MB; measured at 720p, preset 8: 2% slower,
  # the same decoded output.
  cmake -S "$SRC/svt-av1" -B . -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DBUILD_SHARED_LIBS=OFF -DBUILD_DEC=OFF \
    -DBUILD_APPS=OFF -DBUILD_TESTING=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DENABLE_NASM=ON \
    -DCMAKE_INSTALL_PREFIX="$B/pic/svt-av1/inst" -DCMAKE_INSTALL_LIBDIR=lib
  cmake --build . -j "$JOBS"
  cmake --install .
}
step_piclibs() {
  if [ "$LICENSE" = gpl ]; then pic_build x264 libx264.a; fi
  pic_build opus .libs/libopus.a
  pic_build lame libmp3lame/.libs/libmp3lame.a
  pic_build libpng1.6 .libs/libpng16.a
  ln -sfn libpng16.a "$PREFIX/lib/libpng.a"
  pic_build libjpeg-turbo libjpeg.a
  pic_build dav1d inst/lib/libdav1d.a
  pic_build svt-av1 inst/lib/libSvtAv1Enc.a
}

# ---------------------------------------------------------------- 2. FFmpeg
# Static, PIC (it goes into a shared .node), only what avcv and its tests
# need. --disable-autodetect: nothing gets in by accident (no libdrm, xcb,
# bzlib, ...); everything wanted is enabled by name below.
# CUDA: as in Debian's debian/rules, which builds with clang and
# libffmpeg-nvenc-dev installed and lets configure autodetect ffnvcodec,
# cuda, cuvid, nvdec, nvenc and cuda-llvm (clang compiles the .cu filters
# such as scale_cuda to PTX with the default --cuda-gpu-arch=sm_30 -O2;
# the driver JIT-compiles the PTX for the GPU it finds). Here the same
# components are enabled explicitly because autodetection is off. The CUDA
# and NVENC/CUVID libraries are dlopen'ed at run time (ffnvcodec), so
# nothing NVIDIA is linked.
# No av1_nvenc: it first appeared in FFmpeg 6.0 (and needs nv-codec-headers
# 12; bookworm has 11.1.5.2). FFmpeg 5.1 has AV1 NVDEC (av1_nvdec, av1_cuvid)
# but no AV1 NVENC.
# AV1: dav1d decodes on the CPU (libdav1d, which avcodec_find_decoder()
# returns first); FFmpeg's native "av1" decoder decodes only through a
# hwaccel (av1_nvdec) and is the one avcv opens for device 'cuda'/'auto'
# when a GPU is there (native/core/device.cpp, findDecoder). Encoding:
# SVT-AV1 (libsvtav1), and in the gpl build also libaom (encoder only: its
# decoder would add nothing to dav1d).
# http/https/tcp: avcv allows only file by default; its tests check that these
# are refused by the whitelist (PROTOCOL_NOT_ALLOWED), not missing. TLS: mbedTLS
# (Debian's .a; small, Apache-2.0, needs --enable-version3).
FF_PROTOCOLS=(file pipe http https tcp tls)
FF_DEMUXERS=(mov matroska mpegts avi ivf mjpeg rawvideo image2 image2pipe image_png_pipe image_jpeg_pipe concat
  h264 hevc wav aac mp3 ogg flac hls pcm_s16le)
FF_INDEVS=(lavfi)
FF_MUXERS=(mp4 mov ipod matroska webm mpegts avi ivf rawvideo null framecrc framemd5 md5 image2 image2pipe
  wav adts ogg hls segment data pcm_s16le mp3 flac)
FF_DECODERS=(h264 hevc vp8 vp9 av1 libdav1d mpeg4 mjpeg ffv1 rawvideo png aac opus mp3 mp3float pcm_s16le pcm_f32le
  flac vorbis h264_cuvid hevc_cuvid vp9_cuvid av1_cuvid)
FF_ENCODERS=(libvpx_vp8 libvpx_vp9 libsvtav1 mpeg4 mjpeg ffv1 rawvideo png wrapped_avframe
  aac libopus libmp3lame flac pcm_s16le pcm_f32le h264_nvenc hevc_nvenc)
if [ "$LICENSE" = gpl ]; then
  FF_ENCODERS+=(libx264 libx264rgb libx265 libaom_av1 libvorbis)
  FF_LICENSE_FLAGS=(--enable-gpl --enable-version3 --enable-libx264 --enable-libx265 --enable-libaom
    --enable-libvorbis)
  FF_LIBS_CHECK=(LIBX264 LIBX265 LIBAOM LIBVORBIS)
else
  FF_ENCODERS+=(libopenh264)
  FF_LICENSE_FLAGS=(--enable-version3 --enable-libopenh264)  # version3: mbedTLS (Apache-2.0)
  FF_LIBS_CHECK=(LIBOPENH264)
fi
FF_HWACCELS=(h264_nvdec hevc_nvdec vp9_nvdec av1_nvdec)
FF_PARSERS=(h264 hevc vp8 vp9 av1 mpeg4video mjpeg aac opus mpegaudio vorbis flac png)
FF_BSFS=(h264_mp4toannexb hevc_mp4toannexb extract_extradata vp9_superframe vp9_superframe_split
  av1_frame_split aac_adtstoasc null)
FF_FILTERS=(scale scale_cuda hwupload_cuda hwdownload hwupload format null anull testsrc2 testsrc sine anullsrc
  aresample aformat atrim trim setpts asetpts settb asettb select aselect fps crop pad transpose hflip vflip
  rotate copy split asplit concat color nullsink anullsink
  lut negate smptebars smptehdbars rgbtestsrc)  # the last line: sources/filters only the tests' CLI calls use
# (buffer/buffersink/abuffer/abuffersink are always built: no switch)
ff_enable() { # ff_enable KIND NAMES...
  local kind=$1 n; shift
  for n in "$@"; do printf -- '--enable-%s=%s ' "$kind" "$n"; done
}
step_ffmpeg() {
  local build=$B/ffmpeg
  mkdir -p "$build"
  link_static_deps
  # shellcheck disable=SC2046
  local conf=(
    --prefix="$PREFIX"
    --extra-version=avcv-static
    --pkg-config-flags=--static
    --extra-ldflags="-L$PREFIX/lib"
    --disable-shared --enable-static --enable-pic
    "${FF_LICENSE_FLAGS[@]}"
    --disable-doc --disable-programs --enable-ffmpeg --enable-ffprobe
    --disable-autodetect --enable-pthreads --enable-zlib
    --enable-ffnvcodec --enable-cuda --enable-cuda-llvm --enable-cuvid --enable-nvdec --enable-nvenc
    --enable-libvpx --enable-libopus --enable-libdav1d --enable-libsvtav1
    --enable-libmp3lame --enable-mbedtls
    --disable-everything
    $(ff_enable protocol "${FF_PROTOCOLS[@]}")
    $(ff_enable demuxer "${FF_DEMUXERS[@]}")
    $(ff_enable indev "${FF_INDEVS[@]}")
    $(ff_enable muxer "${FF_MUXERS[@]}")
    $(ff_enable decoder "${FF_DECODERS[@]}")
    $(ff_enable encoder "${FF_ENCODERS[@]}")
    $(ff_enable hwaccel "${FF_HWACCELS[@]}")
    $(ff_enable parser "${FF_PARSERS[@]}")
    $(ff_enable bsf "${FF_BSFS[@]}")
    $(ff_enable filter "${FF_FILTERS[@]}")
  )
  # the configure line is kept in ffmpeg/avcv-configure.args: the same line
  # and installed outputs = nothing to do; another line = configure + make
  local want stamp=$build/avcv-configure.args
  want=$(printf '%s\n' "${conf[@]}")
  if [ -f "$PREFIX/lib/libavcodec.a" ] && [ -x "$PREFIX/bin/ffmpeg" ] && [ -x "$PREFIX/bin/ffprobe" ] \
     && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "ffmpeg: already built ($PREFIX/lib/libavcodec.a)"; return 0
  fi
  if [ ! -f "$build/ffbuild/config.mak" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -f "$stamp"
    log "ffmpeg: configure"
    # ffnvcodec.pc lives in /usr/share/pkgconfig; x264/vpx/... in the multiarch dir;
    # dav1d/SVT-AV1 in pic/*/inst (before the system's .pc of their shared libraries)
    ( cd "$build" && PKG_CONFIG_PATH="$B/pic/dav1d/inst/lib/pkgconfig:$B/pic/svt-av1/inst/lib/pkgconfig:/usr/share/pkgconfig" \
        "$SRC/ffmpeg/configure" "${conf[@]}" ) \
      >"$LOGS/ffmpeg-configure.log" 2>&1 || { tail -n 30 "$build/ffbuild/config.log"; exit 1; }
    # every component asked for must be enabled (configure silently drops
    # one whose dependency is missing)
    local miss=0 kind n
    for kind in decoder encoder hwaccel filter demuxer muxer; do
      local arr="FF_${kind^^}S[@]"
      for n in "${!arr}"; do
        grep -q "^CONFIG_${n^^}_${kind^^}=yes" "$build/ffbuild/config.mak" || { echo "ffmpeg: NOT enabled: $kind $n"; miss=1; }
      done
    done
    for n in CUDA_LLVM FFNVCODEC NVENC NVDEC CUVID "${FF_LIBS_CHECK[@]}" LIBVPX LIBOPUS LIBDAV1D LIBSVTAV1 ZLIB PTHREADS; do
      grep -q "^CONFIG_${n}=yes\|^HAVE_${n}=yes" "$build/ffbuild/config.mak" "$build/config.h" 2>/dev/null \
        || grep -q "#define CONFIG_${n} 1\|#define HAVE_${n} 1" "$build/config.h" || { echo "ffmpeg: NOT enabled: $n"; miss=1; }
    done
    if [ $miss = 1 ]; then rm -f "$build/ffbuild/config.mak"; log "ffmpeg: configure dropped components (see above)"; exit 1; fi
    printf '%s' "$want" >"$stamp"
  fi
  log "ffmpeg: make -j$JOBS (log: $LOGS/ffmpeg-make.log)"
  run_logged ffmpeg-make make -C "$build" -j"$JOBS"
  run_logged ffmpeg-install make -C "$build" install
}

# ---------------------------------------------------------------- 3. OpenCV
# core, imgproc, imgcodecs only, static and PIC; image formats through
# Debian's static libpng/libjpeg-turbo/libwebp/zlib (linked in prefix/lib).
# CPU baseline/dispatch as Debian's debian/rules on amd64 (baseline SSE2,
# run-time dispatch to SSE4/AVX/AVX2/AVX512), so results match Debian's
# OpenCV, which the tests use as their oracle (python3-opencv).
step_opencv() {
  if [ -f "$PREFIX/lib/libopencv_core.a" ] && [ -f "$PREFIX/lib/pkgconfig/opencv4.pc" ]; then
    log "opencv: already built ($PREFIX/lib/libopencv_core.a)"; return 0
  fi
  link_static_deps
  local build=$B/opencv
  local arch_flags=()
  if [ "$(dpkg-architecture -qDEB_HOST_ARCH_CPU)" = amd64 ]; then
    arch_flags=(-DCPU_BASELINE=SSE2 -DCPU_BASELINE_DISABLE=SSE3)
  fi
  local off=(TIFF OPENEXR GDAL GDCM JASPER OPENJPEG IPP ITT TBB OPENCL OPENCL_SVM OPENCLAMDFFT OPENCLAMDBLAS
    VA VA_INTEL CUDA CUFFT CUBLAS NVCUVID PROTOBUF FFMPEG GSTREAMER V4L GTK QT OPENGL VTK EIGEN LAPACK
    OPENMP 1394 OPENVX HALIDE VULKAN QUIRC ADE
    CAROTENE GPHOTO2 PVAPI XIMEA XINE LIBREALSENSE ONNX TENGINE WEBNN TIMVX CLP DSHOW MSMF UNICAP)
  local w wopts=()
  for w in "${off[@]}"; do wopts+=("-DWITH_$w=OFF"); done
  if [ ! -f "$build/CMakeCache.txt" ]; then
    log "opencv: cmake"
    run_logged opencv-cmake cmake -S "$SRC/opencv" -B "$build" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
      -DBUILD_LIST=core,imgproc,imgcodecs \
      -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
      -DOPENCV_GENERATE_PKGCONFIG=ON -DBUILD_INFO_SKIP_TIMESTAMP=ON -DOPENCV_DOWNLOAD_TRIES_LIST= \
      -DOPENCV_VCSVERSION="$(cd "$SRC/opencv" && dpkg-parsechangelog -S Version)" \
      -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_opencv_apps=OFF \
      -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_java=OFF \
      -DBUILD_ZLIB=OFF -DBUILD_PNG=OFF -DBUILD_JPEG=OFF -DBUILD_WEBP=OFF -DBUILD_TIFF=OFF -DBUILD_OPENJPEG=OFF \
      -DBUILD_JASPER=OFF -DBUILD_OPENEXR=OFF -DBUILD_PROTOBUF=OFF -DBUILD_ITT=OFF -DBUILD_IPP_IW=OFF \
      -DWITH_PNG=ON -DWITH_JPEG=ON -DWITH_WEBP=ON -DWITH_PTHREADS_PF=ON \
      -DWITH_IMGCODEC_HDR=ON -DWITH_IMGCODEC_SUNRASTER=ON -DWITH_IMGCODEC_PXM=ON -DWITH_IMGCODEC_PFM=ON \
      -DZLIB_LIBRARY="$PREFIX/lib/libz.a" -DZLIB_INCLUDE_DIR=/usr/include \
      -DPNG_LIBRARY="$PREFIX/lib/libpng16.a" -DPNG_PNG_INCLUDE_DIR=/usr/include \
      -DJPEG_LIBRARY="$PREFIX/lib/libjpeg.a" -DJPEG_INCLUDE_DIR=/usr/include \
      -DWEBP_LIBRARY="$PREFIX/lib/libwebp.a" -DWEBP_INCLUDE_DIR=/usr/include \
      -DENABLE_PRECOMPILED_HEADERS=OFF -DCMAKE_SKIP_RPATH=ON \
      "${wopts[@]}" "${arch_flags[@]}"
  fi
  log "opencv: make -j$JOBS (log: $LOGS/opencv-make.log)"
  run_logged opencv-make cmake --build "$build" -j "$JOBS"
  run_logged opencv-install cmake --install "$build"
  # static libs must not be taken from the system: check the .pc
  local pc=$PREFIX/lib/pkgconfig/opencv4.pc
  # (expected: -lopencv_imgcodecs -lopencv_imgproc -lopencv_core, and privately
  # -L$PREFIX/lib -ljpeg -lwebp -lpng16 -lz: the archives linked there)
  if grep -E '^Libs' "$pc" | grep -q -E '\.so|/usr/lib'; then
    log "opencv: unexpected libraries in $pc:"; grep -E '^Libs' "$pc"; exit 1
  fi
}

# ---------------------------------------------------------------- 4. addon
# cmake-js, as scripts/build-native.js drives it, into $B/addon (the
# normal build/ is untouched). Always run: make is incremental. Only the
# prefix's .pc files are visible to pkg-config (PKG_CONFIG_LIBDIR).
ADDON=$B/addon/Release/avcv.node
step_addon() {
  [ -f node_modules/cmake-js/bin/cmake-js ] || { log "node_modules/cmake-js missing: run npm ci --ignore-scripts"; exit 1; }
  [ -f "$PREFIX/lib/pkgconfig/libavcodec.pc" ] && [ -f "$PREFIX/lib/pkgconfig/opencv4.pc" ] \
    || { log "build-static/prefix is incomplete: run the ffmpeg and opencv steps"; exit 1; }
  # CMake caches pkg-config's answers: a rebuilt prefix (another FFmpeg
  # configuration, new .pc files) needs a fresh configure
  local cache=$B/addon/CMakeCache.txt
  if [ -f "$cache" ] && [ -n "$(find "$PREFIX/lib/pkgconfig" -name '*.pc' -newer "$cache")" ]; then
    log "addon: .pc files changed since the last configure: removing $cache"
    rm -f "$cache"
  fi
  log "addon: cmake-js build --out ${B#"$ROOT"/}/addon --CDAVCV_STATIC_DEPS=ON"
  PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" \
    run_logged addon node node_modules/cmake-js/bin/cmake-js build --directory . --out "${B#"$ROOT"/}/addon" \
      --CDAVCV_STATIC_DEPS=ON --CDAVCV_NO_EXTERNAL_BUFFERS=OFF --CDAVCV_SANITIZE=OFF --parallel "$JOBS"
}

# ---------------------------------------------------------------- 5. check
# The .node needs no shared library beyond glibc/libstdc++/libgcc_s and
# exports nothing but its Node-API entry points; ffmpeg/ffprobe likewise.
SYSTEM_LIBS='linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+\.so|libgcc_s\.so'
check_deps() { # check_deps FILE
  local bad
  bad=$(ldd "$1" | grep -v -E "$SYSTEM_LIBS" || true)
  if [ -n "$bad" ]; then log "$1 needs more than the system libraries:"; echo "$bad"; exit 1; fi
}
step_check() {
  [ -f "$ADDON" ] || { log "no $ADDON: run the addon step"; exit 1; }
  log "check: ldd $ADDON"; ldd "$ADDON"
  check_deps "$ADDON"
  local exports
  exports=$(nm -D --defined-only "$ADDON" | awk '{print $3}' | sort)
  log "check: exported symbols:"; echo "$exports"
  if echo "$exports" | grep -v -x -E 'napi_register_module_v1|node_api_module_get_api_version_v1' | grep -q .; then
    log "check: the addon exports more than its Node-API entry points"; exit 1
  fi
  # a shared object links with undefined symbols; the only unversioned ones
  # may be node's (napi_*, node_api_*, uv_*): anything else is a library
  # missing from the link line
  local undef
  undef=$(nm -D --undefined-only "$ADDON" | awk '{print $2}' | grep -v '@' \
    | grep -v -E '^(napi_|node_api_|uv_|__gmon_start__$|_ITM_|__cxa_finalize$)' || true)
  if [ -n "$undef" ]; then log "check: undefined symbols nothing will provide:"; echo "$undef"; exit 1; fi
  log "check: newest glibc/libstdc++ symbol versions needed:"
  objdump -T "$ADDON" | grep -o -E '(GLIBC|GLIBCXX|CXXABI)_[0-9.]+' | sort -t_ -k1,1 -k2,2V -u \
    | awk -F_ '{v[$1]=$0} END {for (k in v) print "  " v[k]}'
  local p
  for p in ffmpeg ffprobe; do check_deps "$PREFIX/bin/$p"; done
  node -e "const a = require(process.argv[1]); const c = a.capabilities ? a.capabilities() : null;
    console.log('load ok:', Object.keys(a).length, 'exports', c ? JSON.stringify(c).slice(0, 400) : '')" "$ADDON"
}

# ---------------------------------------------------------------- 6. bundle
# What to carry to the GPU machine: every file stripped and xz'ed on its own
# (xz -9), a README and SHA256SUMS. Rebuilt when an input is newer.
BUNDLE=$B/bundle
step_bundle() {
  [ -f "$ADDON" ] || { log "no $ADDON: run the addon step"; exit 1; }
  mkdir -p "$BUNDLE"
  local node_bin
  node_bin=$(command -v node)
  local -A inputs=([avcv.node]=$ADDON [ffmpeg]=$PREFIX/bin/ffmpeg [ffprobe]=$PREFIX/bin/ffprobe [node]=$node_bin)
  local name changed=0
  for name in avcv.node ffmpeg ffprobe node; do
    local in=${inputs[$name]} out=$BUNDLE/$name.xz
    if [ -f "$out" ] && [ "$out" -nt "$in" ]; then continue; fi
    changed=1
    local tmp=$BUNDLE/.$name.tmp
    cp "$in" "$tmp"
    case $name in
      avcv.node) strip --strip-unneeded "$tmp" ;;
      ffmpeg|ffprobe) strip "$tmp" ;;
      node) ;; # as Debian/NodeSource ship it
    esac
    log "bundle: xz -9 $name ($(du -h "$tmp" | cut -f1)$([ "$name" = node ] || echo ', stripped'))"
    xz -9 -T1 -c "$tmp" >"$out.tmp" && mv "$out.tmp" "$out"
    rm -f "$tmp"
  done
  if [ $changed = 1 ] || [ ! -f "$BUNDLE/README.txt" ]; then
    cat >"$BUNDLE/README.txt" <<README
avcv, self-contained (FFmpeg $(sed -n 's/.*FFMPEG_VERSION "\(.*\)"/\1/p' "$B/ffmpeg/libavutil/ffversion.h" 2>/dev/null) + OpenCV 4.6 linked in; NVENC/NVDEC via the
NVIDIA driver, loaded at run time). Built by scripts/build-static.sh on Debian 12
(glibc 2.36): needs glibc >= 2.36, libstdc++6, x86_64.
Unpack: xz -dk *.xz && chmod +x ffmpeg ffprobe node   (sha256sum -c SHA256SUMS first)
Use:    in a copy of the repo that has dist/ (npx tsc -p tsconfig.json, done before
        carrying: there is no registry there) and node_modules (node-gyp-build, jest:
        npm ci --ignore-scripts before carrying) plus cmake/ctest/libgtest for the C++ tests:
        cp avcv.node <repo>/build/Release/avcv.node; rm -rf <repo>/prebuilds
        cd <repo> && PATH=<this folder>:\$PATH node scripts/run-tests.js
        (node: $("$node_bin" --version), a copy of $node_bin; ffmpeg/ffprobe: the tests' reference CLIs)
README
    ( cd "$BUNDLE" && sha256sum avcv.node.xz ffmpeg.xz ffprobe.xz node.xz >SHA256SUMS )
  fi
  log "bundle: $(du -cb "$BUNDLE"/*.xz "$BUNDLE/README.txt" "$BUNDLE/SHA256SUMS" | tail -n1 | cut -f1) bytes in $BUNDLE"
  ls -l "$BUNDLE"
}

# ---------------------------------------------------------------- 7. licences
# bundle/LICENSES.txt: FFmpeg's licence as the built ffmpeg reports it
# (ffmpeg -L follows the configure flags), its configure line, and the
# Debian copyright file of every library linked into the addon. The lgpl
# variant fails here if FFmpeg says GPL or anything GPL-only is linked.
# PKG:NAME: Debian package PKG's copyright file; src/DIR:NAME: the
# copyright file of a source package built here (dav1d, SVT-AV1)
LICENSE_PACKAGES=(libavcodec-dev:FFmpeg libopencv-core-dev:OpenCV libvpx-dev:libvpx
  src/dav1d:dav1d src/svt-av1:SVT-AV1
  libopus-dev:Opus libmp3lame-dev:LAME libmbedtls-dev:'Mbed TLS'
  zlib1g-dev:zlib libpng-dev:libpng libjpeg62-turbo-dev:libjpeg-turbo libwebp-dev:libwebp
  libffmpeg-nvenc-dev:'nv-codec-headers (ffnvcodec)')
if [ "$LICENSE" = gpl ]; then
  LICENSE_PACKAGES+=(libx264-dev:x264 libx265-dev:x265 libnuma-dev:libnuma libaom-dev:libaom
    libvorbis-dev:libvorbis libogg-dev:libogg)
else
  LICENSE_PACKAGES+=(libopenh264-dev:OpenH264)
fi
step_licenses() {
  [ -x "$PREFIX/bin/ffmpeg" ] || { log "no $PREFIX/bin/ffmpeg: run the ffmpeg step"; exit 1; }
  mkdir -p "$BUNDLE"
  local out=$BUNDLE/LICENSES.txt ff_license
  ff_license=$("$PREFIX/bin/ffmpeg" -hide_banner -L 2>&1 | sed -n '/free software/,/^$/p')
  if [ "$LICENSE" = lgpl ]; then
    echo "$ff_license" | grep -q 'GNU Lesser General Public License' \
      || { log "licences: FFmpeg does not say LGPL:"; echo "$ff_license"; exit 1; }
    if grep -q -E -e '--enable-(gpl|nonfree)|libx26[45]' "$B/ffmpeg/avcv-configure.args"; then
      log "licences: the lgpl FFmpeg was configured with GPL parts"; exit 1
    fi
  fi
  {
    echo "avcv.node ($LICENSE build, scripts/build-static.sh): the libraries linked into it, and their licences."
    echo "avcv itself is MIT-licensed (see the package's LICENSE). glibc, libstdc++ and libgcc_s are the system's."
    echo
    echo "==== FFmpeg $(sed -n 's/.*FFMPEG_VERSION "\(.*\)"/\1/p' "$B/ffmpeg/libavutil/ffversion.h") ===="
    echo "$ff_license"
    echo
    echo "configured with:"
    grep -v -e '^--prefix=' -e '^--extra-ldflags=' "$B/ffmpeg/avcv-configure.args" | sed 's/^/  /'
    local entry pkg name doc origin cl
    for entry in "${LICENSE_PACKAGES[@]}"; do
      pkg=${entry%%:*}; name=${entry#*:}
      if [[ $pkg == src/* ]]; then
        doc=$SRC/${pkg#src/}/debian/copyright
        cl=${doc%copyright}changelog
        origin="built from Debian source package $(dpkg-parsechangelog -l "$cl" -S Source) $(dpkg-parsechangelog -l "$cl" -S Version)"
      else
        doc=/usr/share/doc/$pkg/copyright
        origin="Debian package $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
      fi
      [ -f "$doc" ] || { log "licences: no $doc ($name)"; exit 1; }
      echo
      echo "==== $name ($origin) ===="
      cat "$doc"
    done
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  log "licences: $out ($(wc -c <"$out") bytes, ${#LICENSE_PACKAGES[@]} libraries)"
}

# ---------------------------------------------------------------- 8. prebuild (lgpl)
# The npm package's prebuild: the stripped addon as
# prebuilds/linux-x64/avcv.napi.node (prebuildify's name; node-gyp-build
# loads it) with LICENSES.txt beside it. Only from the lgpl build: the
# package is MIT.
step_prebuild() {
  [ "$LICENSE" = lgpl ] || { log "prebuild: only AVCV_STATIC_LICENSE=lgpl builds go into the package"; exit 1; }
  [ -f "$ADDON" ] || { log "no $ADDON: run the addon step"; exit 1; }
  [ -f "$BUNDLE/LICENSES.txt" ] || step_licenses
  local dir=$ROOT/prebuilds/linux-$(node -p process.arch)
  mkdir -p "$dir"
  strip --strip-unneeded -o "$dir/.avcv.napi.node.tmp" "$ADDON"
  mv "$dir/.avcv.napi.node.tmp" "$dir/avcv.napi.node"
  cp "$BUNDLE/LICENSES.txt" "$dir/LICENSES.txt"
  local size
  size=$(stat -c %s "$dir/avcv.napi.node")
  log "prebuild: $dir/avcv.napi.node ($size bytes)"
  [ "$size" -lt 30000000 ] || { log "prebuild: $size bytes, over 30 MB"; exit 1; }
}

# ---------------------------------------------------------------- test (optional)
# The project's whole test suite against the static addon, in a separate
# clone (never in this checkout): bash scripts/build-static.sh test
# AVCV_STATIC_REF=1 puts build-static/prefix/bin first on PATH, so the
# static ffmpeg/ffprobe are the tests' reference CLIs too.
TEST_CLONE=${AVCV_STATIC_TEST_CLONE:-/tmp/avcv-static-check}
step_test() {
  [ -f "$ADDON" ] || { log "no $ADDON: run the addon step"; exit 1; }
  if [ ! -d "$TEST_CLONE/.git" ]; then
    git clone -q "$ROOT" "$TEST_CLONE"
  else
    git -C "$TEST_CLONE" fetch -q origin && git -C "$TEST_CLONE" reset -q --hard origin/HEAD
  fi
  ( cd "$TEST_CLONE"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    fi
    npx --no-install tsc -p tsconfig.json
    bash scripts/build-opencv4nodejs.sh  # the interop tests load it beside the static addon
    rm -rf prebuilds
    mkdir -p build/Release && cp "$ADDON" build/Release/avcv.node
    if [ "${AVCV_STATIC_REF:-0}" = 1 ]; then export PATH=$PREFIX/bin:$PATH; fi
    log "test: $(command -v ffmpeg) as the reference; addon $ADDON"
    node scripts/run-tests.js )
}

# ---------------------------------------------------------------- main
STEPS=("$@")
if [ ${#STEPS[@]} = 0 ]; then STEPS=(deps src ffmpeg opencv addon check bundle licenses); fi
T0=$SECONDS
for s in "${STEPS[@]}"; do
  case $s in
    deps|src|numa|piclibs|ffmpeg|opencv|addon|check|bundle|licenses|prebuild|test) ;;
    *) echo "build-static.sh: unknown step '$s' (steps: deps src numa piclibs ffmpeg opencv addon check bundle licenses prebuild test)" >&2; exit 2 ;;
  esac
done
for s in "${STEPS[@]}"; do
  t=$SECONDS
  "step_$s"
  log "step $s: $((SECONDS - t))s"
done
log "done in $((SECONDS - T0))s"
