#include "audio_reader_wrap.h"

#include <cmath>
#include <cstring>

#include "addon_data.h"
#include "options.h"
#include "results.h"

namespace avcvjs {

Napi::Function AudioReaderWrap::Init(Napi::Env env) {
  return DefineClass(
      env, "NativeAudioReader",
      {InstanceMethod<&AudioReaderWrap::Info>("info"), InstanceMethod<&AudioReaderWrap::Push>("push"),
       InstanceMethod<&AudioReaderWrap::Next>("next"), InstanceMethod<&AudioReaderWrap::Range>("range"),
       InstanceMethod<&AudioReaderWrap::Close>("close"), InstanceMethod<&AudioReaderWrap::Stats>("stats")});
}

AudioReaderWrap::AudioReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AudioReaderWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, "NativeAudioReader is created by openAudioReader()").ThrowAsJavaScriptException();
    return;
  }
  reader_.reset(info[0].As<Napi::External<avcv::AudioReader>>().Data());
  link_.Start(env, this, "avcv.audio");
  thread_ = std::thread([this] { Run(); });
}

void AudioReaderWrap::EnvTeardown() {
  StopThread();
  link_.TornDown();
}

AudioReaderWrap::~AudioReaderWrap() {
  StopThread();
  link_.Dispose();
  refs_.clear();
  reader_.reset();
}

void AudioReaderWrap::Interrupt() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  if (reader_) reader_->interrupt();
  raClosing_ = true;
  raCancel_->store(true);  // the random-access reader's flag: its open and reads stop too
  cv_.notify_all();
}

void AudioReaderWrap::StopThread() {
  Interrupt();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lk(raMu_);  // a range in flight finishes (interrupted) first
  ra_.reset();
}

size_t AudioReaderWrap::ChunkBytes() const {
  return static_cast<size_t>(reader_->options().chunkSamples) * reader_->channels() * reader_->bytesPerSample();
}

void AudioReaderWrap::Run() {
  for (;;) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || !free_.empty(); });
      if (stopping_) return;
      slot = free_.front();
      free_.pop_front();
    }
    avcv::AudioChunkMeta meta;
    int64_t got = 0;
    std::optional<ErrorInfo> err = catchErrors([&] { got = reader_->next(slot.data, &meta); });
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return;
      if (err) {
        error_ = err;
        free_.push_front(slot);
      } else if (got == 0) {
        eof_ = true;
        free_.push_front(slot);
      } else {
        ready_.push_back({slot, meta});
      }
    }
    link_.Wake();
    if (err || got == 0) return;
  }
}

void AudioReaderWrap::Drain(Napi::Env env) {
  if (!pending_) return;
  std::optional<Ready> r;
  std::optional<ErrorInfo> err;
  bool eof = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!ready_.empty()) {
      r = ready_.front();
      ready_.pop_front();
    } else if (error_) {
      err = error_;
    } else {
      eof = eof_;
    }
  }
  Napi::Promise::Deferred d = *pending_;
  if (r) {
    auto it = refs_.find(r->slot.id);
    Napi::Value data = it != refs_.end() ? it->second.Value() : env.Undefined();
    if (it != refs_.end()) refs_.erase(it);
    pending_.reset();
    d.Resolve(audioChunkToJs(env, r->meta, data));
  } else if (err) {
    pending_.reset();
    d.Reject(makeError(env, *err).Value());
  } else if (eof) {
    pending_.reset();
    d.Resolve(env.Null());
  } else {
    return;
  }
  link_.Unhold(env);
}

Napi::Value AudioReaderWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reader_ || closing_ || closed_) return env.Null();
  return audioInfoToJs(env, *reader_);
}

Napi::Value AudioReaderWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reader_ || closing_ || closed_) return audioStatsToJs(env, avcv::AudioStats());
  return audioStatsToJs(env, reader_->stats());
}

