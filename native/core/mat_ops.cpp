#include "mat_ops.h"

#include <dlfcn.h>

#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <type_traits>

#include "error.h"
#include "image.h"

namespace avcv {
namespace {

// OpenCV's image codecs, loaded on first use. libopencv_imgcodecs brings
// about 140 shared libraries with it (GDAL, GDCM, OpenEXR, ...): linked, it
// cost every process that loads avcv 29 MB of RSS and a tenth of a second
// of relocations at start-up, for two functions that only imencode/imdecode
// (and imread/imwrite, the thumbs and frames commands) call. The build
// links with --as-needed, so nothing here references the library: its two
// entry points are found with dlsym, under their C++ names, and their types
// are checked against OpenCV's header at compile time. A static build
// (AVCV_STATIC_DEPS, where the codecs are inside the .node and cost nothing
// until used) calls them directly.
using EncodeFn = bool (*)(const cv::String&, cv::InputArray, std::vector<uchar>&, const std::vector<int>&);
using DecodeFn = cv::Mat (*)(cv::InputArray, int);
// these compile only while OpenCV's header declares exactly these overloads
// (unevaluated: no reference to the library is emitted)
static_assert(std::is_same_v<decltype(static_cast<EncodeFn>(&cv::imencode)), EncodeFn>);
static_assert(std::is_same_v<decltype(static_cast<DecodeFn>(&cv::imdecode)), DecodeFn>);

struct ImageCodecs {
  EncodeFn encode = nullptr;
  DecodeFn decode = nullptr;
  std::string error;  // why they could not be loaded
};

#ifdef AVCV_STATIC_BUILD
const ImageCodecs& imageCodecs() {
  static const ImageCodecs c{static_cast<EncodeFn>(&cv::imencode), static_cast<DecodeFn>(&cv::imdecode), ""};
  return c;
}
#else
// The libopencv_imgcodecs beside the libopencv_core this process loaded
// (same directory, same version suffix), then the names the loader finds.
std::vector<std::string> imgcodecsCandidates() {
  std::vector<std::string> out;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cv::getVersionString), &info) && info.dli_fname) {
    std::string core = info.dli_fname;
    const std::string name = "opencv_core";
    const size_t at = core.rfind(name);
    if (at != std::string::npos) out.push_back(core.replace(at, name.size(), "opencv_imgcodecs"));
  }
  const std::string base = "libopencv_imgcodecs.so.";
  out.push_back(base + std::to_string(CV_VERSION_MAJOR * 100 + CV_VERSION_MINOR));                  // Debian: .so.406
  out.push_back(base + std::to_string(CV_VERSION_MAJOR) + "." + std::to_string(CV_VERSION_MINOR));  // upstream
  out.push_back("libopencv_imgcodecs.so");
  return out;
}

const ImageCodecs& imageCodecs() {
  static ImageCodecs c;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const std::string& path : imgcodecsCandidates()) {
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) {
        const char* e = dlerror();
        tried += (tried.empty() ? "" : "; ") + std::string(e ? e : path);
        continue;
      }
      // the Itanium C++ ABI names of cv::imencode and cv::imdecode(InputArray, int)
      void* enc = dlsym(h,
                        "_ZN2cv8imencodeERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_11_InputArrayERSt6"
                        "vectorIhSaIhEERKSB_IiSaIiEE");
      void* dec = dlsym(h, "_ZN2cv8imdecodeERKNS_11_InputArrayEi");
      if (enc && dec) {
        c.encode = reinterpret_cast<EncodeFn>(enc);
        c.decode = reinterpret_cast<DecodeFn>(dec);
        c.error.clear();
        return;  // the handle stays open for the life of the process
      }
      tried += (tried.empty() ? "" : "; ") + path + ": no cv::imencode/cv::imdecode in it";
      dlclose(h);
    }
    c.error = "OpenCV's image codecs (libopencv_imgcodecs) could not be loaded: " + tried;
  });
  return c;
}
#endif

const ImageCodecs& needImageCodecs() {
  const ImageCodecs& c = imageCodecs();
  if (!c.encode || !c.decode) throw Error("UNSUPPORTED", c.error);
  return c;
}

