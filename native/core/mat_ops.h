// OpenCV operations on caller memory: inputs and the output are wrapped in
// cv::Mat headers (no copy in, no copy out); the caller sizes the output.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace avcv {

struct Img {
  uint8_t* data = nullptr;
  int width = 0, height = 0;
  std::string format;  // avcv pixel format (hwc packed, gray, or yuv420p/nv12)
};

struct OpArgs {
  std::map<std::string, double> num;
  std::map<std::string, std::string> str;
  std::vector<double> lower, upper;
  std::map<std::string, std::vector<double>> arr;  // other numeric arrays (matrix, kernel, color, points, ...)
  const std::vector<double>* a(const char* k) const {
    auto it = arr.find(k);
    return it == arr.end() ? nullptr : &it->second;
  }
  double get(const char* k, double def) const {
    auto it = num.find(k);
    return it == num.end() ? def : it->second;
  }
  std::string s(const char* k, const char* def) const {
    auto it = str.find(k);
    return it == str.end() ? def : it->second;
  }
};

// Runs `op` from `in` into `out` (already the right size and format).
// Returns an op-specific number (threshold: the threshold used) or 0.
double runMatOp(const std::string& op, const std::vector<Img>& in, const Img& out, const OpArgs& a);

struct Contours {
  std::vector<std::vector<int32_t>> points;  // x0, y0, x1, y1, ... per contour
  std::vector<int32_t> hierarchy;            // next, prev, firstChild, parent per contour
};
Contours findContours(const Img& gray, const std::string& mode, const std::string& method);

// Encodes to .png/.jpg/.webp (the frame's channel order is honoured).
std::vector<uint8_t> encodeImage(const Img& img, const std::string& ext, const OpArgs& a);

struct Decoded {
  std::vector<uint8_t> bytes;
  int width = 0, height = 0;
};
// Decodes to bgr24 or gray.
Decoded decodeImage(const uint8_t* data, size_t size, bool gray);

}  // namespace avcv
