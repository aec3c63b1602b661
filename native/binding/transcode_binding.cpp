// transcode(): the whole decode -> encode job on its own thread; JS polls
// progress() and may cancel(); environment teardown cancels it. remux():
// the same for a packet copy.
#include <memory>

#include "../core/ladder.h"
#include "../core/remux.h"
#include "../core/stitch.h"
#include "../core/transcode.h"
#include "common.h"
#include "options.h"
#include "results.h"
#include "thread_job.h"

namespace avcvjs {

namespace {

// {promise, progress(), cancel()} over a running job and its control block.
template <class Result, class Ctl, class Progress>
Napi::Object jobObject(Napi::Env env, const std::shared_ptr<ThreadJob<Result>>& job, const std::shared_ptr<Ctl>& ctl,
                       Progress progress) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("promise", job->Promise());
  out.Set("progress",
          Napi::Function::New(
              env, [ctl, progress](const Napi::CallbackInfo& i) -> Napi::Value { return progress(i.Env(), *ctl); },
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
  auto job = ThreadJob<avcv::TranscodeResult>::Start(
      env, "avcv.transcode", [opts = std::move(opts), ctl] { return avcv::transcode(opts, *ctl); }, transcodeResultToJs,
      [ctl] { ctl->cancel(); });
  return jobObject(env, job, ctl, [](Napi::Env e, const avcv::TranscodeControl& c) -> Napi::Value {
    return Napi::Number::New(e, static_cast<double>(c.frames.load()));
  });
}

Napi::Value Remux(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "remux(options)");
  avcv::RemuxOptions opts = remuxOptions(env, info[0]);
  auto ctl = std::make_shared<avcv::RemuxControl>();
  auto toJs = [](Napi::Env env, const avcv::RemuxResult& r) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("duration", r.duration);
    o.Set("packets", Napi::Number::New(env, static_cast<double>(r.packets)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
    o.Set("dropped", Napi::Number::New(env, static_cast<double>(r.dropped)));
    o.Set("reconnects", Napi::Number::New(env, static_cast<double>(r.reconnects)));
    o.Set("loops", Napi::Number::New(env, static_cast<double>(r.loops)));
    Napi::Array streams = Napi::Array::New(env, r.streams.size());
    for (size_t i = 0; i < r.streams.size(); i++) streams.Set(static_cast<uint32_t>(i), r.streams[i]);
    o.Set("streams", streams);
    o.Set("disconnected", r.disconnected.empty() ? env.Null() : Napi::String::New(env, r.disconnected));
    return o;
  };
  auto job = ThreadJob<avcv::RemuxResult>::Start(
      env, "avcv.remux", [opts = std::move(opts), ctl] { return avcv::remux(opts, *ctl); }, toJs,
      [ctl] { ctl->cancel(); });
  Napi::Object out = jobObject(env, job, ctl, [](Napi::Env e, const avcv::RemuxControl& c) -> Napi::Value {
    Napi::Object p = Napi::Object::New(e);
    p.Set("seconds", c.seconds.load());
    p.Set("packets", Napi::Number::New(e, static_cast<double>(c.packets.load())));
    p.Set("reconnects", Napi::Number::New(e, static_cast<double>(c.reconnects.load())));
    return p;
  });
  out.Set("stop", Napi::Function::New(
                      env,
                      [ctl](const Napi::CallbackInfo& i) -> Napi::Value {
                        ctl->stop();
                        return i.Env().Undefined();
                      },
                      "stop"));
  return out;
}

Napi::Value Stitch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject())
    throw Napi::TypeError::New(env, "stitch(writerOptions, {pieces, starts, end})");
  avcv::StitchOptions opts = stitchOptions(env, info[0], info[1]);
  auto ctl = std::make_shared<avcv::StitchControl>();
  auto toJs = [](Napi::Env env, const avcv::StitchResult& r) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("packets", Napi::Number::New(env, static_cast<double>(r.packets)));
    o.Set("audioPackets", Napi::Number::New(env, static_cast<double>(r.audioPackets)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
    o.Set("videoDuration", r.videoDuration);
    o.Set("audioDuration", r.audioDuration);
    o.Set("audioMode", r.audioMode);
    o.Set("audioCodec", r.audioCodec);
    o.Set("codec", r.codec);
    return o;
  };
  auto job = ThreadJob<avcv::StitchResult>::Start(
      env, "avcv.stitch", [opts = std::move(opts), ctl] { return avcv::stitch(opts, *ctl); }, toJs,
      [ctl] { ctl->cancel(); });
  return jobObject(env, job, ctl, [](Napi::Env e, const avcv::StitchControl& c) -> Napi::Value {
    return Napi::Number::New(e, static_cast<double>(c.packets.load()));
  });
}

Napi::Value Ladder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "ladder(readerOptions, renditions, {segmentDuration, audio})");
  avcv::LadderOptions opts = ladderOptions(env, info[0], info[1], info[2]);
  auto ctl = std::make_shared<avcv::TranscodeControl>();
  auto job = ThreadJob<avcv::LadderResult>::Start(
      env, "avcv.ladder", [opts = std::move(opts), ctl] { return avcv::ladder(opts, *ctl); }, ladderResultToJs,
      [ctl] { ctl->cancel(); });
  return jobObject(env, job, ctl, [](Napi::Env e, const avcv::TranscodeControl& c) -> Napi::Value {
    return Napi::Number::New(e, static_cast<double>(c.frames.load()));
  });
}

}  // namespace avcvjs
