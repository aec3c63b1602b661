#include "reader_wrap.h"

#include "addon_data.h"
#include "results.h"

#include <functional>

namespace avcvjs {

Napi::Function ReaderWrap::Init(Napi::Env env) {
  return DefineClass(
      env, "NativeReader",
      {InstanceMethod<&ReaderWrap::Info>("info"), InstanceMethod<&ReaderWrap::Push>("push"),
       InstanceMethod<&ReaderWrap::Next>("next"), InstanceMethod<&ReaderWrap::Close>("close"),
       InstanceMethod<&ReaderWrap::Stats>("stats"), InstanceMethod<&ReaderWrap::Index>("index"),
       InstanceMethod<&ReaderWrap::FrameAt>("frameAt"), InstanceMethod<&ReaderWrap::LoadIndex>("loadIndex")});
}

ReaderWrap::ReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReaderWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, "NativeReader is created by openReader()").ThrowAsJavaScriptException();
    return;
  }
  reader_.reset(info[0].As<Napi::External<avcv::VideoReader>>().Data());
  link_.Start(env, this, "avcv.reader");
  thread_ = std::thread([this] { Run(); });
}

void ReaderWrap::EnvTeardown() {
  StopThread();
  link_.TornDown();
}

ReaderWrap::~ReaderWrap() {
  StopThread();
  link_.Dispose();
  refs_.clear();
  reader_.reset();
}

void ReaderWrap::StopThread() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  if (reader_) reader_->interrupt();
  raClosing_ = true;
  raCancel_->store(true);
  if (avcv::VideoReader* ra = raPtr_.load()) ra->interrupt();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lk(raMu_);  // a random access in flight finishes (interrupted) first
  raPtr_ = nullptr;
  ra_.reset();
}

void ReaderWrap::Run() {
  // a live queue policy other than "block" never waits for the consumer: a
  // frame it has not taken yet gives its slot to the next one
  const std::string& queue = reader_->options().input.live.queue;
  const bool drops = reader_->options().input.live.enabled && queue != "block";
  const bool latest = drops && queue == "latest";
  for (;;) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !free_.empty() || (drops && !ready_.empty()); });
      if (stopping_) return;
      if (!free_.empty()) {
        slot = free_.front();
        free_.pop_front();
      } else {
        slot = ready_.front().slot;
        ready_.pop_front();
        dropped_++;
      }
    }
    avcv::FrameMeta meta;
    bool got = false;
    std::optional<ErrorInfo> err;
    try {
      got = reader_->next(slot.data, &meta);
    } catch (const avcv::Error& e) {
      err = toInfo(e);
    } catch (const std::exception& e) {
      err = ErrorInfo{"INTERNAL", e.what(), 0};
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return;
      if (err) {
        error_ = err;
        free_.push_front(slot);
      } else if (!got) {
        eof_ = true;
        free_.push_front(slot);
      } else {
        if (latest) {  // only the newest frame waits for the consumer
          dropped_ += static_cast<int64_t>(ready_.size());
          for (const Ready& r : ready_) free_.push_back(r.slot);
          ready_.clear();
        }
        ready_.push_back({slot, meta});
      }
    }
    link_.Wake();
    if (err || !got) return;
  }
}

void ReaderWrap::Drain(Napi::Env env) {
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
    d.Resolve(metaToJs(env, r->meta, data));
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

Napi::Value ReaderWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reader_ || closing_ || closed_) return env.Null();
  return readerInfoToJs(env, *reader_);
}

Napi::Value ReaderWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reader_ || closing_ || closed_) return readerStatsToJs(env, avcv::ReaderStats(), avcv::ReaderStats());
  avcv::VideoReader* ra = raPtr_.load();
  avcv::ReaderStats s = reader_->stats();
  {
    std::lock_guard<std::mutex> lk(mu_);
    s.dropped = dropped_;
  }
  return readerStatsToJs(env, s, ra ? ra->stats() : avcv::ReaderStats());
}

