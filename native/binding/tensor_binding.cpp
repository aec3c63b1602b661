// toTensor / fromTensor / letterbox: thin wrappers over core/tensor.
#include <napi.h>

#include <opencv2/imgproc.hpp>

#include "../core/tensor.h"
#include "common.h"
#include "options.h"

namespace avcvjs {
namespace {

size_t imageBytes(const avcv::TensorSpec& s) {
  return avcv::describeImage(s.format, s.layout, s.width, s.height).bytes;
}

// toTensor(data, img, opts, out?, offset?) -> typed array
Napi::Value ToTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "toTensor(data, img, opts)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  avcv::TensorSpec s = tensorSpec(env, info[1], info[2]);
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
  avcv::TensorSpec s = tensorSpec(env, info[1], info[2]);
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

// letterbox(data, {format, width, height}, outW, outH, color[4], interpolation name) -> {data, scale, padX,
// padY, innerWidth, innerHeight}
Napi::Value Letterbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "letterbox(data, img, width, height, color, interpolation)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  const avcv::ImageDesc img = imageDesc(env, info[1]);
  avcv::PixFmt f;
  avcv::parsePixFmt(info[1].As<Napi::Object>().Get("format").ToString().Utf8Value(), &f);
  const int w = img.width, h = img.height;
  const int ow = info[2].As<Napi::Number>().Int32Value(), oh = info[3].As<Napi::Number>().Int32Value();
  const int c = avcv::pixFmtChannels(f);
  if (src.ByteLength() != size_t(w) * h * c) throw Napi::RangeError::New(env, "data length does not match the image");
  double color[4] = {0, 0, 0, 255};
  Napi::Array ca = info[4].As<Napi::Array>();
  for (uint32_t i = 0; i < 4 && i < ca.Length(); i++) color[i] = ca.Get(i).As<Napi::Number>().DoubleValue();
  const avcv::Interpolation* in = avcv::findInterpolation(info[5].ToString().Utf8Value());
  if (!in || in->cvFlag < 0) throw Napi::TypeError::New(env, "letterbox: OpenCV has no such interpolation");
  const int interp = in->cvFlag;
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
}

}  // namespace avcvjs
