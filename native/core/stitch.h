// Joining the encoded pieces of a chunked transform into one output: the
// pieces' video packets copied in order with their timestamps (no
// re-encoding, no concat demuxer), the source's audio copied or encoded
// once for the whole output by the writer's AudioMux, and the container's
// own header and index as a single pass writes them.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "video_writer.h"

namespace avcv {

struct StitchOptions {
  // The output as the single pass would write it: path (a temp name),
  // protocols, container, faststart, metadata, audio, and timeBase (the
  // video's, which the pieces were encoded in). Encoder fields are unused.
  WriterOptions out;
  std::vector<std::string> pieces;  // video-only files (NUT), in output order
  // The output pts of each piece's first frame, in out.timeBase units: a
  // piece's timestamps are moved to start there (a muxer may have shifted
  // them, and a constant frame rate output numbers its frames across pieces).
  std::vector<int64_t> starts;
  double end = 0;  // seconds: where the video ends (the last frame's end); the audio is trimmed there
};

struct StitchControl {
  void cancel() { cancelled->store(true); }
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int64_t> packets{0};
};

struct StitchResult {
  int64_t packets = 0;  // video packets written
  int64_t audioPackets = 0;
  int64_t bytes = 0;
  double videoDuration = 0, audioDuration = 0;
  std::string audioMode = "none", audioCodec, codec;
};

// Throws avcv::Error: INVALID_DATA when a piece is missing, unreadable or
// encoded differently from the first (codec, size, extradata), ABORTED on
// cancel, WRITE/ENCODE for the output. On a throw the caller removes out.path.
StitchResult stitch(const StitchOptions& opts, StitchControl& ctl);

}  // namespace avcv
