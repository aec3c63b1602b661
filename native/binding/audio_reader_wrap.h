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

#include "../core/audio_reader.h"
#include "common.h"
#include "js_link.h"

namespace avcvjs {

// One AudioReader plus its own pipeline thread, as ReaderWrap: the thread
// decodes, resamples and converts chunks straight into JS-owned buffers that
// JS lends with push(); next() hands back filled chunks in order. range()
// (samplesAt, readAll) runs on the libuv pool against a second core reader of
// the same source, so sequential reading is undisturbed.
class AudioReaderWrap : public Napi::ObjectWrap<AudioReaderWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit AudioReaderWrap(const Napi::CallbackInfo& info);
  ~AudioReaderWrap() override;
  void EnvTeardown();
  void Drain(Napi::Env env);  // JS thread: settle the pending next()

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Range(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  avcv::AudioReader& RandomAccess(int64_t first);  // pool thread, raMu_ held

  void Run();
  void StopThread();
  void Interrupt();  // stops the thread's reader and the random-access one
  void ReleaseJs(Napi::Env env, const ErrorInfo& why);
  size_t ChunkBytes() const;

  JsLink<AudioReaderWrap> link_;
  std::unique_ptr<avcv::AudioReader> reader_;
  std::mutex raMu_;
  std::unique_ptr<avcv::AudioReader> ra_;
  std::atomic<bool> raClosing_{false};
  std::shared_ptr<std::atomic<bool>> raCancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;

  struct Slot {
    uint8_t* data;
    uint32_t id;
  };
  struct Ready {
    Slot slot;
    avcv::AudioChunkMeta meta;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot> free_;
  std::deque<Ready> ready_;
  bool stopping_ = false;
  bool eof_ = false;
  std::optional<ErrorInfo> error_;

  // JS thread only
  std::unordered_map<uint32_t, Napi::Reference<Napi::Uint8Array>> refs_;
  uint32_t nextSlotId_ = 1;
  std::optional<Napi::Promise::Deferred> pending_;
  bool closed_ = false;
  bool closing_ = false;
};

// openAudioReader(options) -> {promise, cancel()}
Napi::Value OpenAudioReader(const Napi::CallbackInfo& info);
Napi::Value MeasureAudio(const Napi::CallbackInfo& info);

}  // namespace avcvjs
