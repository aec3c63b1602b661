#include "results.h"

#include <functional>

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace avcvjs {
namespace {

Napi::Value rational(Napi::Env env, const avcv::Rational& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("num", r.num);
  o.Set("den", r.den);
  return o;
}

Napi::Object tagsToJs(Napi::Env env, const std::map<std::string, std::string>& tags) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& kv : tags) o.Set(kv.first, kv.second);
  return o;
}

Napi::Value numOrNull(Napi::Env env, bool has, double v) { return has ? Napi::Number::New(env, v) : env.Null(); }

Napi::Float64Array f64Of(Napi::Env env, size_t n, const std::function<double(size_t)>& at) {
  Napi::Float64Array a = Napi::Float64Array::New(env, n);
  for (size_t i = 0; i < n; i++) a[i] = at(i);
  return a;
}

Napi::Uint8Array u8Of(Napi::Env env, size_t n, const std::function<bool(size_t)>& at) {
  Napi::Uint8Array a = Napi::Uint8Array::New(env, n);
  for (size_t i = 0; i < n; i++) a[i] = at(i) ? 1 : 0;
  return a;
}

Napi::Value orNull(Napi::Env env, const std::string& s) { return s.empty() ? env.Null() : Napi::String::New(env, s); }

Napi::Value count(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

}  // namespace

Napi::Object streamToJs(Napi::Env env, const avcv::StreamProbe& s) {
  Napi::Object o = Napi::Object::New(env);
  auto name = [&](const std::string& v) -> Napi::Value { return v.empty() ? env.Null() : Napi::String::New(env, v); };
  o.Set("index", s.index);
  o.Set("type", name(s.type));
  o.Set("codec", name(s.codec));
  o.Set("codecLongName", s.codecLongName);
  o.Set("profile", s.profile.empty() ? env.Null() : Napi::String::New(env, s.profile));
  o.Set("bitRate", s.bitRate > 0 ? Napi::Number::New(env, static_cast<double>(s.bitRate)) : env.Null());
  o.Set("timeBase", rational(env, s.timeBase));
  o.Set("startTime", numOrNull(env, s.hasStartTime, s.startTime));
  o.Set("duration", numOrNull(env, s.hasDuration, s.duration));
  o.Set("nbFrames", s.nbFrames > 0 ? Napi::Number::New(env, static_cast<double>(s.nbFrames)) : env.Null());
  o.Set("tags", tagsToJs(env, s.tags));
  if (s.type == "video") {
    o.Set("width", s.width);
    o.Set("height", s.height);
    o.Set("pixelFormat", name(s.pixelFormat));
    o.Set("bitDepth", s.bitDepth);
    o.Set("colorRange", name(s.colorRange));
    o.Set("colorSpace", name(s.colorSpace));
    o.Set("colorPrimaries", name(s.colorPrimaries));
    o.Set("colorTransfer", name(s.colorTransfer));
    o.Set("avgFrameRate", rational(env, s.avgFrameRate));
    o.Set("baseFrameRate", rational(env, s.baseFrameRate));
    o.Set("sampleAspectRatio", rational(env, s.sampleAspectRatio));
    o.Set("rotation", numOrNull(env, s.hasRotation, s.rotation));
    o.Set("frameCount", s.frameCount > 0 ? Napi::Number::New(env, static_cast<double>(s.frameCount)) : env.Null());
    o.Set("frameCountExact", s.frameCountExact);
  } else if (s.type == "audio") {
    o.Set("sampleRate", s.sampleRate);
    o.Set("channels", s.channels);
    o.Set("channelLayout", s.channelLayout.empty() ? env.Null() : Napi::String::New(env, s.channelLayout));
    o.Set("sampleFormat", name(s.sampleFormat));
  }
  return o;
}

