#include "image.h"

#include <algorithm>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "error.h"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

namespace avcv {

bool parsePixFmt(const std::string& s, PixFmt* out) {
  static const struct {
    const char* name;
    PixFmt f;
  } table[] = {{"bgr24", PixFmt::BGR24}, {"rgb24", PixFmt::RGB24},     {"gray", PixFmt::GRAY}, {"bgra", PixFmt::BGRA},
               {"rgba", PixFmt::RGBA},   {"yuv420p", PixFmt::YUV420P}, {"nv12", PixFmt::NV12}};
  for (const auto& e : table)
    if (s == e.name) {
      *out = e.f;
      return true;
    }
  return false;
}

bool parseLayout(const std::string& s, Layout* out) {
  if (s == "hwc") *out = Layout::HWC;
  else if (s == "chw") *out = Layout::CHW;
  else if (s == "planar") *out = Layout::PLANAR;
  else return false;
  return true;
}

const char* pixFmtName(PixFmt f) {
  switch (f) {
    case PixFmt::BGR24: return "bgr24";
    case PixFmt::RGB24: return "rgb24";
    case PixFmt::GRAY: return "gray";
    case PixFmt::BGRA: return "bgra";
    case PixFmt::RGBA: return "rgba";
    case PixFmt::YUV420P: return "yuv420p";
    case PixFmt::NV12: return "nv12";
  }
  return "?";
}

const char* layoutName(Layout l) {
  switch (l) {
    case Layout::HWC: return "hwc";
    case Layout::CHW: return "chw";
    case Layout::PLANAR: return "planar";
  }
  return "?";
}

int pixFmtChannels(PixFmt f) {
  switch (f) {
    case PixFmt::BGR24:
    case PixFmt::RGB24: return 3;
    case PixFmt::BGRA:
    case PixFmt::RGBA: return 4;
    default: return 1;
  }
}

bool isPlanarYuv(PixFmt f) { return f == PixFmt::YUV420P || f == PixFmt::NV12; }

ImageDesc describeImage(PixFmt fmt, Layout layout, int width, int height) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    throw Error("INVALID_ARGUMENT",
                "image size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range (1..16384)");
  ImageDesc d;
  d.format = fmt;
  d.layout = layout;
  d.width = width;
  d.height = height;
  const size_t plane = size_t(width) * height;
  auto packed = [&](AVPixelFormat f, int c) {
    d.avFormat = f;
    d.planes = 1;
    d.linesize[0] = width * c;
    d.planeWidth[0] = width;
    d.planeHeight[0] = height;
    d.planeElemBytes[0] = c;
    d.bytes = plane * c;
  };
  // chw: avcv channel k (in the format's own order) is the k-th plane of the
  // buffer; libav's planar RGB orders its planes G, B, R(, A).
  auto planarRgb = [&](AVPixelFormat f, int g, int b, int r, int a) {
    d.avFormat = f;
    d.planes = a >= 0 ? 4 : 3;
    const int idx[4] = {g, b, r, a};
    for (int i = 0; i < d.planes; i++) {
      d.offset[i] = plane * idx[i];
      d.linesize[i] = width;
      d.planeWidth[i] = width;
      d.planeHeight[i] = height;
      d.planeElemBytes[i] = 1;
    }
    d.bytes = plane * d.planes;
  };
  if (isPlanarYuv(fmt)) {
    if (layout == Layout::CHW)
      throw Error("INVALID_ARGUMENT",
                  std::string("layout 'chw' does not apply to planar format '") + pixFmtName(fmt) + "'");
    if ((width & 1) || (height & 1))
      throw Error("INVALID_ARGUMENT", std::string(pixFmtName(fmt)) + " needs an even width and height, got " +
                                          std::to_string(width) + "x" + std::to_string(height));
    const size_t cplane = plane / 4;
    d.planeWidth[0] = width;
    d.planeHeight[0] = height;
    d.planeElemBytes[0] = 1;
    d.linesize[0] = width;
    if (fmt == PixFmt::YUV420P) {
      d.avFormat = AV_PIX_FMT_YUV420P;
      d.planes = 3;
      for (int i = 1; i < 3; i++) {
        d.offset[i] = plane + cplane * (i - 1);
        d.linesize[i] = width / 2;
        d.planeWidth[i] = width / 2;
        d.planeHeight[i] = height / 2;
        d.planeElemBytes[i] = 1;
      }
    } else {
      d.avFormat = AV_PIX_FMT_NV12;
      d.planes = 2;
      d.offset[1] = plane;
      d.linesize[1] = width;
      d.planeWidth[1] = width / 2;
      d.planeHeight[1] = height / 2;
      d.planeElemBytes[1] = 2;
    }
    d.bytes = plane + 2 * cplane;
    return d;
  }
  if (layout == Layout::PLANAR)
    throw Error("INVALID_ARGUMENT",
                std::string("layout 'planar' applies only to yuv420p and nv12, not '") + pixFmtName(fmt) + "'");
  if (fmt == PixFmt::GRAY) {
    packed(AV_PIX_FMT_GRAY8, 1);
    return d;
  }
  if (layout == Layout::HWC) {
    switch (fmt) {
      case PixFmt::BGR24: packed(AV_PIX_FMT_BGR24, 3); break;
      case PixFmt::RGB24: packed(AV_PIX_FMT_RGB24, 3); break;
      case PixFmt::BGRA: packed(AV_PIX_FMT_BGRA, 4); break;
      case PixFmt::RGBA: packed(AV_PIX_FMT_RGBA, 4); break;
      default: break;
    }
    return d;
  }
  switch (fmt) {  // CHW
    case PixFmt::BGR24: planarRgb(AV_PIX_FMT_GBRP, 1, 0, 2, -1); break;
    case PixFmt::RGB24: planarRgb(AV_PIX_FMT_GBRP, 1, 2, 0, -1); break;
    case PixFmt::BGRA: planarRgb(AV_PIX_FMT_GBRAP, 1, 0, 2, 3); break;
    case PixFmt::RGBA: planarRgb(AV_PIX_FMT_GBRAP, 1, 2, 0, 3); break;
    default: break;
  }
  return d;
}

