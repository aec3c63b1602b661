// Transcoding without a frame ever reaching JS: demux -> decode -> (resize)
// -> encode -> mux, with the source's audio. On NVDEC + NVENC the frames stay
// on the GPU end to end ("gpu passthrough": scale_cuda resizes, NVENC takes
// the CUDA frames); otherwise the decoded frame goes to the encoder as it is
// when it has the encoder's size and format, else through one swscale pass
// into them (YUV to YUV, no RGB round trip).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "video_reader.h"
#include "video_writer.h"

namespace avcv {

struct TranscodeOptions {
  ReaderOptions reader;  // rawFrames is set by transcode()
  WriterOptions writer;  // width/height 0: the reader's output size; audio shift/start set from the first frame
  // GPU passthrough: -1 when possible, 0 never (CUDA frames are downloaded),
  // 1 required (an error says why it is not possible)
  int passthrough = -1;
  // constant frame rate output (avi): frames are numbered at writer.fps
  // instead of keeping the source's timestamps
  bool cfr = false;
};

// Shared with the thread that asks for progress or cancels.
class TranscodeControl {
 public:
  std::atomic<int64_t> frames{0};
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  void attach(VideoReader* r);  // nullptr to detach

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  VideoReader* reader_ = nullptr;
};

struct TranscodeResult {
  std::string path;               // gpu-passthrough | native
  std::string passthroughReason;  // why not, when path is native on a CUDA request
  DeviceChoice device;            // the decoder's
  std::string decoder;
  int outWidth = 0, outHeight = 0;
  int64_t framesIn = 0;
  ReaderStats reader;
  WriterStats writer;
};

// Runs the whole job. The output is complete at opts.writer.path when it
// returns; on a throw nothing is left there. Throws avcv::Error (ABORTED
// after cancel()).
TranscodeResult transcode(const TranscodeOptions& opts, TranscodeControl& ctl);

}  // namespace avcv
