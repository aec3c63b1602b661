// The one place the binding reads options objects from JS. lib/ validates,
// normalises and defaults every option and sends a complete object (sharp's
// way); here every field is required: a missing or mistyped one is a
// TypeError naming it (a bug in lib/, never a silent default).
#pragma once
#include <napi.h>

#include <string>

#include "../core/audio_reader.h"
#include "../core/image.h"
#include "../core/input.h"
#include "../core/ladder.h"
#include "../core/remux.h"
#include "../core/stitch.h"
#include "../core/tensor.h"
#include "../core/transcode.h"
#include "../core/video_reader.h"
#include "../core/video_writer.h"

namespace avcvjs {

// Required fields of one options object ("what" names it in errors).
class Fields {
 public:
  Fields(Napi::Env env, Napi::Value v, std::string what);
  std::string str(const char* key) const;
  double num(const char* key) const;
  int integer(const char* key) const;
  bool boolean(const char* key) const;
  Napi::Object obj(const char* key) const;
  bool isNull(const char* key) const;  // the field is present and null
  Napi::Value raw(const char* key) const;
  [[noreturn]] void fail(const char* key, const char* want) const;

 private:
  Napi::Env env_;
  Napi::Object o_;
  std::string what_;
};

avcv::InputOptions inputOptions(Napi::Env env, Napi::Value v);
avcv::ReaderOptions readerOptions(Napi::Env env, Napi::Value v);
avcv::WriterOptions writerOptions(Napi::Env env, Napi::Value v);
avcv::AudioReaderOptions audioReaderOptions(Napi::Env env, Napi::Value v);
// {input: InputOptions, path, protocols, container, duration, realtime, loop, openTimeout, stallTimeout}
avcv::RemuxOptions remuxOptions(Napi::Env env, Napi::Value v);
// writer options + {pieces: string[], starts: number[], end}
avcv::StitchOptions stitchOptions(Napi::Env env, Napi::Value writer, Napi::Value how);
// {passthrough: -1 | 0 | 1, cfr}
void transcodeHow(Napi::Env env, Napi::Value v, avcv::TranscodeOptions* out);
// reader options, writer options per rendition, and {segmentDuration, maxFps,
// audio: null | {path, muxerOptions, source, protocols, inputFormat,
// allowNestedInputs, bitrate, channels}}
avcv::LadderOptions ladderOptions(Napi::Env env, Napi::Value reader, Napi::Value renditions, Napi::Value how);
// {format, layout, width, height}: a described image (RangeError for sizes core refuses)
avcv::ImageDesc imageDesc(Napi::Env env, Napi::Value v);
// img {format, layout, width, height} + opts {layout, dtype, channelOrder, scale, mean, std}
avcv::TensorSpec tensorSpec(Napi::Env env, Napi::Value img, Napi::Value opts);

}  // namespace avcvjs
