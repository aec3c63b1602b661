#include "options.h"

#include <algorithm>

namespace avcvjs {

Fields::Fields(Napi::Env env, Napi::Value v, std::string what) : env_(env), what_(std::move(what)) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, what_ + " must be an object");
  o_ = v.As<Napi::Object>();
}

void Fields::fail(const char* key, const char* want) const {
  throw Napi::TypeError::New(env_, what_ + "." + key + " must be " + want + " (lib/ sends every option)");
}

Napi::Value Fields::raw(const char* key) const { return o_.Get(key); }

std::string Fields::str(const char* key) const {
  Napi::Value v = o_.Get(key);
  if (!v.IsString()) fail(key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

double Fields::num(const char* key) const {
  Napi::Value v = o_.Get(key);
  if (!v.IsNumber()) fail(key, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

int Fields::integer(const char* key) const {
  const double d = num(key);
  if (d != static_cast<double>(static_cast<int>(d))) fail(key, "an integer");
  return static_cast<int>(d);
}

bool Fields::boolean(const char* key) const {
  Napi::Value v = o_.Get(key);
  if (!v.IsBoolean()) fail(key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Object Fields::obj(const char* key) const {
  Napi::Value v = o_.Get(key);
  if (!v.IsObject()) fail(key, "an object");
  return v.As<Napi::Object>();
}

bool Fields::isNull(const char* key) const { return o_.Get(key).IsNull(); }

namespace {

std::vector<std::string> strings(const Fields& f, const char* key) {
  Napi::Value v = f.raw(key);
  if (!v.IsArray()) f.fail(key, "an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) f.fail(key, "an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::map<std::string, std::string> dict(const Fields& f, const char* key) {
  Napi::Object m = f.obj(key);
  std::map<std::string, std::string> out;
  Napi::Array keys = m.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = m.Get(k);
    if (!v.IsString()) f.fail(key, "an object of strings");
    out[k] = v.As<Napi::String>().Utf8Value();
  }
  return out;
}

avcv::Rational rational(Napi::Env env, const Fields& f, const char* key) {
  Fields r(env, f.obj(key), key);
  return {r.integer("num"), r.integer("den")};
}

avcv::PixFmt pixFmt(const Fields& f, const char* key) {
  avcv::PixFmt p;
  if (!avcv::parsePixFmt(f.str(key), &p)) f.fail(key, "an avcv pixel format");
  return p;
}

avcv::Layout layout(const Fields& f, const char* key) {
  avcv::Layout l;
  if (!avcv::parseLayout(f.str(key), &l)) f.fail(key, "'hwc', 'chw' or 'planar'");
  return l;
}

}  // namespace

avcv::InputOptions inputOptions(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "input");
  avcv::InputOptions in;
  in.source = f.str("source");
  in.protocols = strings(f, "protocols");
  in.allowNestedInputs = f.boolean("allowNestedInputs");
  in.format = f.str("inputFormat");  // '' = probe
  if (!f.isNull("live")) {
    Fields l(env, f.obj("live"), "live");
    in.live.enabled = true;
    in.live.openTimeout = l.num("openTimeout");
    in.live.stallTimeout = l.num("stallTimeout");
    in.live.probeDuration = l.num("probeDuration");
    in.live.transport = l.str("transport");
    const double attempts = l.num("attempts");
    in.live.attempts = attempts < 0 ? -1 : static_cast<int>(attempts);
    in.live.delay = l.num("delay");
    in.live.maxDelay = l.num("maxDelay");
    in.live.queue = l.str("queue");
    in.live.listen = l.boolean("listen");
    if (in.live.queue != "block" && in.live.queue != "dropOldest" && in.live.queue != "latest")
      l.fail("queue", "'block', 'dropOldest' or 'latest'");
  }
  return in;
}

avcv::ReaderOptions readerOptions(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "reader");
  avcv::ReaderOptions r;
  r.input = inputOptions(env, v);
  r.stream = f.integer("stream");
  r.threads = f.integer("threads");
  r.format = pixFmt(f, "format");
  r.layout = layout(f, "layout");
  r.width = f.integer("width");
  r.height = f.integer("height");
  if (!f.isNull("crop")) {
    Fields c(env, f.obj("crop"), "crop");
    r.crop = {c.integer("x"), c.integer("y"), c.integer("width"), c.integer("height")};
  }
  r.interpolation = f.str("interpolation");
  r.quality = f.str("quality");
  r.autorotate = f.boolean("autorotate");
  const std::string onCorrupt = f.str("onCorrupt");
  if (onCorrupt != "skip" && onCorrupt != "error") f.fail("onCorrupt", "'skip' or 'error'");
  r.corruptIsError = onCorrupt == "error";
  r.device = f.str("device");
  r.filter = f.str("filter");
  return r;
}

avcv::AudioReaderOptions audioReaderOptions(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "audioReader");
  avcv::AudioReaderOptions a;
  a.input = inputOptions(env, v);
  a.stream = f.integer("stream");
  a.sampleRate = f.integer("sampleRate");
  a.channels = f.integer("channels");
  if (a.sampleRate < 0 || a.sampleRate > 768000 || a.channels < 0 || a.channels > 64)
    throw Napi::RangeError::New(env, "sampleRate or channels out of range");
  const std::string format = f.str("format");
  if (format != "f32" && format != "s16") f.fail("format", "'f32' or 's16'");
  a.s16 = format == "s16";
  const std::string layout = f.str("layout");
  if (layout != "interleaved" && layout != "planar") f.fail("layout", "'interleaved' or 'planar'");
  a.planar = layout == "planar";
  a.start = f.num("start");
  a.end = f.isNull("end") ? -1 : f.num("end");
  a.chunkSamples = f.integer("chunkSamples");
  if (a.chunkSamples < 1 || a.chunkSamples > (1 << 20)) throw Napi::RangeError::New(env, "chunkSamples out of range");
  const std::string onCorrupt = f.str("onCorrupt");
  if (onCorrupt != "skip" && onCorrupt != "error") f.fail("onCorrupt", "'skip' or 'error'");
  a.corruptIsError = onCorrupt == "error";
  a.filter = f.str("filter");
  return a;
}

avcv::WriterOptions writerOptions(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "writer");
  avcv::WriterOptions w;
  w.path = f.str("path");
  w.container = f.str("container");
  w.width = f.integer("width");
  w.height = f.integer("height");
  w.fps = rational(env, f, "fps");
  w.timeBase = rational(env, f, "timeBase");  // {0, 1}: 1/fps (or the source's when transcoding)
  w.codec = f.str("codec");
  w.crf = f.integer("crf");                            // -1: none
  w.bitrate = static_cast<int64_t>(f.num("bitrate"));  // 0: none
  w.rateControl = f.str("rateControl");                // '': as crf/bitrate say
  w.preset = f.str("preset");
  w.profile = f.str("profile");
  w.tune = f.str("tune");
  w.gop = f.integer("gop");  // -1: the encoder's
  w.threads = f.integer("threads");
  w.codecOptions = dict(f, "codecOptions");
  w.pixelFormat = f.str("pixelFormat");
  w.inputFormat = pixFmt(f, "inputFormat");
  w.inputLayout = layout(f, "inputLayout");
  w.faststart = f.boolean("faststart");
  w.protocols = strings(f, "protocols");
  {
    Napi::Object m = f.obj("muxerOptions");
    Napi::Array keys = m.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      const std::string k = keys.Get(i).As<Napi::String>();
      w.muxerOptions[k] = m.Get(k).As<Napi::String>().Utf8Value();
    }
  }
  w.metadata = dict(f, "metadata");
  Fields a(env, f.obj("audio"), "audio");
  w.audio.mode = a.str("mode");
  w.audio.source.source = a.str("source");  // '' with mode 'none'
  w.audio.source.protocols = strings(a, "protocols");
  w.audio.source.format = a.str("inputFormat");
  w.audio.shift = a.num("shift");
  w.audio.start = a.num("start");
  w.audio.filter = a.str("filter");  // '' = none
  w.audio.source.allowNestedInputs = a.boolean("allowNestedInputs");
  Fields l(env, f.obj("live"), "live");  // network targets: enabled, with timeouts
  w.live.enabled = l.boolean("enabled");
  w.live.openTimeout = l.num("openTimeout");
  w.live.stallTimeout = l.num("stallTimeout");
  w.live.attempts = l.integer("attempts");
  w.live.delay = l.num("delay");
  w.live.maxDelay = l.num("maxDelay");
  return w;
}

avcv::RemuxOptions remuxOptions(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "remux");
  avcv::RemuxOptions r;
  r.input = inputOptions(env, f.obj("input"));
  r.path = f.str("path");
  r.protocols = strings(f, "protocols");
  r.container = f.str("container");
  r.duration = f.num("duration");
  r.realtime = f.boolean("realtime");
  r.loop = f.boolean("loop");
  r.openTimeout = f.num("openTimeout");
  r.stallTimeout = f.num("stallTimeout");
  return r;
}

avcv::StitchOptions stitchOptions(Napi::Env env, Napi::Value writer, Napi::Value how) {
  avcv::StitchOptions s;
  s.out = writerOptions(env, writer);
  Fields f(env, how, "stitch");
  s.pieces = strings(f, "pieces");
  Napi::Value v = f.raw("starts");
  if (!v.IsArray()) f.fail("starts", "an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) f.fail("starts", "an array of integers");
    s.starts.push_back(e.As<Napi::Number>().Int64Value());
  }
  s.end = f.num("end");
  return s;
}

avcv::LadderOptions ladderOptions(Napi::Env env, Napi::Value reader, Napi::Value renditions, Napi::Value how) {
  avcv::LadderOptions l;
  l.reader = readerOptions(env, reader);
  if (!renditions.IsArray()) throw Napi::TypeError::New(env, "ladder: renditions must be an array of writer options");
  Napi::Array a = renditions.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) l.renditions.push_back(writerOptions(env, a.Get(i)));
  Fields f(env, how, "ladder");
  l.segmentDuration = f.num("segmentDuration");
  Napi::Value caps = f.raw("maxFps");
  if (!caps.IsArray()) f.fail("maxFps", "an array of numbers (0: no cap)");
  for (uint32_t i = 0; i < caps.As<Napi::Array>().Length(); i++) {
    Napi::Value c = caps.As<Napi::Array>().Get(i);
    if (!c.IsNumber()) f.fail("maxFps", "an array of numbers (0: no cap)");
    l.maxFps.push_back(c.As<Napi::Number>().DoubleValue());
  }
  if (!f.isNull("audio")) {
    Fields au(env, f.obj("audio"), "ladder.audio");
    avcv::WriterOptions& w = l.audio;
    w.path = au.str("path");
    w.container = "hls";
    w.muxerOptions = dict(au, "muxerOptions");
    w.audio.mode = "encode";
    w.audio.bestOnly = true;
    w.audio.source.source = au.str("source");
    w.audio.source.protocols = strings(au, "protocols");
    w.audio.source.format = au.str("inputFormat");
    w.audio.source.allowNestedInputs = au.boolean("allowNestedInputs");
    w.audio.bitrate = static_cast<int64_t>(au.num("bitrate"));
    w.audio.channels = au.integer("channels");
  }
  return l;
}

