// Module entry: probe(), openReader(), image helpers, versions.
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <opencv2/core.hpp>

#include "../core/device.h"
#include "../core/image.h"
#include "../core/probe.h"
#include "../core/video_reader.h"
#include "../core/log.h"
#include "addon_data.h"
#include "common.h"
#include "options.h"
#include "results.h"
#include "reader_wrap.h"
#include "audio_reader_wrap.h"
#include "writer_wrap.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace avcvjs {

namespace {

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "probe(options)");
  avcv::InputOptions opts = inputOptions(env, info[0]);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  opts.cancel = cancel;
  auto result = std::make_shared<avcv::ProbeResult>();
  auto* w = new PromiseWorker(
      env, [opts, result] { *result = avcv::probe(opts); },
      [result](Napi::Env env) -> Napi::Value { return probeToJs(env, *result); });
  w->Queue();
  return cancellable(env, w->Promise(), cancel);
}

}  // namespace

Napi::Value OpenReader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "openReader(options)");
  avcv::ReaderOptions opts = readerOptions(env, info[0]);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto holder = std::make_shared<std::unique_ptr<avcv::VideoReader>>();
  auto* w = new PromiseWorker(
      env, [opts, holder, cancel] { *holder = avcv::VideoReader::open(opts, cancel); },
      [holder](Napi::Env env) -> Napi::Value {
        AddonData* data = env.GetInstanceData<AddonData>();
        avcv::VideoReader* raw = holder->release();
        return data->readerCtor.New({Napi::External<avcv::VideoReader>::New(env, raw)});
      });
  w->Queue();
  return cancellable(env, w->Promise(), cancel);
}

namespace {

// convertImage(srcBytes, srcDesc, dstDesc) -> Uint8Array (new, V8-owned)
Napi::Value ConvertImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "convertImage(data, src, dst)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  avcv::ImageDesc sd = imageDesc(env, info[1]);
  avcv::ImageDesc dd = imageDesc(env, info[2]);
  if (src.ByteLength() != sd.bytes)
    throw Napi::RangeError::New(
        env, "data has " + std::to_string(src.ByteLength()) + " bytes, the image needs " + std::to_string(sd.bytes));
  // padded ArrayBuffer (swscale may write past the end), exact-length view
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, dd.bytes + avcv::kDstPadding);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, dd.bytes, ab, 0);
  // swscale's SIMD loads may read past the source's end too: use it in place
  // only when its ArrayBuffer has the padding (reader frames do), else a
  // padded scratch copy.
  const uint8_t* srcData = src.Data();
  std::vector<uint8_t> scratch;
  if (src.ArrayBuffer().ByteLength() - src.ByteOffset() < sd.bytes + avcv::kDstPadding) {
    scratch.resize(sd.bytes + avcv::kDstPadding);
    std::memcpy(scratch.data(), srcData, sd.bytes);
    srcData = scratch.data();
  }
  try {
    avcv::convertImage(sd, srcData, dd, out.Data());
  } catch (const avcv::Error& e) {
    throw makeError(env, toInfo(e));
  }
  return out;
}

// convertForeign(planes, strides, src {format, width, height, colorspace,
// colorRange}, dstDesc) -> Uint8Array (new, V8-owned): another libav's frame
// (node-av's planes, read in place on this thread) in an avcv format
Napi::Value ConvertForeign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsObject() || !info[3].IsObject())
    throw Napi::TypeError::New(env, "convertForeign(planes, strides, src, dst)");
  Napi::Array planes = info[0].As<Napi::Array>();
  Napi::Array strides = info[1].As<Napi::Array>();
  Fields f(env, info[2], "frame");
  avcv::ForeignFrame src;
  src.format = f.str("format");
  src.width = f.integer("width");
  src.height = f.integer("height");
  src.colorspace = f.integer("colorspace");
  src.colorRange = f.integer("colorRange");
  src.planeCount = static_cast<int>(std::min<uint32_t>(planes.Length(), 4));
  for (int i = 0; i < src.planeCount; i++) {
    Napi::Value p = planes.Get(static_cast<uint32_t>(i));
    Napi::Value st = strides.Get(static_cast<uint32_t>(i));
    if (p.IsUndefined() || p.IsNull()) continue;  // a plane the frame lacks
    if (!p.IsTypedArray() || p.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !st.IsNumber())
      throw Napi::TypeError::New(env,
                                 "convertForeign: plane " + std::to_string(i) + " must be a Uint8Array with a stride");
    Napi::Uint8Array a = p.As<Napi::Uint8Array>();
    src.data[i] = a.Data();
    src.bytes[i] = a.ByteLength();
    src.stride[i] = st.As<Napi::Number>().Int32Value();
  }
  avcv::ImageDesc dd = imageDesc(env, info[3]);
  if (dd.width != src.width || dd.height != src.height)
    throw Napi::RangeError::New(env, "convertForeign: the output has the frame's size");
  // padded ArrayBuffer (swscale may write past the end), exact-length view
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, dd.bytes + avcv::kDstPadding);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, dd.bytes, ab, 0);
  try {
    avcv::convertForeign(src, dd, out.Data());
  } catch (const avcv::Error& e) {
    throw makeError(env, toInfo(e));
  }
  return out;
}