Napi::Object probeToJs(Napi::Env env, const avcv::ProbeResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("format", r.formatName);
  o.Set("formatLongName", r.formatLongName);
  o.Set("duration", numOrNull(env, r.hasDuration, r.duration));
  o.Set("startTime", numOrNull(env, r.hasStartTime, r.startTime));
  o.Set("bitRate", r.bitRate > 0 ? Napi::Number::New(env, static_cast<double>(r.bitRate)) : env.Null());
  o.Set("size", r.size >= 0 ? Napi::Number::New(env, static_cast<double>(r.size)) : env.Null());
  o.Set("tags", tagsToJs(env, r.tags));
  Napi::Array streams = Napi::Array::New(env, r.streams.size());
  for (size_t i = 0; i < r.streams.size(); i++) streams.Set(static_cast<uint32_t>(i), streamToJs(env, r.streams[i]));
  o.Set("streams", streams);
  return o;
}

Napi::Object deviceToJs(Napi::Env env, const avcv::DeviceChoice& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", d.type);
  if (d.type == "cuda") o.Set("index", d.index);
  if (!d.fallbackReason.empty()) o.Set("fallbackReason", d.fallbackReason);
  return o;
}

Napi::Object metaToJs(Napi::Env env, const avcv::FrameMeta& m, Napi::Value data) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("pts", Napi::Number::New(env, static_cast<double>(m.pts)));
  o.Set("time", Napi::Number::New(env, m.time));
  o.Set("rawTime", Napi::Number::New(env, m.rawTime));
  o.Set("duration", Napi::Number::New(env, static_cast<double>(m.duration)));
  o.Set("durationSeconds", Napi::Number::New(env, m.durationSeconds));
  o.Set("index", Napi::Number::New(env, static_cast<double>(m.index)));
  o.Set("keyframe", Napi::Boolean::New(env, m.keyframe));
  o.Set("corrupt", Napi::Boolean::New(env, m.corrupt));
  o.Set("discontinuity", Napi::Boolean::New(env, m.discontinuity));
  o.Set("receivedAt", Napi::Number::New(env, m.receivedAt));
  return o;
}

Napi::Object readerInfoToJs(Napi::Env env, const avcv::VideoReader& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("container", probeToJs(env, r.container()));
  o.Set("stream", streamToJs(env, r.stream()));
  o.Set("decoder", Napi::String::New(env, r.decoderName()));
  o.Set("rotation", Napi::Number::New(env, r.rotation()));
  o.Set("device", deviceToJs(env, r.device()));
  const avcv::ImageDesc& d = r.output();
  Napi::Object out = Napi::Object::New(env);
  out.Set("width", d.width);
  out.Set("height", d.height);
  out.Set("format", avcv::pixFmtName(r.options().format));
  out.Set("layout", avcv::layoutName(r.options().layout));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(d.bytes)));
  out.Set("padding", Napi::Number::New(env, static_cast<double>(avcv::kDstPadding)));
  o.Set("output", out);
  const avcv::Rect c = r.effectiveCrop();
  Napi::Object crop = Napi::Object::New(env);
  crop.Set("x", c.x);
  crop.Set("y", c.y);
  crop.Set("width", c.width);
  crop.Set("height", c.height);
  o.Set("crop", crop);
  const avcv::FilterPad* g = r.filtered();
  if (!g) {
    o.Set("filter", env.Null());
  } else {
    Napi::Object f = Napi::Object::New(env);
    f.Set("width", g->width);
    f.Set("height", g->height);
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(g->format));
    f.Set("format", name ? name : "");
    f.Set("timeBase", rational(env, {g->timeBase.num, g->timeBase.den}));
    f.Set("frameRate", rational(env, {g->frameRate.num, g->frameRate.den}));
    f.Set("notPerFrame", r.filterNotPerFrame());
    o.Set("filter", f);
  }
  return o;
}

Napi::Object audioChunkToJs(Napi::Env env, const avcv::AudioChunkMeta& m, Napi::Value data) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("samples", count(env, m.samples));
  o.Set("index", count(env, m.index));
  o.Set("pts", count(env, m.pts));
  o.Set("time", Napi::Number::New(env, m.time));
  return o;
}

