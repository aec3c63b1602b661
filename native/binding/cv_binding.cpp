// cvRun / imencode / imdecode: thin wrappers over core/mat_ops. Sync forms run
// on the caller's thread; async forms on the libuv pool, holding references
// to every buffer they touch.
#include <napi.h>

#include <cstring>
#include <functional>
#include <memory>

#include "../core/image.h"
#include "../core/mat_ops.h"
#include "common.h"
#include "options.h"

namespace avcvjs {
namespace {

avcv::Img imgOf(Napi::Env env, const Napi::Value& v, std::vector<Napi::Reference<Napi::Value>>* keep) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "image must be {data, width, height, format}");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value d = o.Get("data");
  if (!d.IsTypedArray() || d.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "image data must be a Uint8Array");
  Napi::Uint8Array arr = d.As<Napi::Uint8Array>();
  avcv::Img img;
  img.data = arr.Data();
  Fields fields(env, o, "image");
  img.width = fields.integer("width");
  img.height = fields.integer("height");
  img.format = fields.str("format");
  avcv::PixFmt f;
  if (!avcv::parsePixFmt(img.format, &f)) throw Napi::TypeError::New(env, "unknown format '" + img.format + "'");
  if (img.width <= 0 || img.height <= 0) throw Napi::RangeError::New(env, "image size out of range");
  size_t need = 0;
  try {
    need =
        avcv::describeImage(f, avcv::isPlanarYuv(f) ? avcv::Layout::PLANAR : avcv::Layout::HWC, img.width, img.height)
            .bytes;
  } catch (const avcv::Error& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  if (arr.ByteLength() != need)
    throw Napi::RangeError::New(env, "image data has " + std::to_string(arr.ByteLength()) + " bytes; " +
                                         std::to_string(img.width) + "x" + std::to_string(img.height) + " " +
                                         img.format + " needs " + std::to_string(need));
  if (keep) keep->push_back(Napi::Persistent(d));
  return img;
}

// Runs `work` now (sync) or on the libuv pool (async), then `done` on the JS
// thread; avcv::Error becomes a JS error (thrown, or the promise's rejection).
// Any other std::exception (cv::Exception) becomes avcv::Error(`code`).
Napi::Value runNowOrLater(Napi::Env env, bool async, const char* code, std::function<void()> op,
                          std::function<Napi::Value(Napi::Env)> done) {
  std::function<void()> work = [op = std::move(op), code] {
    try {
      op();
    } catch (const avcv::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw avcv::Error(code, e.what());
    }
  };
  if (!async) {
    try {
      work();
    } catch (const avcv::Error& e) {
      throw makeError(env, toInfo(e));
    }
    return done(env);
  }
  auto* w = new PromiseWorker(env, std::move(work), std::move(done));
  w->Queue();
  return w->Promise();
}

avcv::OpArgs argsOf(const Napi::Value& v) {
  avcv::OpArgs a;
  if (!v.IsObject()) return a;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value x = o.Get(k);
    if (x.IsNumber()) a.num[k] = x.As<Napi::Number>().DoubleValue();
    else if (x.IsBoolean()) a.num[k] = x.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (x.IsString()) a.str[k] = x.As<Napi::String>().Utf8Value();
    else if (x.IsArray()) {
      Napi::Array arr = x.As<Napi::Array>();
      auto& dst = k == "lower" ? a.lower : k == "upper" ? a.upper : a.arr[k];
      for (uint32_t j = 0; j < arr.Length(); j++) dst.push_back(arr.Get(j).ToNumber().DoubleValue());
    } else if (x.IsTypedArray()) {
      Napi::TypedArray ta = x.As<Napi::TypedArray>();
      auto& dst = a.arr[k];
      if (ta.TypedArrayType() == napi_int32_array) {
        Napi::Int32Array ia = x.As<Napi::Int32Array>();
        for (size_t j = 0; j < ia.ElementLength(); j++) dst.push_back(ia[j]);
      } else if (ta.TypedArrayType() == napi_float64_array) {
        Napi::Float64Array fa = x.As<Napi::Float64Array>();
        for (size_t j = 0; j < fa.ElementLength(); j++) dst.push_back(fa[j]);
      }
    }
  }
  return a;
}

// cvRun(op, inputs[], out, args, async) -> number | Promise<number>
Napi::Value CvRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsArray())
    throw Napi::TypeError::New(env, "cvRun(op, inputs, out, args, async)");
  const std::string op = info[0].As<Napi::String>().Utf8Value();
  const bool async = info[4].ToBoolean().Value();
  auto keep = std::make_shared<std::vector<Napi::Reference<Napi::Value>>>();
  std::vector<avcv::Img> in;
  Napi::Array arr = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) in.push_back(imgOf(env, arr.Get(i), async ? keep.get() : nullptr));
  avcv::Img out = imgOf(env, info[2], async ? keep.get() : nullptr);
  avcv::OpArgs args = argsOf(info[3]);
  auto result = std::make_shared<double>(0);
  auto work = [op, in, out, args, result] { *result = avcv::runMatOp(op, in, out, args); };
  auto done = [keep, result](Napi::Env env) -> Napi::Value {
    keep->clear();
    return Napi::Number::New(env, *result);
  };
  return runNowOrLater(env, async, "OPENCV", work, done);
}