const std::vector<Interpolation>& interpolations() {
  static const std::vector<Interpolation> table = {
      {"nearest", SWS_POINT, cv::INTER_NEAREST, "nearest"},
      {"bilinear", SWS_BILINEAR, cv::INTER_LINEAR, "bilinear"},
      {"bicubic", SWS_BICUBIC, cv::INTER_CUBIC, "bicubic"},
      {"area", SWS_AREA, cv::INTER_AREA, ""},
      {"lanczos", SWS_LANCZOS, cv::INTER_LANCZOS4, "lanczos"},
      {"fast_bilinear", SWS_FAST_BILINEAR, -1, ""},
      {"spline", SWS_SPLINE, -1, ""},
      {"gauss", SWS_GAUSS, -1, ""},
      {"experimental", SWS_X, -1, ""},
  };
  return table;
}

const Interpolation* findInterpolation(const std::string& name) {
  for (const auto& i : interpolations())
    if (name == i.name) return &i;
  return nullptr;
}

int swsFlagsFor(const std::string& interpolation, const std::string& quality) {
  int flags = 0;
  if (!parseInterpolation(interpolation, &flags))
    throw Error("INVALID_ARGUMENT", "unknown interpolation '" + interpolation + "'");
  if (quality == "accurate") flags |= SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
  else if (quality != "fast")
    throw Error("INVALID_ARGUMENT", "quality must be 'fast' or 'accurate', not '" + quality + "'");
  return flags;
}

bool parseInterpolation(const std::string& s, int* flags) {
  const Interpolation* i = findInterpolation(s);
  if (!i) return false;
  *flags = i->swsFlags;
  return true;
}

Rect alignCrop(const Rect& r, AVPixelFormat fmt) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  Rect out = r;
  if (!d) return out;
  out.x &= ~((1 << d->log2_chroma_w) - 1);
  out.y &= ~((1 << d->log2_chroma_h) - 1);
  return out;
}

namespace {

// The colour matrix the CLI's scale filter picks for a frame ("auto").
const int* coefficientsFor(int colorspace) {
  if (colorspace < 1 || colorspace > 10 || colorspace == 8) colorspace = AVCOL_SPC_BT470BG;
  return sws_getCoefficients(colorspace);
}

}  // namespace

