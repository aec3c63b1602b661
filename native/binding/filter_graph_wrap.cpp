// NativeFilterGraph: a core FilterGraph that JS pushes frames into and pulls
// frames from. Bytes are copied into libav buffers on the JS thread (the
// graph may keep frames); filtering runs on the libuv pool, one call at a
// time per graph (lib/ queues them in order; a mutex guards the graph too).
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../core/filter_graph.h"
#include "../core/image.h"
#include "common.h"
#include "options.h"

extern "C" {
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
}

namespace avcvjs {
namespace {

struct PadSpec {
  avcv::FilterPad pad;
  avcv::ImageDesc image;  // video inputs: the tight layout JS frames have
};

struct State {
  std::mutex mu;
  std::unique_ptr<avcv::FilterGraph> graph;
  std::vector<PadSpec> inputs;
};

AVSampleFormat sampleFormat(const std::string& format, const std::string& layout) {
  const bool planar = layout == "planar";
  if (format == "s16") return planar ? AV_SAMPLE_FMT_S16P : AV_SAMPLE_FMT_S16;
  return planar ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT;
}

PadSpec inputSpec(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "input");
  PadSpec s;
  avcv::FilterPad& p = s.pad;
  const std::string type = f.str("type");
  const Napi::Object tb = f.obj("timeBase");
  p.timeBase = {tb.Get("num").As<Napi::Number>().Int32Value(), tb.Get("den").As<Napi::Number>().Int32Value()};
  if (type == "video") {
    avcv::PixFmt fmt;
    if (!avcv::parsePixFmt(f.str("format"), &fmt)) f.fail("format", "an avcv pixel format");
    avcv::Layout layout;
    if (!avcv::parseLayout(f.str("layout"), &layout)) f.fail("layout", "hwc or planar");
    s.image = avcv::describeImage(fmt, layout, f.integer("width"), f.integer("height"));
    p.type = AVMEDIA_TYPE_VIDEO;
    p.format = s.image.avFormat;
    p.width = s.image.width;
    p.height = s.image.height;
    p.sar = {1, 1};
    const Napi::Object fr = f.obj("frameRate");
    p.frameRate = {fr.Get("num").As<Napi::Number>().Int32Value(), fr.Get("den").As<Napi::Number>().Int32Value()};
  } else {
    p.type = AVMEDIA_TYPE_AUDIO;
    p.format = sampleFormat(f.str("format"), f.str("layout"));
    p.sampleRate = f.integer("sampleRate");
    p.channels = f.integer("channels");
    AVChannelLayout l{};
    av_channel_layout_default(&l, p.channels);
    char buf[128];
    av_channel_layout_describe(&l, buf, sizeof buf);
    p.channelLayout = buf;
  }
  return s;
}

// {name, args} of the filter that ends output i in the format JS asked for
std::pair<std::string, std::string> outputTail(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "output");
  const std::string type = f.str("type");
  if (type == "video") {
    avcv::PixFmt fmt;
    if (!avcv::parsePixFmt(f.str("format"), &fmt)) f.fail("format", "an avcv pixel format");
    const avcv::Layout l = avcv::isPlanarYuv(fmt) ? avcv::Layout::PLANAR : avcv::Layout::HWC;
    return {"format", std::string("pix_fmts=") + av_get_pix_fmt_name(avcv::describeImage(fmt, l, 2, 2).avFormat)};
  }
  return {"aformat",
          std::string("sample_fmts=") + av_get_sample_fmt_name(sampleFormat(f.str("format"), f.str("layout")))};
}

Napi::Value rational(Napi::Env env, AVRational r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("num", r.num);
  o.Set("den", r.den);
  return o;
}

Napi::Object padToJs(Napi::Env env, const avcv::FilterPad& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", p.type == AVMEDIA_TYPE_VIDEO ? "video" : "audio");
  o.Set("timeBase", rational(env, p.timeBase));
  if (p.type == AVMEDIA_TYPE_VIDEO) {
    o.Set("width", p.width);
    o.Set("height", p.height);
    o.Set("frameRate", rational(env, p.frameRate));
  } else {
    o.Set("sampleRate", p.sampleRate);
    o.Set("channels", p.channels);
  }
  return o;
}

