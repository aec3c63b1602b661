// transcode(): the whole decode -> encode job on its own thread; JS polls
// progress() and may cancel(); environment teardown cancels it.
#include <memory>
#include <thread>

#include "../core/transcode.h"
#include "common.h"
#include "js_link.h"
#include "options.h"
#include "results.h"

namespace avcvjs {

namespace {

// One transcode on its own thread (not the libuv pool: Node waits for pool
// work before it runs env cleanup hooks, so a pool job could not be
// cancelled at worker termination). The lifetime rules are JsLink's, as for
// the reader and writer wraps: the link is held while the job runs (JS awaits
// its promise), the thread wakes the JS thread to settle it, and the env
// cleanup hook cancels and joins the thread at teardown, after which nothing
// touches JS. `self_` keeps the job alive until one of the two has joined
// the thread.
class TranscodeJob {
 public:
  static std::shared_ptr<TranscodeJob> Start(Napi::Env env, avcv::TranscodeOptions opts,
                                             std::shared_ptr<avcv::TranscodeControl> ctl) {
    std::shared_ptr<TranscodeJob> job(new TranscodeJob(env, std::move(ctl)));
    job->self_ = job;
    job->link_.Start(env, job.get(), "avcv.transcode");
    job->link_.Hold(env);
    job->thread_ = std::thread([j = job.get(), opts = std::move(opts)] { j->Run(opts); });
    return job;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Drain(Napi::Env env) {  // JS thread, woken by Run() when the job ends
    if (thread_.joinable()) thread_.join();
    try {
      if (failed_) deferred_.Reject(makeError(env, err_).Value());
      else deferred_.Resolve(transcodeResultToJs(env, result_));
    } catch (...) {
      try {  // a result that did not convert still settles the promise
        deferred_.Reject(Napi::Error::New(env, "avcv: the transcode's result could not be returned").Value());
      } catch (...) {
        // the environment is stopping: nothing can observe the promise
      }
    }
    link_.Release(env);
    link_.Dispose();  // the cleanup hook is not needed any more
    self_.reset();    // may destroy this: last
  }

  void EnvTeardown() {  // environment teardown
    ctl_->cancel();
    if (thread_.joinable()) thread_.join();
    link_.TornDown();
    self_.reset();
  }

 private:
  TranscodeJob(Napi::Env env, std::shared_ptr<avcv::TranscodeControl> ctl)
      : deferred_(Napi::Promise::Deferred::New(env)), ctl_(std::move(ctl)) {}

  void Run(const avcv::TranscodeOptions& opts) {  // the job's thread
    if (auto e = catchErrors([&] { result_ = avcv::transcode(opts, *ctl_); })) {
      err_ = *e;
      failed_ = true;
    }
    link_.Wake();
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<avcv::TranscodeControl> ctl_;
  JsLink<TranscodeJob> link_;
  std::thread thread_;
  std::shared_ptr<TranscodeJob> self_;
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
  opts.reader = readerOptions(env, info[0]);
  opts.writer = writerOptions(env, info[1]);
  transcodeHow(env, info[2], &opts);
  auto ctl = std::make_shared<avcv::TranscodeControl>();
  std::shared_ptr<TranscodeJob> job = TranscodeJob::Start(env, std::move(opts), ctl);
  Napi::Object out = Napi::Object::New(env);
  out.Set("promise", job->Promise());
  out.Set("progress", Napi::Function::New(
                          env,
                          [ctl](const Napi::CallbackInfo& i) -> Napi::Value {
                            return Napi::Number::New(i.Env(), static_cast<double>(ctl->frames.load()));
                          },
                          "progress"));
  out.Set("cancel", Napi::Function::New(
                        env,
                        [ctl](const Napi::CallbackInfo& i) -> Napi::Value {
                          ctl->cancel();
                          return i.Env().Undefined();
                        },
                        "cancel"));
  return out;
}

}  // namespace avcvjs
