// Binding helpers: error mapping and option reading. node-addon-api only.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "../core/error.h"
#include "../core/device.h"
#include "../core/probe.h"
#include "../core/video_reader.h"
#include "../core/video_writer.h"

namespace avcvjs {

struct ErrorInfo {
  std::string code;
  std::string message;
  int averror = 0;
};

inline ErrorInfo toInfo(const avcv::Error& e) { return {e.code(), e.what(), e.averror()}; }

// A plain Error carrying {code, averror}; lib/ turns it into AvcvError.
inline Napi::Error makeError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error err = Napi::Error::New(env, info.message);
  err.Set("code", Napi::String::New(env, info.code));
  err.Set("averror", Napi::Number::New(env, info.averror));
  return err;
}

// Runs f; an avcv::Error or std::exception it throws becomes the ErrorInfo
// returned (nothing when f returned normally). For worker threads.
inline std::optional<ErrorInfo> catchErrors(const std::function<void()>& f) {
  try {
    f();
  } catch (const avcv::Error& e) {
    return toInfo(e);
  } catch (const std::exception& e) {
    return ErrorInfo{"INTERNAL", e.what(), 0};
  }
  return std::nullopt;
}

// Generic promise-returning worker: Execute() runs `work` on the libuv pool,
// OnOK converts the result on the JS thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, "avcv"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (auto e = catchErrors(work_)) {
      err_ = *e;
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(makeError(env, err_).Value());
      return;
    }
    try {
      deferred_.Resolve(done_(env));
    } catch (const avcv::Error& e) {
      deferred_.Reject(makeError(env, toInfo(e)).Value());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  ErrorInfo err_;
  bool failed_ = false;
};

// {promise, cancel()}: `cancel` sets the flag the work's libav interrupt
// callback polls, so a slow open or probe (a server that never answers, a
// damaged file libav probes for seconds) ends at once with ABORTED.
inline Napi::Object cancellable(Napi::Env env, Napi::Promise promise, std::shared_ptr<std::atomic<bool>> flag) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("promise", promise);
  o.Set("cancel", Napi::Function::New(
                      env,
                      [flag](const Napi::CallbackInfo& i) -> Napi::Value {
                        flag->store(true);
                        return i.Env().Undefined();
                      },
                      "cancel"));
  return o;
}

// transcode(readerOptions, writerOptions, {passthrough, cfr}) ->
// {promise, progress(), cancel()}: see native/core/transcode.h
Napi::Value Transcode(const Napi::CallbackInfo& info);
Napi::Value Remux(const Napi::CallbackInfo& info);
// stitch(writerOptions, {pieces, starts, end}) -> {promise, progress(), cancel()}: native/core/stitch.h
Napi::Value Stitch(const Napi::CallbackInfo& info);
Napi::Value Ladder(const Napi::CallbackInfo& info);

}  // namespace avcvjs