Napi::Object audioInfoToJs(Napi::Env env, const avcv::AudioReader& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("container", probeToJs(env, r.container()));
  o.Set("stream", streamToJs(env, r.stream()));
  o.Set("decoder", Napi::String::New(env, r.decoderName()));
  o.Set("sampleRate", r.sampleRate());
  o.Set("channels", r.channels());
  o.Set("channelLayout", r.channelLayout());
  o.Set("bytesPerSample", r.bytesPerSample());
  o.Set("chunkSamples", r.options().chunkSamples);
  o.Set("sourceSampleRate", r.sourceSampleRate());
  o.Set("sourceChannels", r.sourceChannels());
  o.Set("sourceChannelLayout", r.sourceChannelLayout());
  o.Set("sourceSampleFormat", r.sourceSampleFormat());
  o.Set("startTime", Napi::Number::New(env, r.startTime()));
  return o;
}

Napi::Object audioStatsToJs(Napi::Env env, const avcv::AudioStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("framesDecoded", count(env, s.framesDecoded));
  o.Set("packetsRead", count(env, s.packetsRead));
  o.Set("corruptPackets", count(env, s.corruptPackets));
  o.Set("corruptFrames", count(env, s.corruptFrames));
  o.Set("decodeErrors", count(env, s.decodeErrors));
  o.Set("demuxErrors", count(env, s.demuxErrors));
  o.Set("truncated", Napi::Boolean::New(env, s.truncated));
  o.Set("lastError", orNull(env, s.lastError));
  return o;
}

Napi::Object readerStatsToJs(Napi::Env env, const avcv::ReaderStats& s, const avcv::ReaderStats& ra) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("randomAccessFramesDecoded", count(env, ra.framesDecoded));
  o.Set("indexScans", count(env, ra.indexScans));
  o.Set("framesDecoded", count(env, s.framesDecoded));
  o.Set("packetsRead", count(env, s.packetsRead));
  o.Set("bytesIn", count(env, s.bytesIn));
  o.Set("corruptPackets", count(env, s.corruptPackets));
  o.Set("corruptFrames", count(env, s.corruptFrames));
  o.Set("gpuScaledFrames", count(env, s.gpuScaledFrames));
  o.Set("decodeErrors", count(env, s.decodeErrors));
  o.Set("demuxErrors", count(env, s.demuxErrors));
  o.Set("truncated", Napi::Boolean::New(env, s.truncated));
  o.Set("reconnects", count(env, s.reconnects));
  o.Set("reconnectAttempts", count(env, s.reconnectAttempts));
  o.Set("stalls", count(env, s.stalls));
  o.Set("dropped", count(env, s.dropped));
  o.Set("lastError", orNull(env, s.lastError));
  return o;
}

