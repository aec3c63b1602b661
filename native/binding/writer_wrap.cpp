#include "writer_wrap.h"

#include "addon_data.h"

namespace avcvjs {

Napi::Object writerStatsToJs(Napi::Env env, const avcv::WriterStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("frames", Napi::Number::New(env, static_cast<double>(s.framesWritten)));
  o.Set("packets", Napi::Number::New(env, static_cast<double>(s.packetsWritten)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(s.bytes)));
  o.Set("audioPackets", Napi::Number::New(env, static_cast<double>(s.audioPackets)));
  o.Set("encoder", s.encoder);
  o.Set("pixelFormat", s.pixelFormat);
  o.Set("audioMode", s.audioMode);
  o.Set("audioCodec", s.audioCodec.empty() ? env.Null() : Napi::String::New(env, s.audioCodec));
  o.Set("videoDuration", s.videoDuration);
  o.Set("audioDuration", s.audioDuration);
  return o;
}

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
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_.push_back(d);
    }
    link_.Wake();
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
      def.Resolve(writerStatsToJs(env, writer_->stats()));
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
  if (!writer_) return Napi::Object::New(env);
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

avcv::WriterOptions writerOptions(Napi::Env env, const Napi::Object& o) {
  avcv::WriterOptions w;
  w.path = getString(o, "path", "");
  w.container = getString(o, "container", "");
  w.width = getInt(o, "width", 0);
  w.height = getInt(o, "height", 0);
  auto rational = [&](const char* key) {
    avcv::Rational r{0, 1};
    Napi::Value v = o.Get(key);
    if (v.IsObject()) {
      r.num = getInt(v.As<Napi::Object>(), "num", 0);
      r.den = getInt(v.As<Napi::Object>(), "den", 1);
    }
    return r;
  };
  w.fps = rational("fps");
  w.timeBase = rational("timeBase");
  w.codec = getString(o, "codec", "");
  w.crf = getInt(o, "crf", -1);
  w.rateControl = getString(o, "rateControl", "");
  Napi::Value br = o.Get("bitrate");
  w.bitrate = br.IsNumber() ? br.As<Napi::Number>().Int64Value() : 0;
  w.preset = getString(o, "preset", "");
  w.profile = getString(o, "profile", "");
  w.tune = getString(o, "tune", "");
  w.gop = getInt(o, "gop", -1);
  w.threads = getInt(o, "threads", 0);
  w.pixelFormat = getString(o, "pixelFormat", "yuv420p");
  if (!avcv::parsePixFmt(getString(o, "inputFormat", "bgr24"), &w.inputFormat))
    throw Napi::TypeError::New(env, "unknown inputFormat");
  if (!avcv::parseLayout(getString(o, "inputLayout", avcv::isPlanarYuv(w.inputFormat) ? "planar" : "hwc"),
                         &w.inputLayout))
    throw Napi::TypeError::New(env, "unknown inputLayout");
  w.faststart = getBool(o, "faststart", false);
  auto dict = [&](const char* key, std::map<std::string, std::string>& out) {
    Napi::Value v = o.Get(key);
    if (!v.IsObject()) return;
    Napi::Object m = v.As<Napi::Object>();
    Napi::Array keys = m.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      out[k] = m.Get(k).ToString().Utf8Value();
    }
  };
  dict("codecOptions", w.codecOptions);
  dict("metadata", w.metadata);
  Napi::Value a = o.Get("audio");
  if (a.IsObject()) {
    Napi::Object ao = a.As<Napi::Object>();
    w.audio.mode = getString(ao, "mode", "none");
    w.audio.source.source = getString(ao, "source", "");
    w.audio.source.format = getString(ao, "inputFormat", "");
    Napi::Value p = ao.Get("protocols");
    if (p.IsArray()) {
      w.audio.source.protocols.clear();
      Napi::Array arr = p.As<Napi::Array>();
      for (uint32_t i = 0; i < arr.Length(); i++) w.audio.source.protocols.push_back(arr.Get(i).ToString().Utf8Value());
    }
    Napi::Value sh = ao.Get("shift");
    if (sh.IsNumber()) w.audio.shift = sh.As<Napi::Number>().DoubleValue();
    Napi::Value st = ao.Get("start");
    if (st.IsNumber()) w.audio.start = st.As<Napi::Number>().DoubleValue();
  }
  return w;
}

Napi::Value OpenWriter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "openWriter(options)");
  avcv::WriterOptions w = writerOptions(env, info[0].As<Napi::Object>());
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
