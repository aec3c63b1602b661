// Opening an untrusted media source: protocol whitelist, no nested opens,
// interruptible blocking I/O, clear errors for missing/empty/non-media files.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ffptr.h"

namespace avcv {

// A live source (a network stream rather than a file): timeouts, probing
// tuned for a fast start, and what the reader does when it stops.
struct LiveOptions {
  bool enabled = false;
  double openTimeout = 0;           // seconds for connecting and probing (0: none); TIMEOUT after it
  double stallTimeout = 0;          // seconds without a packet that count as a stall (0: none)
  double probeDuration = 0.1;       // seconds of the stream probed for its parameters (files: libav's 5 s)
  std::string transport;            // RTSP: "tcp" | "udp" ("" = libav's default)
  int attempts = 0;                 // reconnects after a stall or an end (-1: without limit)
  double delay = 1, maxDelay = 30;  // exponential backoff between attempts, seconds
  // What the reader's pipeline does when the consumer is slower than the
  // source: "block" (wait: nothing is lost), "dropOldest" (the oldest frame
  // not yet taken makes room), "latest" (only the newest frame waits).
  std::string queue = "block";
  // Wait for the source to connect to us (RTMP: a publisher; SRT: a caller)
  // instead of connecting to it; openTimeout bounds the wait.
  bool listen = false;
  // The caller needs a video stream: a source whose streams appear with
  // their packets (FLV) is probed until one does (within openTimeout).
  bool needVideo = false;
};

struct InputOptions {
  std::string source;                          // path or URL
  std::vector<std::string> protocols{"file"};  // allowed libav protocols
  bool allowNestedInputs = false;              // playlists/concat may open other inputs
  std::string format;                          // forced input format/device ("lavfi"), empty = probe
  // Interrupts blocking I/O when set (from any thread). Readers that work for
  // one owner share one flag; openInput makes its own when this is null.
  std::shared_ptr<std::atomic<bool>> cancel;
  LiveOptions live;
};

// State the format context's callbacks read; owned alongside the context.
struct InputGuard {
  std::shared_ptr<std::atomic<bool>> interrupted;
  // a deadline for blocking I/O (av_gettime_relative() microseconds, 0 = none):
  // past it the interrupt callback ends the call and sets timedOut
  std::atomic<int64_t> deadline{0};
  std::atomic<bool> timedOut{false};
  void armDeadline(double seconds);  // 0: none
  void disarm() { deadline.store(0); }
  int opens = 0;
  bool allowNested = false;
  std::string blockedUrl;
  int (*defaultIoOpen)(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) = nullptr;
};

// The interrupt callback over an InputGuard (AVIOInterruptCB.callback with
// the guard as opaque): set `interrupted`, or a passed deadline, ends a
// blocking libav call. Outputs use it too.
int guardInterrupt(void* guard);

// The guard must outlive the context: its interrupt callback reads the guard
// until the context's I/O is closed. Members are destroyed in reverse order
// (ctx first), and assignment closes the old context before it replaces the
// old guard (a defaulted one would free the guard first: a use after free
// when a reconnect replaced an input still open).
struct OpenedInput {
  std::unique_ptr<InputGuard> guard;
  FormatContextPtr ctx;

  OpenedInput() = default;
  OpenedInput(OpenedInput&&) noexcept = default;
  OpenedInput& operator=(OpenedInput&& o) noexcept {
    if (this != &o) {
      ctx.reset();
      guard = std::move(o.guard);
      ctx = std::move(o.ctx);
    }
    return *this;
  }
  OpenedInput(const OpenedInput&) = delete;
  OpenedInput& operator=(const OpenedInput&) = delete;
};

// What a local file's own bytes say of its length, for formats whose
// demuxer does not tell: a Matroska/WebM segment whose declared size runs
// past the end of the file, an MPEG-TS file that ends inside a packet.
// Returns why the file is cut short, or "" (complete, or it cannot be told).
std::string truncationEvidence(const std::string& source, const char* formatName, int64_t fileSize);

// The stream of `type` a reader reads: `requested` (>= 0) checked to exist
// and be of that type, else libav's best one; every other stream is
// discarded. Throws Error("NO_VIDEO_STREAM" | "NO_AUDIO_STREAM").
int selectStream(AVFormatContext* ctx, AVMediaType type, int requested, const std::string& source);

class LogCatcher;
// Opens and probes (avformat_find_stream_info) the source. Throws avcv::Error.
// `log`, when given, collects what libav logs for the source from the start.
OpenedInput openInput(const InputOptions& opts, LogCatcher* log = nullptr);

// Reopens a live source that stopped (`why`): up to io.live.attempts tries
// (-1: without limit), waiting delay, 2 x delay, ... up to maxDelay before
// each, in steps that notice io.cancel. `onAttempt` runs before each try;
// `ready` takes the opened input and finishes the try (it may throw
// avcv::Error to fail it). Throws DISCONNECTED naming `why` and the last
// failure once the attempts are spent, ABORTED on cancel.
void reopenLive(const InputOptions& io, const std::string& why, LogCatcher* log, const std::function<void()>& onAttempt,
                const std::function<void(OpenedInput&&)>& ready);

}  // namespace avcv