FrameConverter::FrameConverter(const ImageDesc& dst, int swsFlags) : dst_(dst), flags_(swsFlags) {
  scaled_ = dst.layout == Layout::CHW ? describeImage(dst.format, Layout::HWC, dst.width, dst.height) : dst;
  if (dst.layout == Layout::CHW) packed_.resize(scaled_.bytes + kDstPadding);
}

void hwcToChw(const ImageDesc& hwc, const uint8_t* src, uint8_t* dst) {
  const int c = hwc.planeElemBytes[0];
  const size_t area = size_t(hwc.width) * hwc.height;
  cv::Mat in(hwc.height, hwc.width, CV_8UC(c), const_cast<uint8_t*>(src));
  std::vector<cv::Mat> planes;
  for (int k = 0; k < c; k++) planes.emplace_back(hwc.height, hwc.width, CV_8UC1, dst + k * area);
  cv::split(in, planes);
  for (int k = 0; k < c; k++)
    if (planes[k].data != dst + k * area) throw Error("CONVERT", "splitting channels reallocated a plane");
}

void FrameConverter::setup(const AVFrame* src, const Rect& crop) {
  sws_.reset();
  SwsContext* s = sws_alloc_context();
  if (!s) throw Error("ENOMEM", "sws_alloc_context failed");
  sws_.reset(s);
  av_opt_set_int(s, "srcw", crop.width, 0);
  av_opt_set_int(s, "srch", crop.height, 0);
  av_opt_set_int(s, "src_format", src->format, 0);
  av_opt_set_int(s, "dstw", scaled_.width, 0);
  av_opt_set_int(s, "dsth", scaled_.height, 0);
  av_opt_set_int(s, "dst_format", scaled_.avFormat, 0);
  av_opt_set_int(s, "sws_flags", flags_, 0);
  if (src->color_range != AVCOL_RANGE_UNSPECIFIED)
    av_opt_set_int(s, "src_range", src->color_range == AVCOL_RANGE_JPEG, 0);
  // MPEG-2 chroma siting for 4:2:0, as the CLI's scale filter sets it.
  if (src->format == AV_PIX_FMT_YUV420P) av_opt_set_int(s, "src_v_chr_pos", 128, 0);
  if (scaled_.avFormat == AV_PIX_FMT_YUV420P) av_opt_set_int(s, "dst_v_chr_pos", 128, 0);
  int ret = sws_init_context(s, nullptr, nullptr);
  if (ret < 0) {
    sws_.reset();
    const char* sn = av_get_pix_fmt_name(static_cast<AVPixelFormat>(src->format));
    throwAvError(ret, std::string("cannot convert ") + (sn ? sn : "?") + " to " + av_get_pix_fmt_name(scaled_.avFormat),
                 "CONVERT");
  }
  srcW_ = src->width;
  srcH_ = src->height;
  srcFmt_ = src->format;
  cropX_ = crop.x;
  cropY_ = crop.y;
  colorspace_ = range_ = -1;
}