void transcodeHow(Napi::Env env, Napi::Value v, avcv::TranscodeOptions* out) {
  Fields f(env, v, "transcode");
  out->passthrough = f.integer("passthrough");
  out->cfr = f.boolean("cfr");
}

avcv::ImageDesc imageDesc(Napi::Env env, Napi::Value v) {
  Fields f(env, v, "image");
  const avcv::PixFmt p = pixFmt(f, "format");
  const avcv::Layout l = layout(f, "layout");
  try {
    return avcv::describeImage(p, l, f.integer("width"), f.integer("height"));
  } catch (const avcv::Error& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

avcv::TensorSpec tensorSpec(Napi::Env env, Napi::Value img, Napi::Value opts) {
  Fields i(env, img, "image");
  Fields o(env, opts, "tensor");
  avcv::TensorSpec s;
  s.format = pixFmt(i, "format");
  s.layout = layout(i, "layout");
  s.width = i.integer("width");
  s.height = i.integer("height");
  if (s.width <= 0 || s.height <= 0 || s.width > 16384 || s.height > 16384)
    throw Napi::RangeError::New(env, "image size out of range");
  s.chw = o.str("layout") == "chw";
  s.float32 = o.str("dtype") == "float32";
  s.rgb = o.str("channelOrder") == "rgb";
  s.scale = static_cast<float>(o.num("scale"));
  auto three = [&](const char* key, float* out) {
    Napi::Value v = o.raw(key);
    if (!v.IsArray() || v.As<Napi::Array>().Length() < 1) o.fail(key, "1 to 3 numbers (one per channel)");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t k = 0; k < 3; k++) out[k] = a.Get(std::min(k, a.Length() - 1)).As<Napi::Number>().FloatValue();
  };
  three("mean", s.mean);
  three("std", s.std);
  return s;
}

}  // namespace avcvjs
