#include "mat_ops.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "error.h"

namespace avcv {
namespace {

int channelsOf(const std::string& f) {
  if (f == "bgr24" || f == "rgb24") return 3;
  if (f == "bgra" || f == "rgba") return 4;
  return 1;
}

cv::Mat matOf(const Img& i) {
  if (i.format == "yuv420p" || i.format == "nv12") return cv::Mat(i.height * 3 / 2, i.width, CV_8UC1, i.data);
  return cv::Mat(i.height, i.width, CV_8UC(channelsOf(i.format)), i.data);
}

int colorCode(const std::string& from, const std::string& to) {
  static const std::map<std::pair<std::string, std::string>, int> codes = {
      {{"bgr24", "rgb24"}, cv::COLOR_BGR2RGB},   {{"rgb24", "bgr24"}, cv::COLOR_RGB2BGR},
      {{"bgr24", "gray"}, cv::COLOR_BGR2GRAY},   {{"rgb24", "gray"}, cv::COLOR_RGB2GRAY},
      {{"bgra", "gray"}, cv::COLOR_BGRA2GRAY},   {{"rgba", "gray"}, cv::COLOR_RGBA2GRAY},
      {{"gray", "bgr24"}, cv::COLOR_GRAY2BGR},   {{"gray", "rgb24"}, cv::COLOR_GRAY2RGB},
      {{"gray", "bgra"}, cv::COLOR_GRAY2BGRA},   {{"gray", "rgba"}, cv::COLOR_GRAY2RGBA},
      {{"bgr24", "bgra"}, cv::COLOR_BGR2BGRA},   {{"bgr24", "rgba"}, cv::COLOR_BGR2RGBA},
      {{"rgb24", "rgba"}, cv::COLOR_RGB2RGBA},   {{"rgb24", "bgra"}, cv::COLOR_RGB2BGRA},
      {{"bgra", "bgr24"}, cv::COLOR_BGRA2BGR},   {{"bgra", "rgb24"}, cv::COLOR_BGRA2RGB},
      {{"rgba", "rgb24"}, cv::COLOR_RGBA2RGB},   {{"rgba", "bgr24"}, cv::COLOR_RGBA2BGR},
      {{"bgra", "rgba"}, cv::COLOR_BGRA2RGBA},   {{"rgba", "bgra"}, cv::COLOR_RGBA2BGRA},
      {{"bgr24", "yuv420p"}, cv::COLOR_BGR2YUV_I420}, {{"rgb24", "yuv420p"}, cv::COLOR_RGB2YUV_I420},
      {{"yuv420p", "bgr24"}, cv::COLOR_YUV2BGR_I420}, {{"yuv420p", "rgb24"}, cv::COLOR_YUV2RGB_I420},
      {{"yuv420p", "gray"}, cv::COLOR_YUV2GRAY_I420}, {{"nv12", "bgr24"}, cv::COLOR_YUV2BGR_NV12},
      {{"nv12", "rgb24"}, cv::COLOR_YUV2RGB_NV12},    {{"nv12", "gray"}, cv::COLOR_YUV2GRAY_NV12},
      {{"yuv420p", "bgra"}, cv::COLOR_YUV2BGRA_I420}, {{"yuv420p", "rgba"}, cv::COLOR_YUV2RGBA_I420},
      {{"nv12", "bgra"}, cv::COLOR_YUV2BGRA_NV12},    {{"nv12", "rgba"}, cv::COLOR_YUV2RGBA_NV12},
  };
  auto it = codes.find({from, to});
  if (it == codes.end()) throw Error("INVALID_ARGUMENT", "no conversion from " + from + " to " + to);
  return it->second;
}

int interpolation(const std::string& s) {
  if (s == "nearest") return cv::INTER_NEAREST;
  if (s == "bicubic") return cv::INTER_CUBIC;
  if (s == "area") return cv::INTER_AREA;
  if (s == "lanczos") return cv::INTER_LANCZOS4;
  return cv::INTER_LINEAR;
}

int thresholdType(const std::string& s) {
  if (s == "binary_inv") return cv::THRESH_BINARY_INV;
  if (s == "trunc") return cv::THRESH_TRUNC;
  if (s == "tozero") return cv::THRESH_TOZERO;
  if (s == "tozero_inv") return cv::THRESH_TOZERO_INV;
  return cv::THRESH_BINARY;
}

int morphShape(const std::string& s) {
  if (s == "ellipse") return cv::MORPH_ELLIPSE;
  if (s == "cross") return cv::MORPH_CROSS;
  return cv::MORPH_RECT;
}

}  // namespace

double runMatOp(const std::string& op, const std::vector<Img>& in, const Img& outImg, const OpArgs& a) {
  if (in.empty()) throw Error("INVALID_ARGUMENT", op + ": no input");
  cv::Mat src = matOf(in[0]);
  cv::Mat out = matOf(outImg);
  uint8_t* const outData = out.data;
  double result = 0;
  const int kw = static_cast<int>(a.get("ksizeW", a.get("ksize", 3)));
  const int kh = static_cast<int>(a.get("ksizeH", a.get("ksize", 3)));
  if (op == "cvtColor") {
    cv::cvtColor(src, out, colorCode(in[0].format, outImg.format));
  } else if (op == "resize") {
    cv::resize(src, out, out.size(), 0, 0, interpolation(a.s("interpolation", "bilinear")));
  } else if (op == "flip") {
    const std::string axis = a.s("axis", "horizontal");
    cv::flip(src, out, axis == "vertical" ? 0 : axis == "both" ? -1 : 1);
  } else if (op == "rotate") {
    const int ang = static_cast<int>(a.get("angle", 90));
    cv::rotate(src, out, ang == 90 ? cv::ROTATE_90_CLOCKWISE : ang == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE);
  } else if (op == "crop") {
    cv::Rect r(static_cast<int>(a.get("x", 0)), static_cast<int>(a.get("y", 0)), out.cols, out.rows);
    src(r).copyTo(out);
  } else if (op == "gaussianBlur") {
    cv::GaussianBlur(src, out, cv::Size(kw, kh), a.get("sigmaX", 0), a.get("sigmaY", 0));
  } else if (op == "medianBlur") {
    cv::medianBlur(src, out, kw);
  } else if (op == "bilateralFilter") {
    cv::bilateralFilter(src, out, static_cast<int>(a.get("d", 9)), a.get("sigmaColor", 75), a.get("sigmaSpace", 75));
  } else if (op == "boxFilter") {
    cv::boxFilter(src, out, -1, cv::Size(kw, kh), cv::Point(-1, -1), a.get("normalize", 1) != 0);
  } else if (op == "canny") {
    cv::Canny(src, out, a.get("threshold1", 100), a.get("threshold2", 200), static_cast<int>(a.get("apertureSize", 3)),
              a.get("L2gradient", 0) != 0);
  } else if (op == "threshold") {
    int type = thresholdType(a.s("type", "binary"));
    if (a.get("otsu", 0) != 0) type |= cv::THRESH_OTSU;
    result = cv::threshold(src, out, a.get("thresh", 127), a.get("maxval", 255), type);
  } else if (op == "adaptiveThreshold") {
    cv::adaptiveThreshold(src, out, a.get("maxValue", 255),
                          a.s("method", "mean") == "gaussian" ? cv::ADAPTIVE_THRESH_GAUSSIAN_C : cv::ADAPTIVE_THRESH_MEAN_C,
                          a.s("type", "binary") == "binary_inv" ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY,
                          static_cast<int>(a.get("blockSize", 11)), a.get("C", 2));
  } else if (op == "equalizeHist") {
    cv::equalizeHist(src, out);
  } else if (op == "dilate" || op == "erode") {
    cv::Mat k = cv::getStructuringElement(morphShape(a.s("shape", "rect")), cv::Size(kw, kh));
    const int it = static_cast<int>(a.get("iterations", 1));
    if (op == "dilate") cv::dilate(src, out, k, cv::Point(-1, -1), it);
    else cv::erode(src, out, k, cv::Point(-1, -1), it);
  } else if (op == "absdiff" || op == "bitwiseAnd" || op == "bitwiseOr" || op == "bitwiseXor" || op == "addWeighted") {
    if (in.size() < 2) throw Error("INVALID_ARGUMENT", op + " needs two images");
    cv::Mat b = matOf(in[1]);
    if (op == "absdiff") cv::absdiff(src, b, out);
    else if (op == "bitwiseAnd") cv::bitwise_and(src, b, out);
    else if (op == "bitwiseOr") cv::bitwise_or(src, b, out);
    else if (op == "bitwiseXor") cv::bitwise_xor(src, b, out);
    else cv::addWeighted(src, a.get("alpha", 1), b, a.get("beta", 1), a.get("gamma", 0), out);
  } else if (op == "bitwiseNot") {
    cv::bitwise_not(src, out);
  } else if (op == "inRange") {
    cv::Scalar lo, hi;
    for (size_t i = 0; i < 4; i++) {
      lo[i] = i < a.lower.size() ? a.lower[i] : 0;
      hi[i] = i < a.upper.size() ? a.upper[i] : 0;
    }
    cv::inRange(src, lo, hi, out);
  } else {
    throw Error("INVALID_ARGUMENT", "unknown operation '" + op + "'");
  }
  if (out.data != outData) throw Error("INTERNAL", op + ": OpenCV reallocated the output (size or type mismatch)");
  return result;
}

std::vector<uint8_t> encodeImage(const Img& img, const std::string& ext, const OpArgs& a) {
  cv::Mat m = matOf(img);
  cv::Mat bgr;  // a new buffer when converting: the caller's frame is never touched
  if (img.format == "rgb24") cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);  // OpenCV's codecs take BGR(A)
  else if (img.format == "rgba") cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
  else if (img.format == "yuv420p" || img.format == "nv12") throw Error("INVALID_ARGUMENT", "encode bgr24/rgb24/bgra/rgba/gray frames");
  else bgr = m;
  std::vector<int> params;
  const double q = a.get("quality", -1);
  if (q >= 0) {
    if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(q)};
    else if (ext == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, static_cast<int>(q)};
    else if (ext == ".png") params = {cv::IMWRITE_PNG_COMPRESSION, static_cast<int>(q)};
  }
  std::vector<uint8_t> out;
  if (!cv::imencode(ext, bgr, out, params)) throw Error("ENCODE", "cannot encode " + ext);
  return out;
}

Decoded decodeImage(const uint8_t* data, size_t size, bool gray) {
  cv::Mat buf(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
  cv::Mat m = cv::imdecode(buf, gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (m.empty()) throw Error("INVALID_DATA", "cannot decode the image (not PNG/JPEG/WebP, or corrupt)");
  Decoded d;
  d.width = m.cols;
  d.height = m.rows;
  d.bytes.assign(m.data, m.data + m.total() * m.elemSize());
  return d;
}

}  // namespace avcv
