#include "options.h"
#include "results.h"
#include "writer_wrap.h"

#include "addon_data.h"

namespace avcvjs {

Napi::Function WriterWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeWriter",
                     {InstanceMethod<&WriterWrap::Write>("write"), InstanceMethod<&WriterWrap::Finish>("finish"),
                      InstanceMethod<&WriterWrap::Abort>("abort"), InstanceMethod<&WriterWrap::Stats>("stats")});
}

WriterWrap::WriterWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WriterWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, "NativeWriter is created by openWriter()").ThrowAsJavaScriptException();
    return;
  }
  writer_.reset(info[0].As<Napi::External<avcv::VideoWriter>>().Data());
  link_.Start(env, this, "avcv.writer");
  thread_ = std::thread([this] { Run(); });
}

void WriterWrap::EnvTeardown() {
  StopThread();
  link_.TornDown();
  writer_.reset();  // an unfinished output is removed
}

WriterWrap::~WriterWrap() {
  StopThread();
  link_.Dispose();
  keep_.clear();
  writer_.reset();  // a dropped, unfinished writer leaves no file behind
}

void WriterWrap::StopThread() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    if (writer_) writer_->interrupt();  // a network write waiting on a server ends now
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WriterWrap::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    Done d{job.id, job.finish, std::nullopt};
    bool encode = false;
    if (failed_) {
      d.error = failed_;
    } else {
      try {
        if (job.finish) writer_->finish();
        else {
          writer_->convert(job.data, job.pts);
          encode = true;
        }
      } catch (const avcv::Error& e) {
        d.error = toInfo(e);
      } catch (const std::exception& e) {
        d.error = ErrorInfo{"INTERNAL", e.what(), 0};
      }
      // a bad argument (e.g. a non-increasing pts) fails that write only
      if (d.error && d.error->code != "INVALID_ARGUMENT") failed_ = d.error;
    }
    const bool finished = job.finish && !d.error;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (finished) {
        // close() frees the encoder, its threads and the muxer now, not when
        // the JS object is collected; the stats stay
        finalStats_ = writer_->stats();
        writer_.reset();
      }
      done_.push_back(d);
    }
    link_.Wake();
    if (finished) return;  // nothing can follow a finished file
    if (encode) {
      try {
        writer_->encodeConverted();
      } catch (const avcv::Error& e) {
        failed_ = toInfo(e);
      } catch (const std::exception& e) {
        failed_ = ErrorInfo{"INTERNAL", e.what(), 0};
      }
    }
  }
}

void WriterWrap::Drain(Napi::Env env) {
  std::deque<Done> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    done.swap(done_);
  }
  for (const Done& d : done) {
    keep_.erase(d.id);
    auto it = deferreds_.find(d.id);
    if (it == deferreds_.end()) continue;
    Napi::Promise::Deferred def = it->second;
    deferreds_.erase(it);
    if (d.error) def.Reject(makeError(env, *d.error).Value());
    else if (d.finish) {
      closed_ = true;
      std::optional<avcv::WriterStats> st;
      {
        std::lock_guard<std::mutex> lk(mu_);
        st = finalStats_;
      }
      def.Resolve(writerStatsToJs(env, st ? *st : avcv::WriterStats()));
    } else def.Resolve(env.Undefined());
  }
  if (deferreds_.empty()) link_.Unhold(env);
}

Napi::Promise WriterWrap::Enqueue(Napi::Env env, const uint8_t* data, int64_t pts, bool finish, Napi::Value keep) {
  auto d = Napi::Promise::Deferred::New(env);
  const uint64_t id = nextId_++;
  deferreds_.emplace(id, d);
  if (!keep.IsEmpty() && !keep.IsUndefined()) keep_.emplace(id, Napi::Persistent(keep));
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back({id, data, pts, finish});
  }
  cv_.notify_one();
  link_.Hold(env);  // keep the process alive while work is outstanding
  return d.Promise();
}

Napi::Value WriterWrap::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || finishing_ || !writer_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, {"CLOSED", "the writer is closed", 0}).Value());
    return d.Promise();
  }
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "write(data: Uint8Array, pts: number)");
  Napi::Uint8Array arr = info[0].As<Napi::Uint8Array>();
  if (arr.ByteLength() != writer_->input().bytes)
    throw Napi::RangeError::New(env, "frame data has " + std::to_string(arr.ByteLength()) +
                                         " bytes; the writer takes " + std::to_string(writer_->input().bytes));
  const int64_t pts = info[1].As<Napi::Number>().Int64Value();
  return Enqueue(env, arr.Data(), pts, false, arr);
}

Napi::Value WriterWrap::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || finishing_ || !writer_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, {"CLOSED", "the writer is closed", 0}).Value());
    return d.Promise();
  }
  finishing_ = true;
  return Enqueue(env, nullptr, 0, true, Napi::Value());
}

void WriterWrap::RejectAll(Napi::Env env, const ErrorInfo& why) {
  for (auto& kv : deferreds_) kv.second.Reject(makeError(env, why).Value());
  deferreds_.clear();
  keep_.clear();
}

Napi::Value WriterWrap::Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  finishing_ = true;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    if (writer_) writer_->interrupt();  // a network write waiting on a server ends now
  }
  cv_.notify_all();
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  auto* worker = new PromiseWorker(
      env,
      [this] {
        if (thread_.joinable()) thread_.join();  // waits for the frame being encoded
        writer_.reset();                         // closes and removes an unfinished output
      },
      [this, self](Napi::Env env) -> Napi::Value {
        RejectAll(env, {"ABORTED", "the writer was aborted", 0});
        closed_ = true;
        link_.Release(env);
        self->Reset();
        return env.Undefined();
      });
  worker->Queue();
  return worker->Promise();
}

Napi::Value WriterWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lk(mu_);
  if (finalStats_) return writerStatsToJs(env, *finalStats_);
  if (!writer_) return writerStatsToJs(env, avcv::WriterStats());
  return writerStatsToJs(env, writer_->stats());
}

// chooseEncoder(codecName, device) -> {encoder, device}: the encoder a writer
// uses on that device (core's policy); throws {code: UNSUPPORTED_CODEC | NO_DEVICE}.
Napi::Value ChooseEncoder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "chooseEncoder(codecName, device)");
  try {
    const avcv::EncoderChoice c =
        avcv::chooseEncoder(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    Napi::Object o = Napi::Object::New(env);
    o.Set("encoder", c.encoder);
    o.Set("device", deviceToJs(env, c.device));
    return o;
  } catch (const avcv::Error& e) {
    throw makeError(env, toInfo(e));
  }
}

Napi::Value OpenWriter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "openWriter(options)");
  avcv::WriterOptions w = writerOptions(env, info[0]);
  if (w.fps.num <= 0 || w.fps.den <= 0) throw Napi::RangeError::New(env, "fps must be positive");
  auto holder = std::make_shared<std::unique_ptr<avcv::VideoWriter>>();
  auto* worker = new PromiseWorker(
      env, [w, holder] { *holder = avcv::VideoWriter::open(w); },
      [holder](Napi::Env env) -> Napi::Value {
        AddonData* data = env.GetInstanceData<AddonData>();
        avcv::VideoWriter* raw = holder->release();
        return data->writerCtor.New({Napi::External<avcv::VideoWriter>::New(env, raw)});
      });
  worker->Queue();
  return worker->Promise();
}

}  // namespace avcvjs