void FrameConverter::convert(const AVFrame* src, const Rect& cropIn, uint8_t* dst, bool copyTail) {
  Rect crop = cropIn;
  if (crop.width <= 0 || crop.height <= 0) crop = {0, 0, src->width, src->height};
  if (crop.x + crop.width > src->width || crop.y + crop.height > src->height)
    throw Error("CONVERT", "crop " + std::to_string(crop.width) + "x" + std::to_string(crop.height) + "+" +
                               std::to_string(crop.x) + "+" + std::to_string(crop.y) + " exceeds the frame (" +
                               std::to_string(src->width) + "x" + std::to_string(src->height) + ")");
  if (!sws_ || src->width != srcW_ || src->height != srcH_ || src->format != srcFmt_ || crop.x != cropX_ ||
      crop.y != cropY_)
    setup(src, crop);

  if (src->colorspace != colorspace_ || src->color_range != range_) {
    int* invTable;
    int* table;
    int inFull, outFull, brightness, contrast, saturation;
    sws_getColorspaceDetails(sws_.get(), &invTable, &inFull, &table, &outFull, &brightness, &contrast, &saturation);
    const int* coeffs = coefficientsFor(src->colorspace);
    if (src->color_range != AVCOL_RANGE_UNSPECIFIED) inFull = src->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(sws_.get(), coeffs, inFull, coeffs, outFull, brightness, contrast, saturation);
    colorspace_ = src->colorspace;
    range_ = src->color_range;
  }

  // crop = offset plane pointers (as the CLI's crop filter does), then one
  // single-threaded pass straight into the caller's memory: no frame refs,
  // no buffer wrappers
  const uint8_t* srcPlanes[4] = {nullptr, nullptr, nullptr, nullptr};
  int srcStrides[4] = {0, 0, 0, 0};
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(src->format));
  int maxStep[4];
  av_image_fill_max_pixsteps(maxStep, nullptr, desc);
  for (int i = 0; i < 4 && src->data[i]; i++) {
    const bool chroma = (i == 1 || i == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
    const int hsub = chroma ? desc->log2_chroma_w : 0;
    const int vsub = chroma ? desc->log2_chroma_h : 0;
    srcPlanes[i] = src->data[i] + (crop.y >> vsub) * src->linesize[i] + (crop.x >> hsub) * maxStep[i];
    srcStrides[i] = src->linesize[i];
  }
  // The same format at the same size is a copy, as in the CLI (which then
  // converts nothing). swscale 5.1's own copy skips the second plane of a
  // two-plane format (planarCopyWrapper's "ignore palette for GRAY8"), which
  // left nv12's UV plane unwritten.
  if (src->format == scaled_.avFormat && crop.width == scaled_.width && crop.height == scaled_.height) {
    uint8_t* out = dst_.layout == Layout::CHW ? packed_.data() : dst;
    for (int i = 0; i < scaled_.planes; i++) {
      const size_t row = size_t(scaled_.planeWidth[i]) * scaled_.planeElemBytes[i];
      for (int y = 0; y < scaled_.planeHeight[i]; y++)
        std::memcpy(out + scaled_.offset[i] + y * row, srcPlanes[i] + size_t(y) * srcStrides[i], row);
    }
    if (dst_.layout == Layout::CHW) hwcToChw(scaled_, packed_.data(), dst);
    return;
  }
  SourceTail tail;
  if (copyTail) {
    // the last (at least two) rows, from a slice boundary swscale accepts: a
    // multiple of the vertical chroma subsampling
    const bool rgb = desc->flags & AV_PIX_FMT_FLAG_RGB;
    const int vsub = rgb ? 0 : desc->log2_chroma_h;
    const int step = 1 << vsub;
    tail.from = std::max(0, crop.height - 2) / step * step;
    // swscale converts Bayer input through a second context, which takes
    // only whole frames: the whole frame comes from the copy
    if (desc->flags & AV_PIX_FMT_FLAG_BAYER) tail.from = 0;
    int rowBytes[4] = {0, 0, 0, 0};
    av_image_fill_linesizes(rowBytes, static_cast<AVPixelFormat>(src->format), crop.width);
    int rows[4] = {0, 0, 0, 0}, first[4] = {0, 0, 0, 0};
    size_t need = kDstPadding;
    for (int i = 0; i < 4 && srcPlanes[i]; i++) {
      const bool chroma = (i == 1 || i == 2) && !rgb;
      const bool palette = i == 1 && (desc->flags & AV_PIX_FMT_FLAG_PAL);
      if (palette) continue;  // not rows: read where it is
      first[i] = chroma ? tail.from >> vsub : tail.from;
      rows[i] = (chroma ? AV_CEIL_RSHIFT(crop.height, vsub) : crop.height) - first[i];
      need += size_t(rows[i]) * srcStrides[i];
    }
    if (tail_.size() < need) tail_.resize(need);
    size_t off = 0;
    for (int i = 0; i < 4 && srcPlanes[i]; i++) {
      tail.planes[i] = srcPlanes[i];
      if (rows[i] == 0) continue;
      const uint8_t* from = srcPlanes[i] + size_t(first[i]) * srcStrides[i];
      for (int y = 0; y < rows[i]; y++)  // each row's own bytes: the last one may end the memory
        std::memcpy(tail_.data() + off + size_t(y) * srcStrides[i], from + size_t(y) * srcStrides[i], rowBytes[i]);
      tail.planes[i] = tail_.data() + off;
      off += size_t(rows[i]) * srcStrides[i];
    }
  }
  const SourceTail* t = copyTail ? &tail : nullptr;
  if (dst_.layout != Layout::CHW) {
    scaleInto(sws_.get(), srcPlanes, srcStrides, crop.height, dst_, dst, &rows_, t);
    return;
  }
  scaleInto(sws_.get(), srcPlanes, srcStrides, crop.height, scaled_, packed_.data(), &rows_, t);
  hwcToChw(scaled_, packed_.data(), dst);
}