class FilterGraphWrap : public Napi::ObjectWrap<FilterGraphWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeFilterGraph",
        {InstanceMethod<&FilterGraphWrap::Push>("push"), InstanceMethod<&FilterGraphWrap::Pull>("pull"),
         InstanceMethod<&FilterGraphWrap::Info>("info"), InstanceMethod<&FilterGraphWrap::Close>("close")});
  }

  // new NativeFilterGraph(graph, inputs, outputs, {allowNestedInputs, threads})
  explicit FilterGraphWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FilterGraphWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsObject())
      throw Napi::TypeError::New(env, "NativeFilterGraph(graph, inputs, outputs, options)");
    const std::string desc = info[0].As<Napi::String>();
    Napi::Array ins = info[1].As<Napi::Array>(), outs = info[2].As<Napi::Array>();
    Fields o(env, info[3], "options");
    avcv::FilterGraphOptions go;
    go.where = "FilterGraph";
    go.allowNestedInputs = o.boolean("allowNestedInputs");
    go.threads = o.integer("threads");
    std::vector<avcv::FilterPad> pads;
    for (uint32_t i = 0; i < ins.Length(); i++) {
      state_->inputs.push_back(inputSpec(env, ins.Get(i)));
      pads.push_back(state_->inputs.back().pad);
    }
    for (uint32_t i = 0; i < outs.Length(); i++) go.tail.push_back({outputTail(env, outs.Get(i))});
    if (auto e = catchErrors([&] {
          state_->graph = std::make_unique<avcv::FilterGraph>(desc, pads, static_cast<int>(outs.Length()), go);
        }))
      throw makeError(env, *e);
  }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> lk(state_->mu);
    if (!state_->graph) return env.Null();
    Napi::Array outs = Napi::Array::New(env);
    for (int i = 0; i < state_->graph->outputCount(); i++) {
      const avcv::FilterPad& p = state_->graph->output(i);
      Napi::Object o = padToJs(env, p);
      const char* name = p.type == AVMEDIA_TYPE_VIDEO ? av_get_pix_fmt_name(static_cast<AVPixelFormat>(p.format))
                                                      : av_get_sample_fmt_name(static_cast<AVSampleFormat>(p.format));
      o.Set("libavFormat", name ? name : "");
      outs.Set(i, o);
    }
    return outs;
  }

  // push(input, bytes | null, pts, samples) -> Promise<void>
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int input = info[0].As<Napi::Number>().Int32Value();
    auto st = state_;
    if (!st->graph) throw makeError(env, {"CLOSED", "the filter graph is closed", 0});
    if (input < 0 || input >= static_cast<int>(st->inputs.size()))
      throw Napi::RangeError::New(env, "input out of range");
    std::shared_ptr<AVFrame> frame;
    if (!info[1].IsNull()) {
      Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
      const int64_t pts = static_cast<int64_t>(info[2].As<Napi::Number>().Int64Value());
      frame.reset(av_frame_alloc(), [](AVFrame* f) { av_frame_free(&f); });
      const PadSpec& s = st->inputs[input];
      if (auto e = catchErrors([&] {
            if (s.pad.type == AVMEDIA_TYPE_VIDEO) avcv::fillVideoFrame(frame.get(), data.Data(), s.image, pts);
            else avcv::fillAudioFrame(frame.get(), data.Data(), info[3].As<Napi::Number>().Int32Value(), s.pad, pts);
          }))
        throw makeError(env, *e);
    }
    auto* w = new PromiseWorker(
        env,
        [st, frame, input] {
          std::lock_guard<std::mutex> lk(st->mu);
          if (!st->graph) throw avcv::Error("CLOSED", "the filter graph is closed");
          st->graph->push(frame.get(), input);
        },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    w->Queue();
    return w->Promise();
  }

  // pull(output) -> Promise<{data, pts, samples?} | 'again' | 'end'>
  Napi::Value Pull(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int output = info[0].As<Napi::Number>().Int32Value();
    auto st = state_;
    if (!st->graph) throw makeError(env, {"CLOSED", "the filter graph is closed", 0});
    if (output < 0 || output >= st->graph->outputCount()) throw Napi::RangeError::New(env, "output out of range");
    struct Got {
      std::vector<uint8_t> bytes;
      int64_t pts = 0;
      int samples = 0, width = 0, height = 0;
      int state = 0;  // 0 frame, 1 again, 2 end
    };
    auto got = std::make_shared<Got>();
    auto* w = new PromiseWorker(
        env,
        [st, got, output] {
          std::lock_guard<std::mutex> lk(st->mu);
          if (!st->graph) throw avcv::Error("CLOSED", "the filter graph is closed");
          avcv::FramePtr f(av_frame_alloc());
          bool ended = false;
          if (!st->graph->pull(f.get(), output, &ended)) {
            got->state = ended ? 2 : 1;
            return;
          }
          const AVMediaType type = st->graph->output(output).type;
          got->bytes = avcv::packFrame(f.get(), type);
          got->pts = f->pts;
          got->samples = f->nb_samples;
          got->width = f->width;
          got->height = f->height;
        },
        [got](Napi::Env env) -> Napi::Value {
          if (got->state == 1) return Napi::String::New(env, "again");
          if (got->state == 2) return Napi::String::New(env, "end");
          Napi::Object o = Napi::Object::New(env);
          o.Set("data", Napi::Buffer<uint8_t>::Copy(env, got->bytes.data(), got->bytes.size()));
          o.Set("pts", Napi::Number::New(env, static_cast<double>(got->pts)));
          o.Set("samples", got->samples);
          o.Set("width", got->width);
          o.Set("height", got->height);
          return o;
        });
    w->Queue();
    return w->Promise();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lk(state_->mu);  // waits for a call in progress
    state_->graph.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace

Napi::Function InitFilterGraph(Napi::Env env) { return FilterGraphWrap::Init(env); }

}  // namespace avcvjs
