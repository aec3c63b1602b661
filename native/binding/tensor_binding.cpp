// toTensor / fromTensor / letterbox: thin wrappers over core/tensor.
#include <napi.h>

#include <opencv2/imgproc.hpp>

#include "../core/tensor.h"
#include "common.h"

namespace avcvjs {
namespace {

avcv::TensorSpec specFrom(Napi::Env env, const Napi::Object& img, const Napi::Object& o) {
  avcv::TensorSpec s;
  if (!avcv::parsePixFmt(getString(img, "format", ""), &s.format)) throw Napi::TypeError::New(env, "unknown format");
  if (!avcv::parseLayout(getString(img, "layout", "hwc"), &s.layout)) throw Napi::TypeError::New(env, "unknown layout");
  s.width = getInt(img, "width", 0);
  s.height = getInt(img, "height", 0);
  if (s.width <= 0 || s.height <= 0 || s.width > 16384 || s.height > 16384)
    throw Napi::RangeError::New(env, "bad size");
  s.chw = getString(o, "layout", "chw") == "chw";
  s.float32 = getString(o, "dtype", "float32") == "float32";
  s.rgb = getString(o, "channelOrder", "rgb") == "rgb";
  Napi::Value sc = o.Get("scale");
  if (sc.IsNumber()) s.scale = sc.As<Napi::Number>().FloatValue();
  auto three = [&](const char* key, float* out) {
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) return;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < 3 && i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().FloatValue();
  };
  three("mean", s.mean);
  three("std", s.std);
  return s;
}

size_t imageBytes(const avcv::TensorSpec& s) { return size_t(avcv::pixFmtChannels(s.format)) * s.width * s.height; }

// toTensor(data, img, opts, out?, offset?) -> typed array
Napi::Value ToTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "toTensor(data, img, opts)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  avcv::TensorSpec s = specFrom(env, info[1].As<Napi::Object>(), info[2].As<Napi::Object>());
  if (src.ByteLength() != imageBytes(s)) throw Napi::RangeError::New(env, "data length does not match the image");
  const size_t n = avcv::tensorElements(s);
  Napi::TypedArray out;
  size_t offset = 0;
  if (info.Length() > 3 && info[3].IsTypedArray()) {
    out = info[3].As<Napi::TypedArray>();
    offset = info.Length() > 4 && info[4].IsNumber() ? static_cast<size_t>(info[4].As<Napi::Number>().Int64Value()) : 0;
    const napi_typedarray_type want = s.float32 ? napi_float32_array : napi_uint8_array;
    if (out.TypedArrayType() != want) throw Napi::TypeError::New(env, "output array type does not match dtype");
    if (offset + n > out.ElementLength()) throw Napi::RangeError::New(env, "output array too small");
  } else {
    out =
        s.float32 ? Napi::TypedArray(Napi::Float32Array::New(env, n)) : Napi::TypedArray(Napi::Uint8Array::New(env, n));
  }
  uint8_t* base = static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset() + offset * (s.float32 ? 4 : 1);
  try {
    avcv::toTensor(src.Data(), s, base);
  } catch (const avcv::Error& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return out;
}

// fromTensor(data, img, opts) -> Uint8Array of the image (padded ArrayBuffer)
Napi::Value FromTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "fromTensor(data, img, opts)");
  Napi::TypedArray in = info[0].As<Napi::TypedArray>();
  avcv::TensorSpec s = specFrom(env, info[1].As<Napi::Object>(), info[2].As<Napi::Object>());
  const napi_typedarray_type want = s.float32 ? napi_float32_array : napi_uint8_array;
  if (in.TypedArrayType() != want) throw Napi::TypeError::New(env, "tensor array type does not match dtype");
  if (in.ElementLength() != avcv::tensorElements(s))
    throw Napi::RangeError::New(env, "tensor length does not match its shape");
  const size_t bytes = imageBytes(s);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes + avcv::kDstPadding);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, bytes, ab, 0);
  const uint8_t* p = static_cast<const uint8_t*>(in.ArrayBuffer().Data()) + in.ByteOffset();
  try {
    avcv::fromTensor(p, s, out.Data());
  } catch (const avcv::Error& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return out;
}

// letterbox(data, {format, width, height}, outW, outH, color[4], interpolation) -> {data, scale, padX, padY,
// innerWidth, innerHeight}
Napi::Value Letterbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "letterbox(data, img, width, height, color, interpolation)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  Napi::Object img = info[1].As<Napi::Object>();
  avcv::PixFmt f;
  if (!avcv::parsePixFmt(getString(img, "format", ""), &f)) throw Napi::TypeError::New(env, "unknown format");
  const int w = getInt(img, "width", 0), h = getInt(img, "height", 0);
  const int ow = info[2].As<Napi::Number>().Int32Value(), oh = info[3].As<Napi::Number>().Int32Value();
  const int c = avcv::pixFmtChannels(f);
  if (src.ByteLength() != size_t(w) * h * c) throw Napi::RangeError::New(env, "data length does not match the image");
  double color[4] = {0, 0, 0, 255};
  Napi::Array ca = info[4].As<Napi::Array>();
  for (uint32_t i = 0; i < 4 && i < ca.Length(); i++) color[i] = ca.Get(i).As<Napi::Number>().DoubleValue();
  const int interp = info[5].As<Napi::Number>().Int32Value();
  const size_t bytes = size_t(ow) * oh * c;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes + avcv::kDstPadding);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, bytes, ab, 0);
  avcv::Letterbox lb;
  try {
    lb = avcv::letterbox(src.Data(), f, w, h, ow, oh, color, interp, out.Data());
  } catch (const avcv::Error& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", out);
  o.Set("scale", lb.scale);
  o.Set("padX", lb.padX);
  o.Set("padY", lb.padY);
  o.Set("innerWidth", lb.innerW);
  o.Set("innerHeight", lb.innerH);
  return o;
}

}  // namespace

void InitTensor(Napi::Env env, Napi::Object exports) {
  exports.Set("toTensor", Napi::Function::New(env, ToTensor, "toTensor"));
  exports.Set("fromTensor", Napi::Function::New(env, FromTensor, "fromTensor"));
  exports.Set("letterbox", Napi::Function::New(env, Letterbox, "letterbox"));
  exports.Set("cvInterpolation", [&] {
    Napi::Object o = Napi::Object::New(env);
    o.Set("nearest", static_cast<int>(cv::INTER_NEAREST));
    o.Set("bilinear", static_cast<int>(cv::INTER_LINEAR));
    o.Set("bicubic", static_cast<int>(cv::INTER_CUBIC));
    o.Set("area", static_cast<int>(cv::INTER_AREA));
    o.Set("lanczos", static_cast<int>(cv::INTER_LANCZOS4));
    return o;
  }());
}

}  // namespace avcvjs