// The image's bytes as OpenCV sees them: packed rows of the format's
// channels, or the (H*3/2) x W single-channel layout of 4:2:0 YUV.
cv::Mat matOf(const Img& i) {
  PixFmt f;
  if (!parsePixFmt(i.format, &f)) throw Error("INVALID_ARGUMENT", "unknown format '" + i.format + "'");
  if (isPlanarYuv(f)) return cv::Mat(i.height * 3 / 2, i.width, CV_8UC1, i.data);
  return cv::Mat(i.height, i.width, CV_8UC(pixFmtChannels(f)), i.data);
}

int colorCode(const std::string& from, const std::string& to) {
  static const std::map<std::pair<std::string, std::string>, int> codes = {
      {{"bgr24", "rgb24"}, cv::COLOR_BGR2RGB},        {{"rgb24", "bgr24"}, cv::COLOR_RGB2BGR},
      {{"bgr24", "gray"}, cv::COLOR_BGR2GRAY},        {{"rgb24", "gray"}, cv::COLOR_RGB2GRAY},
      {{"bgra", "gray"}, cv::COLOR_BGRA2GRAY},        {{"rgba", "gray"}, cv::COLOR_RGBA2GRAY},
      {{"gray", "bgr24"}, cv::COLOR_GRAY2BGR},        {{"gray", "rgb24"}, cv::COLOR_GRAY2RGB},
      {{"gray", "bgra"}, cv::COLOR_GRAY2BGRA},        {{"gray", "rgba"}, cv::COLOR_GRAY2RGBA},
      {{"bgr24", "bgra"}, cv::COLOR_BGR2BGRA},        {{"bgr24", "rgba"}, cv::COLOR_BGR2RGBA},
      {{"rgb24", "rgba"}, cv::COLOR_RGB2RGBA},        {{"rgb24", "bgra"}, cv::COLOR_RGB2BGRA},
      {{"bgra", "bgr24"}, cv::COLOR_BGRA2BGR},        {{"bgra", "rgb24"}, cv::COLOR_BGRA2RGB},
      {{"rgba", "rgb24"}, cv::COLOR_RGBA2RGB},        {{"rgba", "bgr24"}, cv::COLOR_RGBA2BGR},
      {{"bgra", "rgba"}, cv::COLOR_BGRA2RGBA},        {{"rgba", "bgra"}, cv::COLOR_RGBA2BGRA},
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

int cvInterpolationOf(const std::string& s) {
  const Interpolation* i = findInterpolation(s);
  if (!i || i->cvFlag < 0) throw Error("INVALID_ARGUMENT", "OpenCV has no interpolation '" + s + "'");
  return i->cvFlag;
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

cv::Scalar scalarOf(const OpArgs& a, const char* key) {
  cv::Scalar c(0, 0, 0, 0);
  if (const auto* v = a.a(key))
    for (size_t i = 0; i < 4 && i < v->size(); i++) c[i] = (*v)[i];
  return c;
}

int morphOp(const std::string& s) {
  if (s == "open") return cv::MORPH_OPEN;
  if (s == "close") return cv::MORPH_CLOSE;
  if (s == "gradient") return cv::MORPH_GRADIENT;
  if (s == "tophat") return cv::MORPH_TOPHAT;
  if (s == "blackhat") return cv::MORPH_BLACKHAT;
  throw Error("INVALID_ARGUMENT", "unknown morphology operation '" + s + "'");
}

int hersheyFont(const std::string& s) {
  if (s == "plain") return cv::FONT_HERSHEY_PLAIN;
  if (s == "duplex") return cv::FONT_HERSHEY_DUPLEX;
  if (s == "complex") return cv::FONT_HERSHEY_COMPLEX;
  if (s == "triplex") return cv::FONT_HERSHEY_TRIPLEX;
  if (s == "script_simplex") return cv::FONT_HERSHEY_SCRIPT_SIMPLEX;
  if (s == "script_complex") return cv::FONT_HERSHEY_SCRIPT_COMPLEX;
  return cv::FONT_HERSHEY_SIMPLEX;
}

}  // namespace

Contours findContours(const Img& img, const std::string& mode, const std::string& method) {
  cv::Mat m = matOf(img).clone();  // OpenCV < 4.x modified its input; keep the caller's frame intact regardless
  const int rm = mode == "list"    ? cv::RETR_LIST
                 : mode == "ccomp" ? cv::RETR_CCOMP
                 : mode == "tree"  ? cv::RETR_TREE
                                   : cv::RETR_EXTERNAL;
  const int cm = method == "none" ? cv::CHAIN_APPROX_NONE : cv::CHAIN_APPROX_SIMPLE;
  std::vector<std::vector<cv::Point>> contours;
  std::vector<cv::Vec4i> hierarchy;
  cv::findContours(m, contours, hierarchy, rm, cm);
  Contours out;
  for (const auto& c : contours) {
    std::vector<int32_t> pts;
    pts.reserve(c.size() * 2);
    for (const auto& p : c) {
      pts.push_back(p.x);
      pts.push_back(p.y);
    }
    out.points.push_back(std::move(pts));
  }
  for (const auto& h : hierarchy)
    for (int i = 0; i < 4; i++) out.hierarchy.push_back(h[i]);
  return out;
}

namespace {

// One operation: inputs, the output Mat (caller memory) and the arguments;
// returns the op's number (threshold: the threshold used) or 0.
struct OpCall {
  const std::string& op;
  const std::vector<Img>& in;
  cv::Mat src;
  cv::Mat& out;
  const OpArgs& a;
  const std::string& outFormat;
  int kw() const { return static_cast<int>(a.get("ksizeW", a.get("ksize", 3))); }
  int kh() const { return static_cast<int>(a.get("ksizeH", a.get("ksize", 3))); }
  int i(const char* k, double def) const { return static_cast<int>(a.get(k, def)); }
  cv::Mat second() const {
    if (in.size() < 2) throw Error("INVALID_ARGUMENT", op + " needs two images");
    return matOf(in[1]);
  }
};
using OpFn = double (*)(const OpCall&);

double opGeometry(const OpCall& c) {
  const OpArgs& a = c.a;
  if (c.op == "resize") {
    cv::resize(c.src, c.out, c.out.size(), 0, 0, cvInterpolationOf(a.s("interpolation", "bilinear")));
  } else if (c.op == "flip") {
    const std::string axis = a.s("axis", "horizontal");
    cv::flip(c.src, c.out, axis == "vertical" ? 0 : axis == "both" ? -1 : 1);
  } else if (c.op == "rotate") {
    const int ang = c.i("angle", 90);
    cv::rotate(c.src, c.out,
               ang == 90    ? cv::ROTATE_90_CLOCKWISE
               : ang == 180 ? cv::ROTATE_180
                            : cv::ROTATE_90_COUNTERCLOCKWISE);
  } else if (c.op == "crop") {
    c.src(cv::Rect(c.i("x", 0), c.i("y", 0), c.out.cols, c.out.rows)).copyTo(c.out);
  } else {  // warpAffine
    const auto* mv = a.a("matrix");
    if (!mv || mv->size() != 6) throw Error("INVALID_ARGUMENT", "warpAffine needs a 2x3 matrix (6 numbers)");
    cv::Mat M(2, 3, CV_64F);
    for (int i = 0; i < 6; i++) M.at<double>(i / 3, i % 3) = (*mv)[i];
    cv::warpAffine(c.src, c.out, M, c.out.size(), cvInterpolationOf(a.s("interpolation", "bilinear")),
                   cv::BORDER_CONSTANT, scalarOf(a, "borderValue"));
  }
  return 0;
}

double opFilter(const OpCall& c) {
  const OpArgs& a = c.a;
  if (c.op == "gaussianBlur") {
    cv::GaussianBlur(c.src, c.out, cv::Size(c.kw(), c.kh()), a.get("sigmaX", 0), a.get("sigmaY", 0));
  } else if (c.op == "medianBlur") {
    cv::medianBlur(c.src, c.out, c.kw());
  } else if (c.op == "bilateralFilter") {
    cv::bilateralFilter(c.src, c.out, c.i("d", 9), a.get("sigmaColor", 75), a.get("sigmaSpace", 75));
  } else if (c.op == "boxFilter") {
    cv::boxFilter(c.src, c.out, -1, cv::Size(c.kw(), c.kh()), cv::Point(-1, -1), a.get("normalize", 1) != 0);
  } else if (c.op == "canny") {
    cv::Canny(c.src, c.out, a.get("threshold1", 100), a.get("threshold2", 200), c.i("apertureSize", 3),
              a.get("L2gradient", 0) != 0);
  } else if (c.op == "sobel") {
    cv::Sobel(c.src, c.out, -1, c.i("dx", 1), c.i("dy", 0), c.i("ksize", 3), a.get("scale", 1), a.get("delta", 0));
  } else if (c.op == "equalizeHist") {
    cv::equalizeHist(c.src, c.out);
  } else {  // filter2D
    const auto* kv = a.a("kernel");
    const int kwid = c.i("kernelWidth", 0), khei = c.i("kernelHeight", 0);
    if (!kv || kwid <= 0 || khei <= 0 || kv->size() != size_t(kwid) * khei)
      throw Error("INVALID_ARGUMENT", "filter2D: the kernel must have kernelWidth x kernelHeight numbers");
    cv::Mat K(khei, kwid, CV_32F);
    for (int i = 0; i < kwid * khei; i++) K.at<float>(i / kwid, i % kwid) = static_cast<float>((*kv)[i]);
    cv::filter2D(c.src, c.out, -1, K, cv::Point(-1, -1), a.get("delta", 0));
  }
  return 0;
}

double opMorphology(const OpCall& c) {
  const OpArgs& a = c.a;
  const cv::Mat k = cv::getStructuringElement(morphShape(a.s("shape", "rect")), cv::Size(c.kw(), c.kh()));
  const int it = c.i("iterations", 1);
  if (c.op == "dilate") cv::dilate(c.src, c.out, k, cv::Point(-1, -1), it);
  else if (c.op == "erode") cv::erode(c.src, c.out, k, cv::Point(-1, -1), it);
  else cv::morphologyEx(c.src, c.out, morphOp(a.s("op", "open")), k, cv::Point(-1, -1), it);
  return 0;
}

double opThreshold(const OpCall& c) {
  const OpArgs& a = c.a;
  if (c.op == "adaptiveThreshold") {
    cv::adaptiveThreshold(
        c.src, c.out, a.get("maxValue", 255),
        a.s("method", "mean") == "gaussian" ? cv::ADAPTIVE_THRESH_GAUSSIAN_C : cv::ADAPTIVE_THRESH_MEAN_C,
        a.s("type", "binary") == "binary_inv" ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY, c.i("blockSize", 11),
        a.get("C", 2));
    return 0;
  }
  if (c.op == "inRange") {
    cv::Scalar lo, hi;
    for (size_t i = 0; i < 4; i++) {
      lo[i] = i < a.lower.size() ? a.lower[i] : 0;
      hi[i] = i < a.upper.size() ? a.upper[i] : 0;
    }
    cv::inRange(c.src, lo, hi, c.out);
    return 0;
  }
  int type = thresholdType(a.s("type", "binary"));
  if (a.get("otsu", 0) != 0) type |= cv::THRESH_OTSU;
  return cv::threshold(c.src, c.out, a.get("thresh", 127), a.get("maxval", 255), type);
}

double opArithmetic(const OpCall& c) {
  if (c.op == "cvtColor") cv::cvtColor(c.src, c.out, colorCode(c.in[0].format, c.outFormat));
  else if (c.op == "bitwiseNot") cv::bitwise_not(c.src, c.out);
  else if (c.op == "absdiff") cv::absdiff(c.src, c.second(), c.out);
  else if (c.op == "bitwiseAnd") cv::bitwise_and(c.src, c.second(), c.out);
  else if (c.op == "bitwiseOr") cv::bitwise_or(c.src, c.second(), c.out);
  else if (c.op == "bitwiseXor") cv::bitwise_xor(c.src, c.second(), c.out);
  else cv::addWeighted(c.src, c.a.get("alpha", 1), c.second(), c.a.get("beta", 1), c.a.get("gamma", 0), c.out);
  return 0;
}

std::vector<std::vector<cv::Point>> contoursOf(const OpArgs& a) {
  // points (flat x, y) + counts (points per contour)
  const auto* pts = a.a("points");
  const auto* counts = a.a("counts");
  std::vector<std::vector<cv::Point>> contours;
  size_t off = 0;
  if (!pts || !counts) return contours;
  for (double n : *counts) {
    std::vector<cv::Point> one;
    for (int i = 0; i < static_cast<int>(n) && off + 1 < pts->size(); i++, off += 2)
      one.emplace_back(static_cast<int>((*pts)[off]), static_cast<int>((*pts)[off + 1]));
    contours.push_back(std::move(one));
  }
  return contours;
}

double opDraw(const OpCall& c) {
  if (c.out.data != c.src.data) c.src.copyTo(c.out);  // draw on a copy unless dst is the frame itself
  const OpArgs& a = c.a;
  const cv::Scalar color = scalarOf(a, "color");
  const int thickness = c.i("thickness", 1);
  if (c.op == "rectangle") {
    const int x = c.i("x", 0), y = c.i("y", 0);
    cv::rectangle(c.out, cv::Point(x, y), cv::Point(x + c.i("width", 1) - 1, y + c.i("height", 1) - 1), color,
                  thickness);
  } else if (c.op == "line") {
    cv::line(c.out, cv::Point(c.i("x1", 0), c.i("y1", 0)), cv::Point(c.i("x2", 0), c.i("y2", 0)), color, thickness);
  } else if (c.op == "circle") {
    cv::circle(c.out, cv::Point(c.i("x", 0), c.i("y", 0)), c.i("radius", 1), color, thickness);
  } else if (c.op == "putText") {
    cv::putText(c.out, a.s("text", ""), cv::Point(c.i("x", 0), c.i("y", 0)), hersheyFont(a.s("font", "simplex")),
                a.get("fontScale", 1), color, thickness);
  } else {  // drawContours
    cv::drawContours(c.out, contoursOf(a), c.i("index", -1), color, thickness);
  }
  return 0;
}

const std::map<std::string, OpFn>& opTable() {
  static const std::map<std::string, OpFn> table = {
      {"resize", opGeometry},       {"flip", opGeometry},
      {"rotate", opGeometry},       {"crop", opGeometry},
      {"warpAffine", opGeometry},   {"gaussianBlur", opFilter},
      {"medianBlur", opFilter},     {"bilateralFilter", opFilter},
      {"boxFilter", opFilter},      {"canny", opFilter},
      {"sobel", opFilter},          {"equalizeHist", opFilter},
      {"filter2D", opFilter},       {"dilate", opMorphology},
      {"erode", opMorphology},      {"morphologyEx", opMorphology},
      {"threshold", opThreshold},   {"adaptiveThreshold", opThreshold},
      {"inRange", opThreshold},     {"cvtColor", opArithmetic},
      {"bitwiseNot", opArithmetic}, {"absdiff", opArithmetic},
      {"bitwiseAnd", opArithmetic}, {"bitwiseOr", opArithmetic},
      {"bitwiseXor", opArithmetic}, {"addWeighted", opArithmetic},
      {"rectangle", opDraw},        {"line", opDraw},
      {"circle", opDraw},           {"putText", opDraw},
      {"drawContours", opDraw},
  };
  return table;
}

}  // namespace

double runMatOp(const std::string& op, const std::vector<Img>& in, const Img& outImg, const OpArgs& a) {
  if (in.empty()) throw Error("INVALID_ARGUMENT", op + ": no input");
  auto it = opTable().find(op);
  if (it == opTable().end()) throw Error("INVALID_ARGUMENT", "unknown operation '" + op + "'");
  cv::Mat out = matOf(outImg);
  uint8_t* const outData = out.data;
  const double result = it->second(OpCall{op, in, matOf(in[0]), out, a, outImg.format});
  if (out.data != outData) throw Error("INTERNAL", op + ": OpenCV reallocated the output (size or type mismatch)");
  return result;
}

std::vector<uint8_t> encodeImage(const Img& img, const std::string& ext, const OpArgs& a) {
  cv::Mat m = matOf(img);
  cv::Mat bgr;  // a new buffer when converting: the caller's frame is never touched
  if (img.format == "rgb24") cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);  // OpenCV's codecs take BGR(A)
  else if (img.format == "rgba") cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
  else if (img.format == "yuv420p" || img.format == "nv12")
    throw Error("INVALID_ARGUMENT", "encode bgr24/rgb24/bgra/rgba/gray frames");
  else bgr = m;
  std::vector<int> params;
  const double q = a.get("quality", -1);
  if (q >= 0) {
    if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(q)};
    else if (ext == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, static_cast<int>(q)};
    else if (ext == ".png") params = {cv::IMWRITE_PNG_COMPRESSION, static_cast<int>(q)};
  }
  std::vector<uint8_t> out;
  if (!needImageCodecs().encode(ext, bgr, out, params)) throw Error("ENCODE", "cannot encode " + ext);
  return out;
}

Decoded decodeImage(const uint8_t* data, size_t size, bool gray) {
  cv::Mat buf(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
  cv::Mat m = needImageCodecs().decode(buf, gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (m.empty()) throw Error("INVALID_DATA", "cannot decode the image (not PNG/JPEG/WebP, or corrupt)");
  Decoded d;
  d.width = m.cols;
  d.height = m.rows;
  d.bytes.assign(m.data, m.data + m.total() * m.elemSize());
  return d;
}

}  // namespace avcv
