// Copying a source's audio and video packets into another container without
// decoding them (the CLI's `-c copy`): recording a live stream into a file,
// streaming a file to a server at its own pace (`-re`, `-stream_loop -1`).
// Timestamps are rebased to start at 0 and continue across a live source's
// reconnects and a looped file's restarts; the output starts at a keyframe.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "input.h"

namespace avcv {

struct RemuxOptions {
  InputOptions input;                          // live.enabled: timeouts and reconnects for a network source
  std::string path;                            // where the muxer writes: a temp file, or a network URL
  std::vector<std::string> protocols{"file"};  // the output's allowed protocols
  std::string container;                       // muxer short name
  double duration = 0;                         // seconds of output (0: until the source ends)
  bool realtime = false;                       // no faster than the packets' timestamps
  bool loop = false;                           // the source again from its start when it ends
  double openTimeout = 0, stallTimeout = 0;    // a network output's (0: none)
};

// Shared with the thread that asks for progress or cancels.
struct RemuxControl {
  // cancel(): ABORTED, the output unfinished. stop(): the job ends now as if
  // the source had, the output finished (a recording kept).
  void cancel() {
    cancelled->store(true);
    reading->store(true);
  }
  void stop() {
    stopped.store(true);
    reading->store(true);
  }
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);  // the output's interrupt
  std::shared_ptr<std::atomic<bool>> reading = std::make_shared<std::atomic<bool>>(false);    // the source's interrupt
  std::atomic<bool> stopped{false};
  std::atomic<double> seconds{0};  // output time written
  std::atomic<int64_t> packets{0};
  std::atomic<int64_t> reconnects{0};
};

struct RemuxResult {
  double duration = 0;  // seconds of output
  int64_t packets = 0;
  int64_t bytes = 0;
  int64_t dropped = 0;  // packets cut: before the first keyframe, beyond duration, out of order
  int64_t reconnects = 0;
  int64_t loops = 0;
  std::vector<std::string> streams;  // "video h264", "audio aac", in output order
  // A live source lost for good (no reconnects, or all spent): why. The
  // output up to then is finished and kept.
  std::string disconnected;
};

// Runs the whole job. A file output is complete at opts.path when it returns;
// on a throw the caller removes it. Throws avcv::Error: ABORTED after cancel,
// UNSUPPORTED_CODEC when the container cannot hold a stream's codec,
// DISCONNECTED when a network output is lost. A live source lost for good
// ends the job normally (result.disconnected says why).
RemuxResult remux(const RemuxOptions& opts, RemuxControl& ctl);

}  // namespace avcv
