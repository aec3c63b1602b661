// The one place results become JS values: probe results, frame metadata,
// reader info and stats, the frame index, writer stats, transcode results.
#pragma once
#include <napi.h>

#include "../core/audio_reader.h"
#include "../core/device.h"
#include "../core/frame_index.h"
#include "../core/probe.h"
#include "../core/ladder.h"
#include "../core/transcode.h"
#include "../core/video_reader.h"
#include "../core/video_writer.h"

namespace avcvjs {

Napi::Object probeToJs(Napi::Env env, const avcv::ProbeResult& r);
Napi::Object streamToJs(Napi::Env env, const avcv::StreamProbe& s);
// {type, index? (cuda), fallbackReason?}: lib/device.ts's DeviceInfo.
Napi::Object deviceToJs(Napi::Env env, const avcv::DeviceChoice& d);
// {data, pts, time, duration, durationSeconds, index, keyframe, corrupt}
Napi::Object metaToJs(Napi::Env env, const avcv::FrameMeta& m, Napi::Value data);
Napi::Object readerInfoToJs(Napi::Env env, const avcv::VideoReader& r);
// The sequential reader's stats with the random-access reader's as
// randomAccessFramesDecoded / indexScans (zeros for a reader not opened).
Napi::Object readerStatsToJs(Napi::Env env, const avcv::ReaderStats& s, const avcv::ReaderStats& ra);
Napi::Object indexToJs(Napi::Env env, const avcv::FrameIndex& ix, const avcv::Rational& tb);
// {data, samples, index, pts, time}
Napi::Object audioChunkToJs(Napi::Env env, const avcv::AudioChunkMeta& m, Napi::Value data);
Napi::Object audioInfoToJs(Napi::Env env, const avcv::AudioReader& r);
Napi::Object audioStatsToJs(Napi::Env env, const avcv::AudioStats& s);
Napi::Object writerStatsToJs(Napi::Env env, const avcv::WriterStats& s);
Napi::Object transcodeResultToJs(Napi::Env env, const avcv::TranscodeResult& r);
Napi::Object ladderResultToJs(Napi::Env env, const avcv::LadderResult& r);

}  // namespace avcvjs
