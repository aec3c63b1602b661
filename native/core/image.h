// avcv's explicit pixel formats and layouts, described as libav planes over
// caller-owned memory, and the one swscale pass that converts into it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ffptr.h"

namespace avcv {

// Bytes every destination buffer must have beyond the image: swscale's SIMD
// writers (e.g. x86 yuv2rgb) store whole blocks and can run past the last
// row's end, as FFmpeg assumes padded buffers.
constexpr size_t kDstPadding = 64;

enum class PixFmt { BGR24, RGB24, GRAY, BGRA, RGBA, YUV420P, NV12 };
enum class Layout { HWC, CHW, PLANAR };

bool parsePixFmt(const std::string& s, PixFmt* out);
bool parseLayout(const std::string& s, Layout* out);
const char* pixFmtName(PixFmt f);
const char* layoutName(Layout l);
int pixFmtChannels(PixFmt f);  // 3, 3, 1, 4, 4, and 1 for the planar YUV formats
bool isPlanarYuv(PixFmt f);

// A tightly packed image of an avcv format/layout, as libav sees it.
struct ImageDesc {
  PixFmt format = PixFmt::BGR24;  // what avcv calls it
  Layout layout = Layout::HWC;
  AVPixelFormat avFormat = AV_PIX_FMT_NONE;
  int width = 0, height = 0;
  int planes = 0;
  size_t offset[4] = {0, 0, 0, 0};  // byte offset of libav plane i in the buffer
  int linesize[4] = {0, 0, 0, 0};
  int planeWidth[4] = {0, 0, 0, 0};  // elements per row of each plane
  int planeHeight[4] = {0, 0, 0, 0};
  int planeElemBytes[4] = {0, 0, 0, 0};
  size_t bytes = 0;
};

// Throws avcv::Error("INVALID_ARGUMENT") for impossible combinations (chw of a
// planar YUV format, odd sizes for 4:2:0, sizes out of range).
ImageDesc describeImage(PixFmt fmt, Layout layout, int width, int height);

struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
};

// The one table of interpolation names: what each means to swscale (the
// reader, writer and transcoding), to OpenCV (cv ops, letterbox; -1 when it
// has none) and to scale_cuda ("" when it has none: those scale on the CPU).
struct Interpolation {
  const char* name;
  int swsFlags;
  int cvFlag;
  const char* cuda;
};
const std::vector<Interpolation>& interpolations();
const Interpolation* findInterpolation(const std::string& name);  // nullptr when unknown

// sws flag set for an interpolation name; false when unknown.
bool parseInterpolation(const std::string& s, int* swsFlags);
// The swscale flags for an interpolation name and a quality ('fast' |
// 'accurate'). Throws Error INVALID_ARGUMENT for unknown names.
int swsFlagsFor(const std::string& interpolation, const std::string& quality);

// Converts decoded frames (any libav format, any size) into a fixed
// destination image, cropping and scaling in the same pass. The swscale
// context is set up the way the ffmpeg CLI's scale filter sets it up
// (bicubic by default, MPEG-2 chroma siting for yuv420p, the frame's own
// colour matrix and range), so default output equals `ffmpeg -pix_fmt X`.
// Single-threaded on purpose: with tightly packed destinations swscale's SIMD
// writers overrun each row's end into the next row, which slice threads would
// race on.
// chw output is the hwc conversion split into planes, so that a layout never
// changes values: chw is exactly the transpose of hwc.
class FrameConverter {
 public:
  FrameConverter(const ImageDesc& dst, int swsFlags);
  // crop in source pixels (width 0 = whole frame). copyTail: the source's
  // memory may end right after its last row (memory libav did not allocate,
  // without its padding), so its last rows are read from a padded copy.
  void convert(const AVFrame* src, const Rect& crop, uint8_t* dst, bool copyTail = false);

 private:
  void setup(const AVFrame* src, const Rect& crop);
  ImageDesc dst_;
  ImageDesc scaled_;             // what swscale writes: dst_, or its hwc form for chw
  std::vector<uint8_t> packed_;  // the hwc image of a chw output
  std::vector<uint8_t> rows_;    // rows with room for swscale's whole-block stores (see scaleInto)
  std::vector<uint8_t> tail_;    // the padded copy of the source's last rows (copyTail)
  int flags_;
  SwsPtr sws_;
  int srcW_ = -1, srcH_ = -1, srcFmt_ = -1, cropX_ = -1, cropY_ = -1;
  int colorspace_ = -1, range_ = -1;
};

// A frame in another libav's memory (node-av's, whose FFmpeg may number pixel
// formats differently): its format by libav name, its planes by pointer, row
// stride and the byte length its owner vouches for.
struct ForeignFrame {
  std::string format;
  int width = 0, height = 0;
  int colorspace = 2, colorRange = 0;  // AVColorSpace, AVColorRange (H.273 numbers: the same in every libav)
  int planeCount = 0;
  const uint8_t* data[4] = {nullptr, nullptr, nullptr, nullptr};
  size_t bytes[4] = {0, 0, 0, 0};
  int stride[4] = {0, 0, 0, 0};
};

// Converts a foreign frame into dst as the reader converts decoded frames (a
// FrameConverter with the CLI's bicubic flags), reading its planes in place
// and its last rows from a padded copy. Throws Error UNSUPPORTED for formats
// this libav or swscale lacks and for hardware formats, INVALID_ARGUMENT for
// missing or short planes.
void convertForeign(const ForeignFrame& src, const ImageDesc& dst, uint8_t* dstData);

// Crop rectangle rounded down to the chroma grid of `fmt`, as the CLI's crop
// filter does; clamps nothing (the caller validated bounds).
Rect alignCrop(const Rect& r, AVPixelFormat fmt);

// One sws_scale pass into a tightly packed destination image. swscale's SIMD
// writers store whole blocks: the x86 YUV->RGB path converts 8 pixels at a
// time and leaves the last width % 8 pixels unwritten when a row has no room
// for a whole last group (libswscale/x86/yuv2rgb.c: `if (h_size * depth >
// FFABS(dstStride[0])) h_size -= 8`), and planar writers run past a row's end
// into the next plane. Images whose rows are all whole 64-byte blocks (1080p,
// 720p, 640x360 in every format) are written in place; any other is
// converted into `rows`, whose rows have room, and copied out.
// With `tail`, source rows [tail->from, srcH) are read from tail->planes (a
// padded copy with the same strides) in a second slice of the same pass: the
// result is the one-slice result.
struct SourceTail {
  int from = 0;  // a multiple of the source's vertical chroma subsampling
  const uint8_t* planes[4] = {nullptr, nullptr, nullptr, nullptr};
};
void scaleInto(SwsContext* sws, const uint8_t* const srcPlanes[4], const int srcStrides[4], int srcH,
               const ImageDesc& dst, uint8_t* dstData, std::vector<uint8_t>* rows, const SourceTail* tail = nullptr);

// Splits a packed (hwc) image into the planes of the same format's chw image.
void hwcToChw(const ImageDesc& hwc, const uint8_t* src, uint8_t* dst);

// Packs a whole image from one avcv format/layout to another (sws, exact for
// channel reorders and hwc<->chw). For gray output from RGB the result is
// full-range luma.
void convertImage(const ImageDesc& src, const uint8_t* srcData, const ImageDesc& dst, uint8_t* dstData);

}  // namespace avcv
