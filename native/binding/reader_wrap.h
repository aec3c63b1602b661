#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "../core/video_reader.h"
#include "common.h"
#include "js_link.h"

namespace avcvjs {

// One VideoReader plus its own pipeline thread. The thread decodes and
// converts into JS-owned buffers ("slots") that JS lends with push(); next()
// hands back filled slots in display order. The thread never runs ahead of
// the slots it was lent, so memory is bounded by prefetch.
class ReaderWrap : public Napi::ObjectWrap<ReaderWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ReaderWrap(const Napi::CallbackInfo& info);
  ~ReaderWrap() override;
  // Environment teardown (worker termination, exit): stop the thread first.
  void EnvTeardown();
  void Drain(Napi::Env env);  // JS thread: settle the pending next()

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Index(const Napi::CallbackInfo& info);
  Napi::Value FrameAt(const Napi::CallbackInfo& info);
  Napi::Value LoadIndex(const Napi::CallbackInfo& info);
  avcv::VideoReader& RandomAccess();  // worker thread, raMu_ held

  void Run();         // pipeline thread body
  void StopThread();  // signal + join (blocking)
  void ReleaseJs(Napi::Env env, const ErrorInfo& why);

  JsLink<ReaderWrap> link_;
  std::unique_ptr<avcv::VideoReader> reader_;
  // random access: a second core reader of the same source, used by pool
  // workers one at a time (raMu_), so the sequential pipeline is undisturbed
  std::mutex raMu_;
  std::unique_ptr<avcv::VideoReader> ra_;
  std::atomic<avcv::VideoReader*> raPtr_{nullptr};
  std::atomic<bool> raClosing_{false};
  // the random-access reader's cancel flag, set by close: it interrupts that
  // reader's own open and index scan too, not only what follows them
  std::shared_ptr<std::atomic<bool>> raCancel_ = std::make_shared<std::atomic<bool>>(false);
  struct SavedIndex {
    std::vector<avcv::IndexEntry> packets;
    std::vector<avcv::DecodedFrame> frames;
    bool haveFrames = false;
  };
  std::shared_ptr<SavedIndex> preloaded_;  // a saved index, set before first use
  std::thread thread_;

  struct Slot {
    uint8_t* data;
    uint32_t id;
  };
  struct Ready {
    Slot slot;
    avcv::FrameMeta meta;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot> free_;
  std::deque<Ready> ready_;
  bool stopping_ = false;
  bool eof_ = false;
  int64_t dropped_ = 0;  // frames the live queue policy dropped (under mu_)
  std::optional<ErrorInfo> error_;

  // JS thread only
  std::unordered_map<uint32_t, Napi::Reference<Napi::Uint8Array>> refs_;
  uint32_t nextSlotId_ = 1;
  std::optional<Napi::Promise::Deferred> pending_;
  bool closed_ = false;
  bool closing_ = false;
};

Napi::Value OpenReader(const Napi::CallbackInfo& info);

}  // namespace avcvjs