void scaleInto(SwsContext* sws, const uint8_t* const srcPlanes[4], const int srcStrides[4], int srcH,
               const ImageDesc& dst, uint8_t* dstData, std::vector<uint8_t>* rows, const SourceTail* tail) {
  // In place only when every plane's rows are whole 64-byte blocks: then no
  // SIMD store of one row reaches into the next plane or is cut short.
  bool direct = true;
  for (int i = 0; i < dst.planes; i++) direct = direct && dst.linesize[i] % 64 == 0;
  uint8_t* dstPlanes[4] = {nullptr, nullptr, nullptr, nullptr};
  int dstStrides[4] = {0, 0, 0, 0};
  size_t offsets[4] = {0, 0, 0, 0};
  size_t total = 0;
  for (int i = 0; i < dst.planes; i++) {
    if (direct) {
      dstPlanes[i] = dstData + dst.offset[i];
      dstStrides[i] = dst.linesize[i];
    } else {  // rows with room for a whole last group of 16 elements, 64-byte aligned
      dstStrides[i] = ((((dst.planeWidth[i] + 15) & ~15) * dst.planeElemBytes[i] + 63) & ~63);
      offsets[i] = total;
      total += size_t(dstStrides[i]) * dst.planeHeight[i];
    }
  }
  if (!direct) {
    if (rows->size() < total + kDstPadding) rows->resize(total + kDstPadding);
    for (int i = 0; i < dst.planes; i++) dstPlanes[i] = rows->data() + offsets[i];
  }
  int ret = 0;
  if (!tail) {
    ret = sws_scale(sws, srcPlanes, srcStrides, 0, srcH, dstPlanes, dstStrides);
  } else {
    if (tail->from > 0) ret = sws_scale(sws, srcPlanes, srcStrides, 0, tail->from, dstPlanes, dstStrides);
    if (ret >= 0) ret = sws_scale(sws, tail->planes, srcStrides, tail->from, srcH - tail->from, dstPlanes, dstStrides);
  }
  if (ret < 0) throwAvError(ret, "sws_scale", "CONVERT");
  if (direct) return;
  for (int i = 0; i < dst.planes; i++) {
    const size_t row = size_t(dst.planeWidth[i]) * dst.planeElemBytes[i];
    for (int y = 0; y < dst.planeHeight[i]; y++)
      std::memcpy(dstData + dst.offset[i] + y * row, dstPlanes[i] + size_t(y) * dstStrides[i], row);
  }
}