Napi::Value ReaderWrap::Push(const Napi::CallbackInfo& info) {
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
  const size_t room = arr.ArrayBuffer().ByteLength() - arr.ByteOffset();
  if (arr.ByteLength() != reader_->output().bytes || room < arr.ByteLength() + avcv::kDstPadding) {
    Napi::RangeError::New(env, "push(): buffer has " + std::to_string(arr.ByteLength()) + " bytes, the frame needs " +
                                   std::to_string(reader_->output().bytes) + " with " +
                                   std::to_string(avcv::kDstPadding) + " bytes of padding after it in its ArrayBuffer")
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

Napi::Value ReaderWrap::Next(const Napi::CallbackInfo& info) {
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
  if (pending_) link_.Hold(env);  // keep the process alive while a read is outstanding
  return d.Promise();
}

void ReaderWrap::ReleaseJs(Napi::Env env, const ErrorInfo& why) {
  if (pending_) {
    Napi::Promise::Deferred d = *pending_;
    pending_.reset();
    d.Reject(makeError(env, why).Value());
  }
  refs_.clear();
  link_.Release(env);
}

Napi::Value ReaderWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  closing_ = true;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  if (reader_) reader_->interrupt();
  raClosing_ = true;
  raCancel_->store(true);
  if (avcv::VideoReader* ra = raPtr_.load()) ra->interrupt();
  cv_.notify_all();
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto* worker = new PromiseWorker(
      env,
      [this] {
        if (thread_.joinable()) thread_.join();
        {
          std::lock_guard<std::mutex> lk(raMu_);
          raPtr_ = nullptr;
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

// loadIndex({pts, dts, pos, key, discard}, frames?: {packet, pts, key}):
// decode-order packets of a saved index, and its frames when it was built by
// decoding.
Napi::Value ReaderWrap::LoadIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "loadIndex(packets, frames?)");
  Napi::Object o = info[0].As<Napi::Object>();
  auto f64 = [&](Napi::Object from, const char* name, size_t n) {
    Napi::Value v = from.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        (n != SIZE_MAX && v.As<Napi::Float64Array>().ElementLength() != n))
      throw Napi::TypeError::New(env,
                                 std::string("loadIndex: ") + name + " must be a Float64Array of the right length");
    return v.As<Napi::Float64Array>();
  };
  auto u8 = [&](Napi::Object from, const char* name, size_t n) {
    Napi::Value v = from.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        v.As<Napi::Uint8Array>().ElementLength() != n)
      throw Napi::TypeError::New(env, std::string("loadIndex: ") + name + " must be a Uint8Array of the right length");
    return v.As<Napi::Uint8Array>();
  };
  Napi::Float64Array pts = f64(o, "pts", SIZE_MAX);
  const size_t n = pts.ElementLength();
  Napi::Float64Array dts = f64(o, "dts", n), pos = f64(o, "pos", n);
  Napi::Uint8Array key = u8(o, "key", n), discard = u8(o, "discard", n);
  auto index = std::make_shared<SavedIndex>();
  index->packets.resize(n);
  for (size_t i = 0; i < n; i++) {
    avcv::IndexEntry& e = index->packets[i];
    e.pts = static_cast<int64_t>(pts[i]);
    e.dts = static_cast<int64_t>(dts[i]);
    e.pos = static_cast<int64_t>(pos[i]);
    e.key = key[i] != 0;
    e.discard = discard[i] != 0;
  }
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object fo = info[1].As<Napi::Object>();
    Napi::Float64Array fp = f64(fo, "packet", SIZE_MAX);
    const size_t m = fp.ElementLength();
    Napi::Float64Array fpts = f64(fo, "pts", m);
    Napi::Uint8Array fkey = u8(fo, "key", m), fdamaged = u8(fo, "damaged", m);
    index->haveFrames = true;
    index->frames.resize(m);
    for (size_t j = 0; j < m; j++)
      index->frames[j] = {static_cast<int64_t>(fp[j]), static_cast<int64_t>(fpts[j]), fkey[j] != 0, fdamaged[j] != 0};
  }
  std::lock_guard<std::mutex> lk(raMu_);
  if (ra_) ra_->loadIndex(index->packets, index->frames, index->haveFrames);
  preloaded_ = index;
  return env.Undefined();
}

avcv::VideoReader& ReaderWrap::RandomAccess() {
  if (!ra_) {
    if (raClosing_) throw avcv::Error("CLOSED", "the reader is closed");
    ra_ = avcv::VideoReader::open(reader_->options(), raCancel_);
    if (preloaded_) ra_->loadIndex(preloaded_->packets, preloaded_->frames, preloaded_->haveFrames);
    raPtr_ = ra_.get();
    if (raClosing_) ra_->interrupt();
  }
  return *ra_;
}

Napi::Value ReaderWrap::Index(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_ || !reader_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, {"CLOSED", "the reader is closed", 0}).Value());
    return d.Promise();
  }
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto result = std::make_shared<avcv::FrameIndex>();
  auto tb = std::make_shared<avcv::Rational>();
  auto* worker = new PromiseWorker(
      env,
      [this, result, tb] {
        std::lock_guard<std::mutex> lk(raMu_);
        avcv::VideoReader& ra = RandomAccess();
        *result = ra.index();
        *tb = ra.stream().timeBase;
      },
      [self, result, tb](Napi::Env env) -> Napi::Value {
        self->Reset();
        return indexToJs(env, *result, *tb);
      });
  worker->Queue();
  return worker->Promise();
}

Napi::Value ReaderWrap::FrameAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || closing_ || !reader_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, {"CLOSED", "the reader is closed", 0}).Value());
    return d.Promise();
  }
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray())
    throw Napi::TypeError::New(env, "frameAt(index, buffer)");
  const int64_t i = info[0].As<Napi::Number>().Int64Value();
  // frameAt(i, buffer, approxPts?): with a pts, approximate mode (no index)
  const bool approx = info.Length() > 2 && info[2].IsNumber();
  const int64_t approxPts = approx ? info[2].As<Napi::Number>().Int64Value() : 0;
  Napi::Uint8Array arr = info[1].As<Napi::Uint8Array>();
  const size_t room = arr.ArrayBuffer().ByteLength() - arr.ByteOffset();
  if (arr.ByteLength() != reader_->output().bytes || room < arr.ByteLength() + avcv::kDstPadding)
    throw Napi::RangeError::New(env,
                                "frameAt(): the buffer must have exactly the frame's bytes and padding after them");
  uint8_t* dst = arr.Data();
  auto keep = std::make_shared<Napi::Reference<Napi::Uint8Array>>(Napi::Persistent(arr));
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto meta = std::make_shared<avcv::FrameMeta>();
  auto* worker = new PromiseWorker(
      env,
      [this, i, dst, meta, approx, approxPts] {
        std::lock_guard<std::mutex> lk(raMu_);
        if (approx) RandomAccess().frameAtPts(approxPts, i, dst, meta.get());
        else RandomAccess().frameAt(i, dst, meta.get());
      },
      [self, keep, meta](Napi::Env env) -> Napi::Value {
        Napi::Value data = keep->Value();
        keep->Reset();
        self->Reset();
        return metaToJs(env, *meta, data);
      });
  worker->Queue();
  return worker->Promise();
}

}  // namespace avcvjs
