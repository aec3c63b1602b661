// A whole job (transcode, remux) on its own thread, settling one promise.
// Not the libuv pool: Node waits for pool work before it runs env cleanup
// hooks, so a pool job could not be cancelled at worker termination. The
// lifetime rules are JsLink's, as for the reader and writer wraps: the link is
// held while the job runs (JS awaits its promise), the thread wakes the JS
// thread to settle it, and the env cleanup hook cancels and joins the thread
// at teardown, after which nothing touches JS. `self_` keeps the job alive
// until one of the two has joined the thread.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <thread>

#include "common.h"
#include "js_link.h"

namespace avcvjs {

template <class Result>
class ThreadJob {
 public:
  using Work = std::function<Result()>;  // the job's thread; throws avcv::Error
  using ToJs = std::function<Napi::Value(Napi::Env, const Result&)>;

  static std::shared_ptr<ThreadJob> Start(Napi::Env env, const char* name, Work work, ToJs toJs,
                                          std::function<void()> cancel) {
    std::shared_ptr<ThreadJob> job(new ThreadJob(env, std::move(toJs), std::move(cancel)));
    job->self_ = job;
    job->link_.Start(env, job.get(), name);
    job->link_.Hold(env);
    job->thread_ = std::thread([j = job.get(), work = std::move(work)] { j->Run(work); });
    return job;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Drain(Napi::Env env) {  // JS thread, woken by Run() when the job ends
    if (thread_.joinable()) thread_.join();
    try {
      if (failed_) deferred_.Reject(makeError(env, err_).Value());
      else deferred_.Resolve(toJs_(env, result_));
    } catch (...) {
      try {  // a result that did not convert still settles the promise
        deferred_.Reject(Napi::Error::New(env, "avcv: the job's result could not be returned").Value());
      } catch (...) {
        // the environment is stopping: nothing can observe the promise
      }
    }
    link_.Release(env);
    link_.Dispose();  // the cleanup hook is not needed any more
    self_.reset();    // may destroy this: last
  }

  void EnvTeardown() {  // environment teardown
    cancel_();
    if (thread_.joinable()) thread_.join();
    link_.TornDown();
    self_.reset();
  }

 private:
  ThreadJob(Napi::Env env, ToJs toJs, std::function<void()> cancel)
      : deferred_(Napi::Promise::Deferred::New(env)), toJs_(std::move(toJs)), cancel_(std::move(cancel)) {}

  void Run(const Work& work) {  // the job's thread
    if (auto e = catchErrors([&] { result_ = work(); })) {
      err_ = *e;
      failed_ = true;
    }
    link_.Wake();
  }

  Napi::Promise::Deferred deferred_;
  ToJs toJs_;
  std::function<void()> cancel_;
  JsLink<ThreadJob> link_;
  std::thread thread_;
  std::shared_ptr<ThreadJob> self_;
  Result result_;
  ErrorInfo err_;
  bool failed_ = false;
};

}  // namespace avcvjs
