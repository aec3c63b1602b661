// Opening an untrusted media source: protocol whitelist, no nested opens,
// interruptible blocking I/O, clear errors for missing/empty/non-media files.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ffptr.h"

namespace avcv {

struct InputOptions {
  std::string source;                          // path or URL
  std::vector<std::string> protocols{"file"};  // allowed libav protocols
  bool allowNestedInputs = false;              // playlists/concat may open other inputs
  std::string format;                          // forced input format/device ("lavfi"), empty = probe
  // Interrupts blocking I/O when set (from any thread). Readers that work for
  // one owner share one flag; openInput makes its own when this is null.
  std::shared_ptr<std::atomic<bool>> cancel;
};

// State the format context's callbacks read; owned alongside the context.
struct InputGuard {
  std::shared_ptr<std::atomic<bool>> interrupted;
  int opens = 0;
  bool allowNested = false;
  std::string blockedUrl;
  int (*defaultIoOpen)(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) = nullptr;
};

struct OpenedInput {
  std::unique_ptr<InputGuard> guard;  // must outlive ctx (declared first, destroyed last)
  FormatContextPtr ctx;
};

// What a local file's own bytes say of its length, for formats whose
// demuxer does not tell: a Matroska/WebM segment whose declared size runs
// past the end of the file, an MPEG-TS file that ends inside a packet.
// Returns why the file is cut short, or "" (complete, or it cannot be told).
std::string truncationEvidence(const std::string& source, const char* formatName, int64_t fileSize);

class LogCatcher;
// Opens and probes (avformat_find_stream_info) the source. Throws avcv::Error.
// `log`, when given, collects what libav logs for the source from the start.
OpenedInput openInput(const InputOptions& opts, LogCatcher* log = nullptr);

}  // namespace avcv
