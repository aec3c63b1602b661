// Frames to ML tensors and back in one pass: channel order, layout (hwc/chw)
// and normalisation together. No Node headers.
#pragma once
#include <cstddef>
#include <cstdint>

#include "image.h"

namespace avcv {

struct TensorSpec {
  PixFmt format = PixFmt::RGB24;  // the image (packed formats and gray; not YUV)
  Layout layout = Layout::HWC;
  int width = 0, height = 0;
  bool chw = true;      // output layout
  bool float32 = true;  // else uint8 (no normalisation)
  bool rgb = true;      // output channel order for colour images: rgb (else bgr); alpha is dropped
  float scale = 1.0f;   // float32: (v * scale - mean[c]) / std[c]
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
};

int tensorChannels(const TensorSpec& s);  // 1 for gray, else 3
size_t tensorElements(const TensorSpec& s);

// Image bytes -> tensor (float* or uint8_t* with tensorElements() elements).
void toTensor(const uint8_t* src, const TensorSpec& s, void* out);
// Tensor -> image bytes (the spec's format/layout/size): the inverse of
// toTensor; floats become round((x * std + mean) / scale), clamped to 0..255.
void fromTensor(const void* in, const TensorSpec& s, uint8_t* dst);

// Resize keeping the aspect ratio, then pad to width x height with `color`,
// centred. Packed hwc formats and gray only. Returns scale and padding.
struct Letterbox {
  double scale;
  int padX, padY, innerW, innerH;
};
Letterbox letterbox(const uint8_t* src, PixFmt fmt, int w, int h, int outW, int outH, const double color[4],
                    int cvInterpolation, uint8_t* dst);

}  // namespace avcv
