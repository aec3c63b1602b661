// transcode(): the whole decode -> encode job on one libuv pool thread; JS
// polls progress() and may cancel(). An env cleanup hook cancels the job at
// environment teardown so that Node's wait for the pool thread is short.
#include <memory>

#include "../core/transcode.h"
#include "common.h"

namespace avcvjs {

namespace {

class TranscodeWorker : public Napi::AsyncWorker {
 public:
  TranscodeWorker(Napi::Env env, avcv::TranscodeOptions opts, std::shared_ptr<avcv::TranscodeControl> ctl)
      : Napi::AsyncWorker(env, "avcv.transcode"), deferred_(Napi::Promise::Deferred::New(env)),
        opts_(std::move(opts)), ctl_(std::move(ctl)), env_(env) {
    napi_add_env_cleanup_hook(env_, &TranscodeWorker::Hook, ctl_.get());
  }
  ~TranscodeWorker() override { napi_remove_env_cleanup_hook(env_, &TranscodeWorker::Hook, ctl_.get()); }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = avcv::transcode(opts_, *ctl_);
    } catch (const avcv::Error& e) {
      err_ = toInfo(e);
      failed_ = true;
    } catch (const std::exception& e) {
      err_ = {"INTERNAL", e.what(), 0};
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(makeError(env, err_).Value());
      return;
    }
    const avcv::TranscodeResult& r = result_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", r.path);
    o.Set("passthroughReason", r.passthroughReason.empty() ? env.Null() : Napi::String::New(env, r.passthroughReason));
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("type", r.device.type);
    if (r.device.type == "cuda") dev.Set("index", r.device.index);
    if (!r.device.fallbackReason.empty()) dev.Set("fallbackReason", r.device.fallbackReason);
    o.Set("device", dev);
    o.Set("decoder", r.decoder);
    o.Set("width", r.outWidth);
    o.Set("height", r.outHeight);
    o.Set("framesIn", Napi::Number::New(env, static_cast<double>(r.framesIn)));
    Napi::Object rs = Napi::Object::New(env);
    rs.Set("framesDecoded", Napi::Number::New(env, static_cast<double>(r.reader.framesDecoded)));
    rs.Set("decodeErrors", Napi::Number::New(env, static_cast<double>(r.reader.decodeErrors)));
    rs.Set("corruptFrames", Napi::Number::New(env, static_cast<double>(r.reader.corruptFrames)));
    rs.Set("gpuScaledFrames", Napi::Number::New(env, static_cast<double>(r.reader.gpuScaledFrames)));
    rs.Set("lastError", r.reader.lastError.empty() ? env.Null() : Napi::String::New(env, r.reader.lastError));
    o.Set("reader", rs);
    o.Set("writer", writerStatsToJs(env, r.writer));
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static void Hook(void* p) { static_cast<avcv::TranscodeControl*>(p)->cancel(); }
  Napi::Promise::Deferred deferred_;
  avcv::TranscodeOptions opts_;
  std::shared_ptr<avcv::TranscodeControl> ctl_;
  napi_env env_;
  avcv::TranscodeResult result_;
  ErrorInfo err_;
  bool failed_ = false;
};

}  // namespace

Napi::Value Transcode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "transcode(readerOptions, writerOptions, {passthrough, cfr})");
  avcv::TranscodeOptions opts;
  opts.reader = readerOptions(env, info[0].As<Napi::Object>());
  opts.writer = writerOptions(env, info[1].As<Napi::Object>());
  Napi::Object t = info[2].As<Napi::Object>();
  opts.passthrough = getInt(t, "passthrough", -1);
  opts.cfr = getBool(t, "cfr", false);
  auto ctl = std::make_shared<avcv::TranscodeControl>();
  auto* worker = new TranscodeWorker(env, std::move(opts), ctl);
  Napi::Object out = Napi::Object::New(env);
  out.Set("promise", worker->Promise());
  out.Set("progress", Napi::Function::New(
                          env, [ctl](const Napi::CallbackInfo& i) -> Napi::Value {
                            return Napi::Number::New(i.Env(), static_cast<double>(ctl->frames.load()));
                          },
                          "progress"));
  out.Set("cancel", Napi::Function::New(
                        env, [ctl](const Napi::CallbackInfo& i) -> Napi::Value {
                          ctl->cancel();
                          return i.Env().Undefined();
                        },
                        "cancel"));
  worker->Queue();
  return out;
}

}  // namespace avcvjs