Napi::Object cudaToJs(Napi::Env env, const avcv::CudaInfo& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", c.available);
  o.Set("reason", c.reason.empty() ? env.Null() : Napi::String::New(env, c.reason));
  o.Set("deviceCount", c.deviceCount);
  Napi::Array names = Napi::Array::New(env, c.names.size());
  for (size_t i = 0; i < c.names.size(); i++) names.Set(static_cast<uint32_t>(i), c.names[i]);
  o.Set("names", names);
  return o;
}

Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

// capabilities() -> {hwDeviceTypes, cuda, nvdec, nvenc, nvencUsable, nvencReason?, scaleCuda}
Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  avcv::Capabilities c = avcv::capabilities();
  Napi::Object o = Napi::Object::New(env);
  o.Set("hwDeviceTypes", strings(env, c.hwDeviceTypes));
  o.Set("cuda", cudaToJs(env, c.cuda));
  o.Set("nvdec", strings(env, c.nvdecCodecs));
  o.Set("nvenc", strings(env, c.nvencEncoders));
  o.Set("nvencUsable", strings(env, c.nvencUsable));
  if (!c.nvencReason.empty()) o.Set("nvencReason", c.nvencReason);
  o.Set("scaleCuda", c.scaleCuda);
  return o;
}

// probeCuda(index) -> {available, reason, deviceCount, names}
Napi::Value ProbeCuda(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int index = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  return cudaToJs(env, avcv::probeCuda(index));
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto v = [](unsigned x) {
    return std::to_string(x >> 16) + "." + std::to_string((x >> 8) & 0xff) + "." + std::to_string(x & 0xff);
  };
  o.Set("libavformat", v(avformat_version()));
  o.Set("libavcodec", v(avcodec_version()));
  o.Set("libavutil", v(avutil_version()));
  o.Set("libswscale", v(swscale_version()));
  o.Set("ffmpeg", av_version_info());
  o.Set("opencv", CV_VERSION);
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
  o.Set("externalBuffers", false);
#else
  o.Set("externalBuffers", true);
#endif
  return o;
}

}  // namespace

// libav logs to stderr by default; a library stays quiet unless asked
// (AVCV_LOG=quiet|error|warning|info|verbose|debug). Errors reach callers as
// AvcvError and stats.lastError instead.
void initLogging() {
  static const bool once = [] {
    const char* v = std::getenv("AVCV_LOG");
    int level = AV_LOG_QUIET;
    if (v) {
      std::string s(v);
      if (s == "error") level = AV_LOG_ERROR;
      else if (s == "warning") level = AV_LOG_WARNING;
      else if (s == "info") level = AV_LOG_INFO;
      else if (s == "verbose") level = AV_LOG_VERBOSE;
      else if (s == "debug") level = AV_LOG_DEBUG;
    }
    av_log_set_level(level);
    avcv::installLogCapture();
    return true;
  }();
  (void)once;
}

void InitTensor(Napi::Env env, Napi::Object exports);
void InitCv(Napi::Env env, Napi::Object exports);
Napi::Function InitFilterGraph(Napi::Env env);
void InitFramePool(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  initLogging();
  InitTensor(env, exports);
  InitCv(env, exports);
  InitFramePool(env, exports);
  auto* data = new AddonData();
  data->readerCtor = Napi::Persistent(ReaderWrap::Init(env));
  data->writerCtor = Napi::Persistent(WriterWrap::Init(env));
  data->audioReaderCtor = Napi::Persistent(AudioReaderWrap::Init(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("openReader", Napi::Function::New(env, OpenReader, "openReader"));
  exports.Set("openAudioReader", Napi::Function::New(env, OpenAudioReader, "openAudioReader"));
  exports.Set("measureAudio", Napi::Function::New(env, MeasureAudio, "measureAudio"));
  exports.Set("NativeFilterGraph", InitFilterGraph(env));
  exports.Set("openWriter", Napi::Function::New(env, OpenWriter, "openWriter"));
  exports.Set("transcode", Napi::Function::New(env, Transcode, "transcode"));
  exports.Set("remux", Napi::Function::New(env, Remux, "remux"));
  exports.Set("stitch", Napi::Function::New(env, Stitch, "stitch"));
  exports.Set("ladder", Napi::Function::New(env, Ladder, "ladder"));
  exports.Set("chooseEncoder", Napi::Function::New(env, ChooseEncoder, "chooseEncoder"));
  exports.Set("convertImage", Napi::Function::New(env, ConvertImage, "convertImage"));
  exports.Set("convertForeign", Napi::Function::New(env, ConvertForeign, "convertForeign"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("probeCuda", Napi::Function::New(env, ProbeCuda, "probeCuda"));
  // bytes every destination buffer needs after the image (swscale's and OpenCV's SIMD stores)
  exports.Set("padding", Napi::Number::New(env, static_cast<double>(avcv::kDstPadding)));
  return exports;
}

}  // namespace avcvjs

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return avcvjs::Init(env, exports); }

NODE_API_MODULE(avcv, InitAll)