void convertForeign(const ForeignFrame& src, const ImageDesc& dst, uint8_t* dstData) {
  const AVPixelFormat fmt = av_get_pix_fmt(src.format.c_str());
  if (fmt == AV_PIX_FMT_NONE)
    throw Error("UNSUPPORTED", "pixel format '" + src.format + "' is unknown to the libav avcv runs with (FFmpeg " +
                                   av_version_info() + "): convert the frame to a format it knows first");
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt);
  if (desc->flags & AV_PIX_FMT_FLAG_HWACCEL)
    throw Error("UNSUPPORTED", "'" + src.format +
                                   "' is a hardware frame: transfer it to system memory first (node-av: "
                                   "frame.hwframeTransferData)");
  if (!sws_isSupportedInput(fmt)) throw Error("UNSUPPORTED", "swscale cannot read pixel format '" + src.format + "'");
  if (src.width <= 0 || src.height <= 0 || src.width > 16384 || src.height > 16384)
    throw Error("INVALID_ARGUMENT", "frame size " + std::to_string(src.width) + "x" + std::to_string(src.height) +
                                        " is out of range (1..16384)");
  int rowBytes[4] = {0, 0, 0, 0};
  int ret = av_image_fill_linesizes(rowBytes, fmt, src.width);
  if (ret < 0) throwAvError(ret, "av_image_fill_linesizes", "INVALID_ARGUMENT");
  const bool rgb = desc->flags & AV_PIX_FMT_FLAG_RGB;
  const bool pal = desc->flags & AV_PIX_FMT_FLAG_PAL;
  const int planes = av_pix_fmt_count_planes(fmt) + (pal ? 1 : 0);
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("ENOMEM", "av_frame_alloc failed");
  for (int i = 0; i < planes; i++) {
    const std::string which = "plane " + std::to_string(i) + " of the " + src.format + " frame";
    if (i >= src.planeCount || !src.data[i]) throw Error("INVALID_ARGUMENT", which + " is missing");
    if (pal && i == 1) {
      if (src.bytes[i] < AVPALETTE_SIZE) throw Error("INVALID_ARGUMENT", which + " (the palette) is short");
    } else {
      const bool chroma = (i == 1 || i == 2) && !rgb;
      const int rows = chroma ? AV_CEIL_RSHIFT(src.height, desc->log2_chroma_h) : src.height;
      if (src.stride[i] < rowBytes[i])
        throw Error("INVALID_ARGUMENT", which + " has a stride of " + std::to_string(src.stride[i]) +
                                            " bytes; rows need " + std::to_string(rowBytes[i]));
      const size_t need = size_t(src.stride[i]) * (rows - 1) + rowBytes[i];
      if (src.bytes[i] < need)
        throw Error("INVALID_ARGUMENT", which + " has " + std::to_string(src.bytes[i]) + " bytes; its " +
                                            std::to_string(rows) + " rows need " + std::to_string(need));
    }
    f->data[i] = const_cast<uint8_t*>(src.data[i]);  // read only: swscale's source
    f->linesize[i] = src.stride[i];
  }
  f->format = fmt;
  f->width = src.width;
  f->height = src.height;
  f->colorspace = static_cast<AVColorSpace>(src.colorspace);
  f->color_range = static_cast<AVColorRange>(src.colorRange);
  FrameConverter conv(dst, swsFlagsFor("bicubic", "fast"));
  conv.convert(f.get(), Rect{}, dstData, true);
}

void convertImage(const ImageDesc& src, const uint8_t* srcData, const ImageDesc& dst, uint8_t* dstData) {
  if (src.avFormat == dst.avFormat && src.width == dst.width && src.height == dst.height &&
      std::memcmp(src.offset, dst.offset, sizeof src.offset) == 0) {
    std::memcpy(dstData, srcData, src.bytes);
    return;
  }
  if (dst.layout == Layout::CHW) {  // the hwc conversion, split: chw is exactly its transpose
    const ImageDesc hwc = describeImage(dst.format, Layout::HWC, dst.width, dst.height);
    std::vector<uint8_t> packed(hwc.bytes + kDstPadding);
    convertImage(src, srcData, hwc, packed.data());
    hwcToChw(hwc, packed.data(), dstData);
    return;
  }
  SwsPtr s(sws_getContext(src.width, src.height, src.avFormat, dst.width, dst.height, dst.avFormat, SWS_BICUBIC,
                          nullptr, nullptr, nullptr));
  if (!s)
    throw Error("CONVERT", std::string("cannot convert ") + av_get_pix_fmt_name(src.avFormat) + " to " +
                               av_get_pix_fmt_name(dst.avFormat));
  const AVPixFmtDescriptor* sd = av_pix_fmt_desc_get(src.avFormat);
  const AVPixFmtDescriptor* dd = av_pix_fmt_desc_get(dst.avFormat);
  const bool srcRgb = sd->flags & AV_PIX_FMT_FLAG_RGB;
  const bool dstGray = dd->nb_components == 1;
  if (srcRgb && dstGray) {  // full-range luma, as OpenCV's cvtColor gives
    int *inv, *tab, inFull, outFull, b, c, sat;
    sws_getColorspaceDetails(s.get(), &inv, &inFull, &tab, &outFull, &b, &c, &sat);
    sws_setColorspaceDetails(s.get(), inv, inFull, tab, 1, b, c, sat);
  }
  const uint8_t* sp[4] = {nullptr, nullptr, nullptr, nullptr};
  for (int i = 0; i < src.planes; i++) sp[i] = srcData + src.offset[i];
  std::vector<uint8_t> rows;
  scaleInto(s.get(), sp, src.linesize, src.height, dst, dstData, &rows);
}

}  // namespace avcv