// imencode(img, ext, args, async) -> Uint8Array | Promise<Uint8Array>
Napi::Value Imencode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(env, "imencode(img, ext, args, async)");
  const bool async = info.Length() > 3 && info[3].ToBoolean().Value();
  auto keep = std::make_shared<std::vector<Napi::Reference<Napi::Value>>>();
  avcv::Img img = imgOf(env, info[0], async ? keep.get() : nullptr);
  const std::string ext = info[1].As<Napi::String>().Utf8Value();
  avcv::OpArgs args = argsOf(info.Length() > 2 ? info[2] : env.Undefined());
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  auto work = [img, ext, args, bytes] { *bytes = avcv::encodeImage(img, ext, args); };
  auto done = [keep, bytes](Napi::Env env) -> Napi::Value {
    keep->clear();
    Napi::Uint8Array out = Napi::Uint8Array::New(env, bytes->size());
    std::memcpy(out.Data(), bytes->data(), bytes->size());
    return out;
  };
  return runNowOrLater(env, async, "OPENCV", work, done);
}

// imdecode(bytes, gray, async) -> {data, width, height} | Promise of it
Napi::Value Imdecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "imdecode(bytes, gray, async)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  const bool gray = info.Length() > 1 && info[1].ToBoolean().Value();
  const bool async = info.Length() > 2 && info[2].ToBoolean().Value();
  auto keep = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
  const uint8_t* data = src.Data();
  const size_t size = src.ByteLength();
  auto d = std::make_shared<avcv::Decoded>();
  auto work = [data, size, gray, d] { *d = avcv::decodeImage(data, size, gray); };
  auto done = [keep, d](Napi::Env env) -> Napi::Value {
    keep->Reset();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, d->bytes.size() + avcv::kDstPadding);
    Napi::Uint8Array out = Napi::Uint8Array::New(env, d->bytes.size(), ab, 0);
    std::memcpy(out.Data(), d->bytes.data(), d->bytes.size());
    Napi::Object o = Napi::Object::New(env);
    o.Set("data", out);
    o.Set("width", d->width);
    o.Set("height", d->height);
    return o;
  };
  return runNowOrLater(env, async, "INVALID_DATA", work, done);
}

// findContours(img, mode, method, async) -> {contours: Int32Array[], hierarchy: Int32Array} (or a Promise)
Napi::Value FindContours(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool async = info.Length() > 3 && info[3].ToBoolean().Value();
  auto keep = std::make_shared<std::vector<Napi::Reference<Napi::Value>>>();
  avcv::Img img = imgOf(env, info[0], async ? keep.get() : nullptr);
  const std::string mode = info[1].ToString().Utf8Value(), method = info[2].ToString().Utf8Value();
  auto result = std::make_shared<avcv::Contours>();
  auto work = [img, mode, method, result] { *result = avcv::findContours(img, mode, method); };
  auto done = [keep, result](Napi::Env env) -> Napi::Value {
    keep->clear();
    Napi::Array list = Napi::Array::New(env, result->points.size());
    for (size_t i = 0; i < result->points.size(); i++) {
      Napi::Int32Array a = Napi::Int32Array::New(env, result->points[i].size());
      std::memcpy(a.Data(), result->points[i].data(), result->points[i].size() * sizeof(int32_t));
      list.Set(static_cast<uint32_t>(i), a);
    }
    Napi::Int32Array h = Napi::Int32Array::New(env, result->hierarchy.size());
    if (!result->hierarchy.empty())
      std::memcpy(h.Data(), result->hierarchy.data(), result->hierarchy.size() * sizeof(int32_t));
    Napi::Object o = Napi::Object::New(env);
    o.Set("contours", list);
    o.Set("hierarchy", h);
    return o;
  };
  return runNowOrLater(env, async, "OPENCV", work, done);
}

}  // namespace

void InitCv(Napi::Env env, Napi::Object exports) {
  exports.Set("findContours", Napi::Function::New(env, FindContours, "findContours"));
  exports.Set("cvRun", Napi::Function::New(env, CvRun, "cvRun"));
  exports.Set("imencode", Napi::Function::New(env, Imencode, "imencode"));
  exports.Set("imdecode", Napi::Function::New(env, Imdecode, "imdecode"));
}

}  // namespace avcvjs
