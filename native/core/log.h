// libav's log, caught per owner: the last error a demuxer or decoder logged
// becomes part of the AvcvError that owner throws ("Error parsing frame
// sizes." says more than "no frame"). Printing stays as AVCV_LOG asks.
#pragma once
#include <string>
#include <vector>

namespace avcv {

// Installs the process-wide av_log callback (once; idempotent).
void installLogCapture();

// Collects the error-level messages logged by the libav contexts registered
// to it (AVFormatContext, AVCodecContext, AVFilterGraph and its filters)
// while it lives; with a `keep` level above AV_LOG_ERROR, also the whole text
// of the lines up to that level (loudnorm's measurements are info-level).
class LogCatcher {
 public:
  explicit LogCatcher(int keep = 16 /* AV_LOG_ERROR */);
  ~LogCatcher();
  LogCatcher(const LogCatcher&) = delete;
  LogCatcher& operator=(const LogCatcher&) = delete;
  void watch(const void* avContext);
  void unwatch(const void* avContext);
  std::string lastError() const;     // "" when none
  std::string recentErrors() const;  // the last few lines, "; "-separated ("" when none)
  std::string text() const;          // the kept lines (keep level), newline-separated
  int keep() const { return keep_; }
  void note(const std::string& msg);
  void fragment(const std::string& text, int level);  // a piece of a line, as av_log got it

 private:
  int keep_;
  int pendingLevel_ = 1 << 30;  // the most severe level among the pieces of the pending line
  std::string text_;
  std::string last_;
  std::string pending_;  // the line being written in pieces
  std::vector<std::string> recent_;
};

}  // namespace avcv
