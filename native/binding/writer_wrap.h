#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "../core/video_writer.h"
#include "common.h"
#include "js_link.h"

namespace avcvjs {

// One VideoWriter plus its own encode thread. write() hands the thread a JS
// buffer by reference; its promise resolves as soon as the frame has been
// converted out of that buffer (the caller may reuse it then), while encoding
// and muxing continue on the thread. finish() flushes and writes the trailer.
class WriterWrap : public Napi::ObjectWrap<WriterWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit WriterWrap(const Napi::CallbackInfo& info);
  ~WriterWrap() override;
  void EnvTeardown();
  void Drain(Napi::Env env);

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void Run();
  void StopThread();
  Napi::Promise Enqueue(Napi::Env env, const uint8_t* data, int64_t pts, bool finish, Napi::Value keep);
  void RejectAll(Napi::Env env, const ErrorInfo& why);

  JsLink<WriterWrap> link_;
  std::unique_ptr<avcv::VideoWriter> writer_;
  std::thread thread_;

  struct Job {
    uint64_t id;
    const uint8_t* data;
    int64_t pts;
    bool finish;
  };
  struct Done {
    uint64_t id;
    bool finish;
    std::optional<ErrorInfo> error;
  };
  // After a successful finish the writer (encoder, its threads, muxer,
  // scaler) is freed at once and its last stats kept here (under mu_).
  std::optional<avcv::WriterStats> finalStats_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::deque<Done> done_;
  bool stopping_ = false;
  std::optional<ErrorInfo> failed_;  // sticky: thread side

  // JS thread only
  std::unordered_map<uint64_t, Napi::Promise::Deferred> deferreds_;
  std::unordered_map<uint64_t, Napi::Reference<Napi::Value>> keep_;
  uint64_t nextId_ = 1;
  bool finishing_ = false;
  bool closed_ = false;
};

Napi::Value OpenWriter(const Napi::CallbackInfo& info);
Napi::Value ChooseEncoder(const Napi::CallbackInfo& info);

}  // namespace avcvjs
