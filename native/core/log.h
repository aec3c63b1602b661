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
// to it (AVFormatContext, AVCodecContext) while it lives.
class LogCatcher {
 public:
  LogCatcher() = default;
  ~LogCatcher();
  LogCatcher(const LogCatcher&) = delete;
  LogCatcher& operator=(const LogCatcher&) = delete;
  void watch(const void* avContext);
  void unwatch(const void* avContext);
  std::string lastError() const;     // "" when none
  std::string recentErrors() const;  // the last few lines, "; "-separated ("" when none)
  void note(const std::string& msg);
  void fragment(const std::string& text);  // a piece of a line, as av_log got it

 private:
  std::string last_;
  std::string pending_;  // the line being written in pieces
  std::vector<std::string> recent_;
};

}  // namespace avcv