Napi::Object indexToJs(Napi::Env env, const avcv::FrameIndex& ix, const avcv::Rational& tb) {
  const size_t n = ix.display.size();
  std::vector<uint32_t> keys;
  for (size_t j = 0; j < n; j++)
    if (ix.keyframe[j]) keys.push_back(static_cast<uint32_t>(j));
  Napi::Uint32Array k = Napi::Uint32Array::New(env, keys.size());
  for (size_t j = 0; j < keys.size(); j++) k[j] = keys[j];
  const auto& p = ix.packets;
  // the packets in decode order (and the frames of a decoded index), for saveIndex()
  Napi::Object packets = Napi::Object::New(env);
  packets.Set("pts", f64Of(env, p.size(), [&](size_t i) { return static_cast<double>(p[i].pts); }));
  packets.Set("dts", f64Of(env, p.size(), [&](size_t i) { return static_cast<double>(p[i].dts); }));
  packets.Set("pos", f64Of(env, p.size(), [&](size_t i) { return static_cast<double>(p[i].pos); }));
  packets.Set("key", u8Of(env, p.size(), [&](size_t i) { return p[i].key; }));
  packets.Set("discard", u8Of(env, p.size(), [&](size_t i) { return p[i].discard; }));
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", packets);
  if (ix.decoded) {
    const auto& f = ix.frames;
    Napi::Object frames = Napi::Object::New(env);
    frames.Set("packet", f64Of(env, f.size(), [&](size_t j) { return static_cast<double>(f[j].packet); }));
    frames.Set("pts", f64Of(env, f.size(), [&](size_t j) { return static_cast<double>(f[j].pts); }));
    frames.Set("key", u8Of(env, f.size(), [&](size_t j) { return f[j].key; }));
    frames.Set("damaged", u8Of(env, f.size(), [&](size_t j) { return f[j].damaged; }));
    o.Set("frames", frames);
  }
  o.Set("pts", f64Of(env, n, [&](size_t j) { return static_cast<double>(ix.pts[j]); }));
  o.Set("continuousPts", f64Of(env, n, [&](size_t j) { return static_cast<double>(ix.continuousPts[j]); }));
  o.Set("discontinuous", ix.discontinuous);
  o.Set("keyframes", k);
  o.Set("method", ix.decoded ? "decode" : "packets");
  if (!ix.reason.empty()) o.Set("reason", ix.reason);
  if (!ix.unusable.empty()) o.Set("unusable", ix.unusable);
  Napi::Object r = Napi::Object::New(env);
  r.Set("num", tb.num);
  r.Set("den", tb.den);
  o.Set("timeBase", r);
  return o;
}

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
  o.Set("dropped", Napi::Number::New(env, static_cast<double>(s.dropped)));
  o.Set("reconnects", Napi::Number::New(env, static_cast<double>(s.reconnects)));
  o.Set("reconnectAttempts", Napi::Number::New(env, static_cast<double>(s.reconnectAttempts)));
  o.Set("connected", s.connected);
  o.Set("lastError", s.lastError.empty() ? env.Null() : Napi::String::New(env, s.lastError));
  return o;
}

Napi::Object transcodeResultToJs(Napi::Env env, const avcv::TranscodeResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", r.path);
  o.Set("passthroughReason", r.passthroughReason.empty() ? env.Null() : Napi::String::New(env, r.passthroughReason));
  o.Set("device", deviceToJs(env, r.device));
  o.Set("decoder", r.decoder);
  o.Set("width", r.outWidth);
  o.Set("height", r.outHeight);
  o.Set("framesIn", Napi::Number::New(env, static_cast<double>(r.framesIn)));
  o.Set("reader", readerStatsToJs(env, r.reader, avcv::ReaderStats()));
  o.Set("writer", writerStatsToJs(env, r.writer));
  return o;
}

Napi::Object ladderResultToJs(Napi::Env env, const avcv::LadderResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", deviceToJs(env, r.device));
  o.Set("decoder", r.decoder);
  o.Set("framesIn", Napi::Number::New(env, static_cast<double>(r.framesIn)));
  Napi::Object tb = Napi::Object::New(env);
  tb.Set("num", r.timeBase.num);
  tb.Set("den", r.timeBase.den);
  o.Set("timeBase", tb);
  Napi::Array starts = Napi::Array::New(env, r.segmentStarts.size());
  for (size_t i = 0; i < r.segmentStarts.size(); i++)
    starts.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(r.segmentStarts[i])));
  o.Set("segmentStarts", starts);
  o.Set("end", Napi::Number::New(env, static_cast<double>(r.end)));
  Napi::Array rs = Napi::Array::New(env, r.renditions.size());
  for (size_t i = 0; i < r.renditions.size(); i++)
    rs.Set(static_cast<uint32_t>(i), writerStatsToJs(env, r.renditions[i]));
  o.Set("renditions", rs);
  o.Set("audioMode", r.audioMode);
  o.Set("audioCodec", r.audioCodec.empty() ? env.Null() : Napi::String::New(env, r.audioCodec));
  o.Set("audioDuration", r.audioDuration);
  o.Set("audioPackets", Napi::Number::New(env, static_cast<double>(r.audioPackets)));
  o.Set("reader", readerStatsToJs(env, r.reader, avcv::ReaderStats()));
  return o;
}

}  // namespace avcvjs
