// avcv core: error type shared by every core component. No Node headers here.
#pragma once
#include <stdexcept>
#include <string>

namespace avcv {

// A runtime failure with a stable machine-readable code (e.g. "ENOENT",
// "INVALID_DATA", "DECODE") and, where libav produced it, libav's message.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, int averror = 0)
      : std::runtime_error(message), code_(std::move(code)), averror_(averror) {}
  const std::string& code() const noexcept { return code_; }
  int averror() const noexcept { return averror_; }

 private:
  std::string code_;
  int averror_;
};

// "1.5 s": seconds as messages print them.
std::string fmtSeconds(double s);
// libav's text for an AVERROR value.
std::string avErrorString(int err);
// Stable avcv code for an AVERROR value; `fallback` when nothing specific fits.
std::string codeForAvError(int err, const char* fallback);
// Throws avcv::Error for a negative libav return value: "<what>: <libav message>".
[[noreturn]] void throwAvError(int err, const std::string& what, const char* fallbackCode);

}  // namespace avcv
