// Metadata of a source without decoding frames; values follow ffprobe's.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "input.h"

namespace avcv {

struct Rational {
  int num = 0;
  int den = 1;
};

struct StreamProbe {
  int index = 0;
  // Names are "" where ffprobe omits them (unknown or unspecified)
  std::string type;  // video | audio | subtitle | data | attachment
  std::string codec, codecLongName, profile;
  int64_t bitRate = 0;  // 0 when unknown
  Rational timeBase;
  bool hasStartTime = false;
  double startTime = 0;
  bool hasDuration = false;
  double duration = 0;
  int64_t nbFrames = 0;  // container's count, 0 when absent
  std::map<std::string, std::string> tags;
  // video
  int width = 0, height = 0;
  std::string pixelFormat;
  int bitDepth = 0;
  std::string colorRange, colorSpace, colorPrimaries, colorTransfer;
  Rational avgFrameRate, baseFrameRate, sampleAspectRatio;
  bool hasRotation = false;
  double rotation = 0;  // ffprobe's value: degrees counterclockwise (av_display_rotation_get)
  int64_t frameCount = 0;
  bool frameCountExact = false;
  // audio
  int sampleRate = 0, channels = 0;
  std::string channelLayout, sampleFormat;
};

struct ProbeResult {
  std::string formatName, formatLongName;
  bool hasDuration = false;
  double duration = 0;
  bool hasStartTime = false;
  double startTime = 0;
  int64_t bitRate = 0;
  int64_t size = -1;
  std::map<std::string, std::string> tags;
  std::vector<StreamProbe> streams;
};

StreamProbe probeStream(AVFormatContext* ctx, int index);
ProbeResult probeContext(AVFormatContext* ctx);
ProbeResult probe(const InputOptions& opts);

}  // namespace avcv
