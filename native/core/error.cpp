#include "error.h"

#include <cstdio>

extern "C" {
#include <libavutil/error.h>
}
#include <cerrno>

namespace avcv {

std::string fmtSeconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g s", s);
  return b;
}

std::string avErrorString(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

std::string codeForAvError(int err, const char* fallback) {
  switch (err) {
    case AVERROR(ENOENT): return "ENOENT";
    case AVERROR(EACCES): return "EACCES";
    case AVERROR(EISDIR): return "EISDIR";
    case AVERROR(ENOMEM): return "ENOMEM";
    case AVERROR(EPERM): return "EPERM";
    case AVERROR_INVALIDDATA: return "INVALID_DATA";
    case AVERROR_DECODER_NOT_FOUND: return "UNSUPPORTED_CODEC";
    case AVERROR_DEMUXER_NOT_FOUND: return "UNSUPPORTED_FORMAT";
    case AVERROR_PROTOCOL_NOT_FOUND: return "PROTOCOL_NOT_FOUND";
    case AVERROR_STREAM_NOT_FOUND: return "NO_VIDEO_STREAM";
    case AVERROR_EXIT: return "ABORTED";
    case AVERROR_EOF: return "EOF";
    case AVERROR(ECONNREFUSED):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(ECONNRESET):
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_FORBIDDEN:
    case AVERROR_HTTP_OTHER_4XX:
    case AVERROR_HTTP_SERVER_ERROR: return "CONNECT";
    case AVERROR(ETIMEDOUT): return "TIMEOUT";
    case AVERROR_HTTP_NOT_FOUND: return "NOT_FOUND";
    default: return fallback;
  }
}

void throwAvError(int err, const std::string& what, const char* fallbackCode) {
  throw Error(codeForAvError(err, fallbackCode), what + ": " + avErrorString(err), err);
}

}  // namespace avcv