Napi::Value AudioReaderWrap::Push(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_ || !reader_) {
    makeError(env, {"CLOSED", "the reader is closed", 0}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "push() takes a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array arr = info[0].As<Napi::Uint8Array>();
  if (arr.ByteLength() != ChunkBytes() || arr.ByteOffset() % 4 != 0) {
    Napi::RangeError::New(env, "push(): buffer has " + std::to_string(arr.ByteLength()) + " bytes, a chunk needs " +
                                   std::to_string(ChunkBytes()) + " (4-byte aligned)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t id = nextSlotId_++;
  refs_.emplace(id, Napi::Persistent(arr));
  {
    std::lock_guard<std::mutex> lk(mu_);
    free_.push_back({arr.Data(), id});
  }
  cv_.notify_one();
  return env.Undefined();
}

Napi::Value AudioReaderWrap::Next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  if (closed_ || closing_) {
    d.Reject(makeError(env, {"CLOSED", "the reader is closed", 0}).Value());
    return d.Promise();
  }
  if (pending_) {
    d.Reject(makeError(env, {"BUSY", "a read is already pending on this reader", 0}).Value());
    return d.Promise();
  }
  pending_ = d;
  Drain(env);
  if (pending_) link_.Hold(env);
  return d.Promise();
}

// The random-access reader, positioned at or before output sample `first`:
// reopened (decoding from the stream's start again) when it is past it.
avcv::AudioReader& AudioReaderWrap::RandomAccess(int64_t first) {
  if (raClosing_) throw avcv::Error("CLOSED", "the reader is closed");
  if (!ra_ || ra_->position() > first) {
    ra_.reset();
    avcv::AudioReaderOptions o = reader_->options();
    o.start = 0;
    o.end = -1;
    ra_ = avcv::AudioReader::open(o, raCancel_);
  }
  return *ra_;
}

// range(startSeconds, endSeconds (< 0 or Infinity: to the end), maxValues)
Napi::Value AudioReaderWrap::Range(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_ || !reader_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, {"CLOSED", "the reader is closed", 0}).Value());
    return d.Promise();
  }
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "range(start, end, maxValues)");
  const double start = info[0].As<Napi::Number>().DoubleValue();
  const double end = info[1].As<Napi::Number>().DoubleValue();
  const double maxValues = info[2].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(start) || !(maxValues >= 1)) throw Napi::RangeError::New(env, "range(): bad start or maxValues");
  const int64_t first = reader_->sampleAt(start);
  const int64_t last = std::isfinite(end) && end >= 0 ? std::max(first, reader_->sampleAt(end)) : -1;
  const int64_t max = static_cast<int64_t>(std::min(maxValues, 9.0e15));
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto block = std::make_shared<avcv::AudioBlock>();
  auto* worker = new PromiseWorker(
      env,
      [this, first, last, max, block] {
        std::lock_guard<std::mutex> lk(raMu_);
        RandomAccess(first).readRange(first, last, max, block.get());
      },
      [self, block](Napi::Env env) -> Napi::Value {
        self->Reset();
        size_t bytes = 0;
        for (const auto& p : block->planes) bytes += p.size();
        Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
        size_t off = 0;
        for (const auto& p : block->planes) {
          if (!p.empty()) std::memcpy(static_cast<uint8_t*>(ab.Data()) + off, p.data(), p.size());
          off += p.size();
        }
        block->planes.clear();
        return audioChunkToJs(env, block->meta, Napi::Uint8Array::New(env, bytes, ab, 0));
      });
  worker->Queue();
  return worker->Promise();
}

void AudioReaderWrap::ReleaseJs(Napi::Env env, const ErrorInfo& why) {
  if (pending_) {
    Napi::Promise::Deferred d = *pending_;
    pending_.reset();
    d.Reject(makeError(env, why).Value());
  }
  refs_.clear();
  link_.Release(env);
}

Napi::Value AudioReaderWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  closing_ = true;
  Interrupt();
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto* worker = new PromiseWorker(
      env,
      [this] {
        if (thread_.joinable()) thread_.join();
        {
          std::lock_guard<std::mutex> lk(raMu_);
          ra_.reset();
        }
        reader_.reset();  // avformat_close_input may do I/O: off the event loop
      },
      [this, self](Napi::Env env) -> Napi::Value {
        ReleaseJs(env, {"CLOSED", "the reader was closed", 0});
        closed_ = true;
        self->Reset();
        return env.Undefined();
      });
  worker->Queue();
  return worker->Promise();
}

Napi::Value OpenAudioReader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "openAudioReader(options)");
  avcv::AudioReaderOptions opts = audioReaderOptions(env, info[0]);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto holder = std::make_shared<std::unique_ptr<avcv::AudioReader>>();
  auto* w = new PromiseWorker(
      env, [opts, holder, cancel] { *holder = avcv::AudioReader::open(opts, cancel); },
      [holder](Napi::Env env) -> Napi::Value {
        AddonData* data = env.GetInstanceData<AddonData>();
        avcv::AudioReader* raw = holder->release();
        return data->audioReaderCtor.New({Napi::External<avcv::AudioReader>::New(env, raw)});
      });
  w->Queue();
  return cancellable(env, w->Promise(), cancel);
}

// measureAudio(options) -> {promise of the text the options' filter graph
// logged at info level, cancel()}: see avcv::measureWithFilter.
Napi::Value MeasureAudio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "measureAudio(options)");
  avcv::AudioReaderOptions opts = audioReaderOptions(env, info[0]);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto text = std::make_shared<std::string>();
  auto* w = new PromiseWorker(
      env, [opts, text, cancel] { *text = avcv::measureWithFilter(opts, cancel); },
      [text](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *text); });
  w->Queue();
  return cancellable(env, w->Promise(), cancel);
}

}  // namespace avcvjs
