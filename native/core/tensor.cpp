#include "tensor.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "error.h"

namespace avcv {
namespace {

// Index, in the source's memory order, of the channel named r/g/b/y.
int sourceIndex(PixFmt f, char name) {
  switch (f) {
    case PixFmt::BGR24:
    case PixFmt::BGRA: return name == 'b' ? 0 : name == 'g' ? 1 : 2;
    case PixFmt::RGB24:
    case PixFmt::RGBA: return name == 'r' ? 0 : name == 'g' ? 1 : 2;
    default: return 0;
  }
}

void checkSpec(const TensorSpec& s) {
  if (isPlanarYuv(s.format))
    throw Error("INVALID_ARGUMENT", "tensors are made from bgr24/rgb24/bgra/rgba/gray frames; convert YUV first");
  if (s.width <= 0 || s.height <= 0) throw Error("INVALID_ARGUMENT", "bad tensor size");
}

// The image's memory index of each tensor channel, in the tensor's order.
void channelMap(const TensorSpec& s, int C, int map[3]) {
  const char order[3] = {s.rgb ? 'r' : 'b', 'g', s.rgb ? 'b' : 'r'};
  for (int c = 0; c < 3; c++) map[c] = C == 1 ? 0 : sourceIndex(s.format, order[c]);
}

}  // namespace

int tensorChannels(const TensorSpec& s) { return s.format == PixFmt::GRAY ? 1 : 3; }

size_t tensorElements(const TensorSpec& s) { return size_t(tensorChannels(s)) * s.width * s.height; }

void toTensor(const uint8_t* src, const TensorSpec& s, void* out) {
  checkSpec(s);
  const int C = tensorChannels(s);
  const int srcC = pixFmtChannels(s.format);
  const size_t plane = size_t(s.width) * s.height;
  const bool srcChw = s.layout == Layout::CHW && srcC > 1;
  int from[3];
  channelMap(s, C, from);
  float a[3], b[3];
  for (int c = 0; c < 3; c++) {
    a[c] = s.scale / s.std[c];
    b[c] = -s.mean[c] / s.std[c];
  }
  if (s.float32 && C == 3) {
    // the common path (a colour frame to a float tensor): per-channel lookup
    // tables and no branches per element; rows split across two threads for
    // large frames
    float lut[3][256];
    for (int c = 0; c < 3; c++)
      for (int v = 0; v < 256; v++) lut[c][v] = v * a[c] + b[c];
    float* out0 = static_cast<float*>(out);
    auto run = [&](size_t begin, size_t end) {
      if (s.chw) {
        float* o0 = out0;
        float* o1 = out0 + plane;
        float* o2 = out0 + 2 * plane;
        if (srcChw) {
          const uint8_t* p0 = src + from[0] * plane;
          const uint8_t* p1 = src + from[1] * plane;
          const uint8_t* p2 = src + from[2] * plane;
          for (size_t p = begin; p < end; p++) {
            o0[p] = lut[0][p0[p]];
            o1[p] = lut[1][p1[p]];
            o2[p] = lut[2][p2[p]];
          }
        } else {
          const int i0 = from[0], i1 = from[1], i2 = from[2];
          for (size_t p = begin; p < end; p++) {
            const uint8_t* px = src + p * srcC;
            o0[p] = lut[0][px[i0]];
            o1[p] = lut[1][px[i1]];
            o2[p] = lut[2][px[i2]];
          }
        }
      } else {
        for (size_t p = begin; p < end; p++) {
          float* o = out0 + p * 3;
          for (int c = 0; c < 3; c++) o[c] = lut[c][srcChw ? src[from[c] * plane + p] : src[p * srcC + from[c]]];
        }
      }
    };
    if (plane >= (1u << 19)) {
      std::thread t([&] { run(0, plane / 2); });
      run(plane / 2, plane);
      t.join();
    } else {
      run(0, plane);
    }
    return;
  }
  for (size_t p = 0; p < plane; p++) {
    for (int c = 0; c < C; c++) {
      const uint8_t v = srcChw ? src[from[c] * plane + p] : src[p * srcC + from[c]];
      const size_t o = s.chw ? c * plane + p : p * C + c;
      if (s.float32) static_cast<float*>(out)[o] = v * a[c] + b[c];
      else static_cast<uint8_t*>(out)[o] = v;
    }
  }
}

void fromTensor(const void* in, const TensorSpec& s, uint8_t* dst) {
  checkSpec(s);
  const int C = tensorChannels(s);
  const int dstC = pixFmtChannels(s.format);
  const size_t plane = size_t(s.width) * s.height;
  const bool dstChw = s.layout == Layout::CHW && dstC > 1;
  int to[3];
  channelMap(s, C, to);
  for (size_t p = 0; p < plane; p++) {
    for (int c = 0; c < C; c++) {
      const size_t i = s.chw ? c * plane + p : p * C + c;
      long v;
      if (s.float32) {
        const float x = static_cast<const float*>(in)[i];
        const double u = (double(x) * s.std[c] + s.mean[c]) / s.scale;
        v = std::isnan(u) ? 0 : std::lround(std::clamp(u, -1.0, 256.0));
      } else {
        v = static_cast<const uint8_t*>(in)[i];
      }
      const uint8_t q = static_cast<uint8_t>(std::clamp(v, 0L, 255L));
      if (dstChw) dst[to[c] * plane + p] = q;
      else dst[p * dstC + to[c]] = q;
    }
    if (dstC == 4) {  // alpha: opaque
      if (dstChw) dst[3 * plane + p] = 255;
      else dst[p * dstC + 3] = 255;
    }
  }
}

Letterbox letterbox(const uint8_t* src, PixFmt fmt, int w, int h, int outW, int outH, const double color[4], int interp,
                    uint8_t* dst) {
  if (isPlanarYuv(fmt)) throw Error("INVALID_ARGUMENT", "letterbox takes packed hwc or gray frames");
  const int c = pixFmtChannels(fmt);
  const double scale = std::min(double(outW) / w, double(outH) / h);
  const int iw = std::max(1, std::min(outW, static_cast<int>(std::lround(w * scale))));
  const int ih = std::max(1, std::min(outH, static_cast<int>(std::lround(h * scale))));
  const int padX = (outW - iw) / 2, padY = (outH - ih) / 2;
  const int type = CV_8UC(c);
  cv::Mat in(h, w, type, const_cast<uint8_t*>(src));
  cv::Mat out(outH, outW, type, dst);
  out.setTo(cv::Scalar(color[0], color[1], color[2], color[3]));
  cv::Mat roi = out(cv::Rect(padX, padY, iw, ih));
  cv::resize(in, roi, cv::Size(iw, ih), 0, 0, interp);
  if (roi.data != dst + (size_t(padY) * outW + padX) * c) throw Error("INTERNAL", "letterbox reallocated its output");
  return {scale, padX, padY, iw, ih};
}

}  // namespace avcv
