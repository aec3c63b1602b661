// transcode(): the whole decode -> encode job on its own thread; JS polls
// progress() and may cancel(); environment teardown cancels it.
#include <memory>
#include <thread>

#include "../core/transcode.h"
#include "common.h"
#include "options.h"
#include "results.h"

namespace avcvjs {

namespace {

// One transcode on its own thread (not the libuv pool: Node waits for pool
// work before it runs env cleanup hooks, so a pool job could not be
// cancelled at worker termination). The thread settles the promise through
// a ThreadSafeFunction, which is ref'd while the job runs; an env cleanup
// hook cancels and joins the thread at teardown, after which nothing touches
// JS. `self_` keeps the job alive until one of the two has joined the thread.
class TranscodeJob {
 public:
  static std::shared_ptr<TranscodeJob> Start(Napi::Env env, avcv::TranscodeOptions opts,
                                             std::shared_ptr<avcv::TranscodeControl> ctl) {
    std::shared_ptr<TranscodeJob> job(new TranscodeJob(env, std::move(ctl)));
    job->self_ = job;
    job->tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                               "avcv.transcode", 0, 1);
    napi_add_env_cleanup_hook(env, &TranscodeJob::Hook, job.get());
    job->thread_ = std::thread([j = job.get(), opts = std::move(opts)] { j->Run(opts); });
    return job;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  TranscodeJob(Napi::Env env, std::shared_ptr<avcv::TranscodeControl> ctl)
      : env_(env), deferred_(Napi::Promise::Deferred::New(env)), ctl_(std::move(ctl)) {}

  void Run(const avcv::TranscodeOptions& opts) {  // the job's thread
    if (auto e = catchErrors([&] { result_ = avcv::transcode(opts, *ctl_); })) {
      err_ = *e;
      failed_ = true;
    }
    std::shared_ptr<TranscodeJob> keep = self_;  // set before the thread started; reset only after a join
    tsfn_.NonBlockingCall([keep](Napi::Env env, Napi::Function) {
      if (env && !keep->tornDown_) keep->Complete(env);
    });
  }

  void Complete(Napi::Env env) {  // JS thread
    if (thread_.joinable()) thread_.join();
    napi_remove_env_cleanup_hook(env_, &TranscodeJob::Hook, this);
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
    tsfn_.Release();
    self_.reset();  // may destroy this: last
  }

  static void Hook(void* p) {  // environment teardown
    auto* job = static_cast<TranscodeJob*>(p);
    job->tornDown_ = true;
    job->ctl_->cancel();
    if (job->thread_.joinable()) job->thread_.join();
    job->self_.reset();  // Node releases the TSFN itself
  }

  napi_env env_;
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<avcv::TranscodeControl> ctl_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::shared_ptr<TranscodeJob> self_;
  avcv::TranscodeResult result_;
  ErrorInfo err_;
  bool failed_ = false;
  bool tornDown_ = false;
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
