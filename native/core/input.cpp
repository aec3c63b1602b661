#include "input.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <type_traits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "error.h"
#include "log.h"

extern "C" {
#include <libavdevice/avdevice.h>
#include <libavformat/avio.h>
#include <libavutil/avstring.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
#include <libavutil/time.h>
}

namespace avcv {
namespace {

// Every open the demuxer makes goes through here: the first is the caller's
// own source; any later one (an HLS segment, a concat entry, an image2
// pattern, a mov external reference) is refused unless the caller allowed it.
int guardedIoOpen(AVFormatContext* s, AVIOContext** pb, const char* url, int flags, AVDictionary** options) {
  auto* guard = static_cast<InputGuard*>(s->interrupt_callback.opaque);
  if (guard->opens > 0 && !guard->allowNested) {
    if (guard->blockedUrl.empty()) guard->blockedUrl = url ? url : "";
    av_log(s, AV_LOG_ERROR, "avcv: refused nested input '%s'\n", url ? url : "");
    return AVERROR(EPERM);
  }
  guard->opens++;
  return guard->defaultIoOpen(s, pb, url, flags, options);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// Demuxers that accept almost anything by file extension and would turn a
// non-media file into "video" (e.g. tty renders any .txt as ANSI art).
bool isRefusedDemuxer(const char* name) { return std::strcmp(name, "tty") == 0; }

// Demuxers whose input names other inputs and which open them without going
// through io_open (FFmpeg 5.1, audited over libavformat's demuxers): dash
// (ffio_open_whitelist), imf's track files, concat and vobsub's .sub
// (avformat_open_input of their own), sdp and sap (RTP sockets). The io_open
// guard never sees those opens, so these demuxers are refused before they
// open anything unless nested inputs are allowed. hls, image2, mlv and mov's
// external references (off by default) open through io_open, where the guard
// refuses each nested open and names it.
const char* const kNestingDemuxers[] = {"dash", "imf", "concat", "sdp", "sap", "vobsub"};

bool isNestingDemuxer(const char* names) {
  for (const char* n : kNestingDemuxers)
    if (av_match_name(n, names)) return true;
  return false;
}

// Every demuxer but the nesting ones: the format whitelist avformat_open_input
// checks after probing and before the demuxer reads (so it opens nothing).
const std::string& formatsWithoutNesting() {
  static const std::string list = [] {
    std::string out;
    void* it = nullptr;
    while (const AVInputFormat* f = av_demuxer_iterate(&it)) {
      if (isNestingDemuxer(f->name)) continue;
      if (!out.empty()) out += ',';
      out += f->name;
    }
    return out;
  }();
  return list;
}

// The demuxer a source probes as (for the message when the whitelist refused
// it); "" when it cannot be told.
std::string probedFormat(const std::string& url, const std::string& protocols) {
  AVDictionary* d = nullptr;
  av_dict_set(&d, "protocol_whitelist", protocols.c_str(), 0);
  AVIOContext* pb = nullptr;
  int ret = avio_open2(&pb, url.c_str(), AVIO_FLAG_READ, nullptr, &d);
  av_dict_free(&d);
  if (ret < 0) return "";
  const AVInputFormat* fmt = nullptr;
  ret = av_probe_input_buffer2(pb, &fmt, url.c_str(), nullptr, 0, 0);
  avio_closep(&pb);
  return ret >= 0 && fmt ? fmt->name : "";
}

// An EBML variable-size integer at p (at most 8 bytes); length 0 when invalid.
// `unknown` is set for the all-ones value (a live stream's unknown size).
uint64_t ebmlVint(const uint8_t* p, size_t avail, int* length, bool* unknown) {
  *length = 0;
  if (!avail || !p[0]) return 0;
  int len = 1;
  while (!(p[0] & (0x80 >> (len - 1)))) len++;
  if (static_cast<size_t>(len) > avail) return 0;
  uint64_t v = p[0] & (0xff >> len);
  bool ones = v == (0xffu >> len);
  for (int i = 1; i < len; i++) {
    v = (v << 8) | p[i];
    ones = ones && p[i] == 0xff;
  }
  *length = len;
  *unknown = ones;
  return v;
}

}  // namespace

std::string truncationEvidence(const std::string& source, const char* formatName, int64_t fileSize) {
  if (fileSize <= 0 || !formatName) return "";
  const std::string path = source.rfind("file:", 0) == 0 ? source.substr(5) : source;
  if (av_match_name("mpegts", formatName)) {
    // TS files are whole packets of 188 (192 for M2TS, 204 with FEC) bytes
    for (int n : {188, 192, 204})
      if (fileSize % n == 0) return "";
    return "it ends inside a transport-stream packet (" + std::to_string(fileSize) + " bytes)";
  }
  if (!av_match_name("matroska", formatName) && !av_match_name("webm", formatName)) return "";
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  uint8_t b[128];
  const size_t got = std::fread(b, 1, sizeof b, f);
  std::fclose(f);
  // EBML header (1A 45 DF A3, size, body), then the Segment (18 53 80 67, size)
  if (got < 12 || b[0] != 0x1a || b[1] != 0x45 || b[2] != 0xdf || b[3] != 0xa3) return "";
  int len = 0;
  bool unknown = false;
  const uint64_t headerSize = ebmlVint(b + 4, got - 4, &len, &unknown);
  size_t at = 4 + len + headerSize;
  if (!len || unknown || at + 5 > got || b[at] != 0x18 || b[at + 1] != 0x53 || b[at + 2] != 0x80 || b[at + 3] != 0x67)
    return "";
  const uint64_t segment = ebmlVint(b + at + 4, got - at - 4, &len, &unknown);
  if (!len || unknown) return "";  // written live or piped: no size to compare
  const uint64_t end = at + 4 + len + segment;
  if (end <= static_cast<uint64_t>(fileSize)) return "";
  return "its Matroska segment declares " + std::to_string(end) + " bytes, the file has " + std::to_string(fileSize);
}

namespace {

// Checks what can be checked before libav opens the source: the forced
// format, the protocol against the allowed list, and for a local file that it
// exists, is regular and is not empty. Returns whether no protocol applies
// (a device or lavfi source).
bool checkSource(const InputOptions& opts, const AVInputFormat* forced) {
  if (forced && !opts.allowNestedInputs && isNestingDemuxer(forced->name))
    throw Error("NESTED_INPUT_BLOCKED", std::string("input format '") + forced->name +
                                            "' opens other inputs; nested inputs are refused unless "
                                            "allowNestedInputs is set");
  // A device or a filter-graph source (lavfi) is not a file or URL: no protocol applies.
  if (forced && (forced->flags & AVFMT_NOFILE)) return true;
  const char* proto = avio_find_protocol_name(opts.source.c_str());
  // rtsp:// is a demuxer's URL, not an I/O protocol: it is allowed by the name
  // "rtsp" (its own connections go through the whitelist: tcp, udp, rtp)
  if (!proto && opts.source.rfind("rtsp://", 0) == 0) proto = "rtsp";
  if (!proto && opts.source.rfind("rtsps://", 0) == 0) proto = "rtsps";
  if (!proto) throw Error("PROTOCOL_NOT_FOUND", "no libav protocol handles '" + opts.source + "'");
  bool allowed = false;
  for (const auto& p : opts.protocols) allowed = allowed || p == proto;
  if (!allowed) {
    throw Error("PROTOCOL_NOT_ALLOWED", std::string("protocol '") + proto +
                                            "' is not allowed (allowed: " + join(opts.protocols, ", ") +
                                            "); pass it in the protocols option to allow it");
  }
  if (std::strcmp(proto, "file") != 0) return false;
  std::string path = opts.source.rfind("file:", 0) == 0 ? opts.source.substr(5) : opts.source;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int e = errno;
    throw Error(e == ENOENT   ? "ENOENT"
                : e == EACCES ? "EACCES"
                              : "IO",
                std::string("cannot open '") + path + "': " + std::strerror(e), AVERROR(e));
  }
  if (S_ISDIR(st.st_mode)) throw Error("EISDIR", "'" + path + "' is a directory", AVERROR(EISDIR));
  // A FIFO or device can block read(2) forever, and the file protocol's
  // reads do not poll the interrupt callback: refuse them.
  if (!S_ISREG(st.st_mode))
    throw Error(
        "NOT_REGULAR_FILE",
        "'" + path + "' is not a regular file (FIFO, socket or device); " + "reading it could block without end",
        AVERROR(EINVAL));
  if (st.st_size == 0) throw Error("INVALID_DATA", "'" + path + "' is an empty file", AVERROR_INVALIDDATA);
  return false;
}

// Throws the error for a failed avformat_open_input: a refused nested input
// where one was the cause, else libav's own error.
[[noreturn]] void throwOpenFailure(const InputOptions& opts, int ret, bool noFile, const std::string& whitelist,
                                   const std::string& blockedUrl) {
  if (!opts.allowNestedInputs && ret == AVERROR(EINVAL)) {
    const std::string fmt = noFile ? "" : probedFormat(opts.source, whitelist);
    if (!fmt.empty() && isNestingDemuxer(fmt.c_str()))
      throw Error("NESTED_INPUT_BLOCKED",
                  "'" + opts.source + "' is a " + fmt +
                      " manifest or list, which opens other inputs; nested inputs are refused unless "
                      "allowNestedInputs is set",
                  ret);
  }
  if (!blockedUrl.empty())
    throw Error("NESTED_INPUT_BLOCKED",
                "'" + opts.source + "' tried to open '" + blockedUrl +
                    "'; nested inputs are refused unless allowNestedInputs is set",
                ret);
  throwAvError(ret, "cannot open '" + opts.source + "'", "OPEN");
}

}  // namespace

int selectStream(AVFormatContext* ctx, AVMediaType type, int requested, const std::string& source) {
  const bool video = type == AVMEDIA_TYPE_VIDEO;
  const char* code = video ? "NO_VIDEO_STREAM" : "NO_AUDIO_STREAM";
  const std::string kind = video ? "a video stream" : "an audio stream";
  int idx = requested;
  if (requested >= 0) {
    if (requested >= static_cast<int>(ctx->nb_streams))
      throw Error(code, "stream " + std::to_string(requested) + " does not exist in '" + source + "' (" +
                            std::to_string(ctx->nb_streams) + " streams)");
    if (ctx->streams[requested]->codecpar->codec_type != type)
      throw Error(code, "stream " + std::to_string(requested) + " of '" + source + "' is not " + kind);
  } else {
    idx = av_find_best_stream(ctx, type, -1, -1, nullptr, 0);
    if (idx < 0) throw Error(code, "'" + source + "' has no " + (video ? "video" : "audio") + " stream", idx);
  }
  for (unsigned i = 0; i < ctx->nb_streams; i++)
    if (static_cast<int>(i) != idx) ctx->streams[i]->discard = AVDISCARD_ALL;
  return idx;
}

namespace {

// A live FLV (RTMP) stream makes its streams as their first packets come,
// and a server joins a player with audio at once but video only from the
// next keyframe: a short probe (probeDuration of audio) ends before the
// video stream exists. When audio came first (the FLV header libav makes
// from the first packet says audio only), probing runs until the video
// stream has its parameters too (libavformat stops as soon as the second
// stream of an FLV is analysed), bounded by openTimeout, and the frame rate
// is taken from the metadata rather than estimated from 40 frames. What
// this trades: an audio-only stream is known to be one after openTimeout.
void waitForVideo(AVFormatContext* ctx, const LiveOptions& live) {
  if (std::strcmp(ctx->iformat->name, "flv") != 0 || !ctx->iformat->priv_class) return;
  const int* missing = static_cast<const int*>(av_opt_ptr(ctx->iformat->priv_class, ctx->priv_data, "missing_streams"));
  const int hasAudio = 0x04, hasVideo = 0x01;  // FLV_HEADER_FLAG_HASAUDIO, FLV_HEADER_FLAG_HASVIDEO
  if (!missing || (*missing & (hasAudio | hasVideo)) != hasAudio) return;
  ctx->max_analyze_duration = static_cast<int64_t>(std::max(live.openTimeout, live.probeDuration) * 1e6);
  ctx->fps_probe_size = 0;
}

}  // namespace

int guardInterrupt(void* opaque) {
  auto* guard = static_cast<InputGuard*>(opaque);
  if (guard->interrupted->load(std::memory_order_relaxed)) return 1;
  const int64_t d = guard->deadline.load(std::memory_order_relaxed);
  if (d > 0 && av_gettime_relative() > d) {
    guard->timedOut.store(true);
    return 1;
  }
  return 0;
}

void InputGuard::armDeadline(double seconds) {
  timedOut.store(false);
  deadline.store(seconds > 0 ? av_gettime_relative() + static_cast<int64_t>(seconds * 1e6) : 0);
}

namespace {
// libavdevice (lavfi, v4l2, x11grab, alsa, ...) and the ~70 libraries it
// brings (SDL2, PulseAudio, JACK, X11, ...) are loaded only when an input
// format that is not a container names one: linked, they cost every process
// 5 MB of RSS and their relocations at start-up. The build links with
// --as-needed and nothing else references the library. A static build calls
// avdevice_register_all directly.
void registerDevices() {
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef AVCV_STATIC_BUILD
    avdevice_register_all();
#else
    static_assert(std::is_same_v<decltype(&avdevice_register_all), void (*)(void)>);
    const std::string name = "libavdevice.so." + std::to_string(LIBAVDEVICE_VERSION_MAJOR);
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    void* fn = h ? dlsym(h, "avdevice_register_all") : nullptr;
    if (fn) reinterpret_cast<void (*)(void)>(fn)();  // the handle stays open for the life of the process
    else av_log(nullptr, AV_LOG_WARNING, "avcv: %s could not be loaded: %s\n", name.c_str(), dlerror());
#endif
  });
}
}  // namespace

OpenedInput openInput(const InputOptions& opts, LogCatcher* log) {
  if (opts.source.empty()) throw Error("EINVAL", "source is empty");
  const AVInputFormat* forced = nullptr;
  if (!opts.format.empty()) {
    forced = av_find_input_format(opts.format.c_str());
    if (!forced) {  // a device (lavfi, v4l2, ...)?
      registerDevices();
      forced = av_find_input_format(opts.format.c_str());
    }
    if (!forced) throw Error("UNSUPPORTED_FORMAT", "unknown input format '" + opts.format + "'");
  }
  const bool noFile = checkSource(opts, forced);

  OpenedInput in;
  in.guard = std::make_unique<InputGuard>();
  in.guard->allowNested = opts.allowNestedInputs;
  in.guard->interrupted = opts.cancel ? opts.cancel : std::make_shared<std::atomic<bool>>(false);
  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) throw Error("ENOMEM", "avformat_alloc_context failed");
  if (log) log->watch(ctx);
  ctx->interrupt_callback.callback = guardInterrupt;
  ctx->interrupt_callback.opaque = in.guard.get();
  in.guard->defaultIoOpen = ctx->io_open;
  ctx->io_open = guardedIoOpen;

  AVDictionary* dict = nullptr;
  const std::string wl = join(opts.protocols, ",");
  av_dict_set(&dict, "protocol_whitelist", wl.c_str(), 0);
  const bool refuseNesting = !opts.allowNestedInputs;
  if (refuseNesting) av_dict_set(&dict, "format_whitelist", formatsWithoutNesting().c_str(), 0);
  const LiveOptions& live = opts.live;
  if (live.enabled) {
    // a fast start: probe a fraction of a second, not libav's 5 s meant for files
    av_dict_set_int(&dict, "analyzeduration", static_cast<int64_t>(live.probeDuration * 1e6), 0);
    if (!live.transport.empty()) av_dict_set(&dict, "rtsp_transport", live.transport.c_str(), 0);
    if (live.listen) {  // rtmp's listen, srt's mode, tcp's listen
      av_dict_set(&dict, "listen", "1", 0);
      av_dict_set(&dict, "mode", "listener", 0);
    }
  }
  // libav's own timeout options differ per protocol (on rtmp:// "timeout"
  // makes 5.1 listen): the deadline is the interrupt callback's
  in.guard->armDeadline(live.enabled ? live.openTimeout : 0);
  const void* watched = ctx;
  int ret = avformat_open_input(&ctx, opts.source.c_str(), forced, &dict);
  av_dict_free(&dict);
  if (ret < 0) {  // avformat_open_input freed ctx
    if (log) log->unwatch(watched);
    if (in.guard->timedOut.load())
      throw Error("TIMEOUT", "'" + opts.source + "' did not answer within " + std::to_string(live.openTimeout) + " s",
                  AVERROR(ETIMEDOUT));
    throwOpenFailure(opts, ret, noFile, wl, in.guard->blockedUrl);
  }
  in.ctx.reset(ctx);
  if (isRefusedDemuxer(ctx->iformat->name)) {
    throw Error(
        "INVALID_DATA",
        "'" + opts.source + "' is not a media file (only the '" + ctx->iformat->name + "' text demuxer accepts it)",
        AVERROR_INVALIDDATA);
  }
  // concat opens each entry in a nested format context of its own, which does
  // not go through io_open: refuse it outright unless nesting is allowed.
  if (!opts.allowNestedInputs && std::strcmp(ctx->iformat->name, "concat") == 0)
    throw Error("NESTED_INPUT_BLOCKED", "'" + opts.source + "' is a concat list, which opens other inputs; " +
                                            "nested inputs are refused unless allowNestedInputs is set");
  if (live.enabled && live.needVideo) waitForVideo(ctx, live);
  ret = avformat_find_stream_info(ctx, nullptr);
  const bool timedOut = in.guard->timedOut.load();
  in.guard->disarm();
  if (ret < 0 && timedOut)
    throw Error("TIMEOUT",
                "'" + opts.source + "' sent no stream information within " + std::to_string(live.openTimeout) + " s",
                AVERROR(ETIMEDOUT));
  if (ret < 0) throwAvError(ret, "cannot read stream info of '" + opts.source + "'", "INVALID_DATA");
  if (!in.guard->blockedUrl.empty() && ctx->nb_streams == 0)
    throw Error("NESTED_INPUT_BLOCKED", "'" + opts.source + "' tried to open '" + in.guard->blockedUrl +
                                            "'; nested inputs are refused unless allowNestedInputs is set");
  if (ctx->nb_streams == 0 && std::strcmp(ctx->iformat->name, "hls") == 0)
    throw Error("INVALID_DATA", "'" + opts.source + "' is a playlist that lists no playable segment",
                AVERROR_INVALIDDATA);
  return in;
}

void reopenLive(const InputOptions& io, const std::string& why, LogCatcher* log, const std::function<void()>& onAttempt,
                const std::function<void(OpenedInput&&)>& ready) {
  const LiveOptions& live = io.live;
  std::string last = why;
  for (int attempt = 0; live.attempts < 0 || attempt < live.attempts; attempt++) {
    const double wait = std::min(live.maxDelay, live.delay * std::pow(2.0, std::min(attempt, 30)));
    for (double slept = 0; slept < wait; slept += 0.05) {
      if (io.cancel && io.cancel->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
      av_usleep(50000);
    }
    onAttempt();
    try {
      ready(openInput(io, log));
      return;
    } catch (const Error& e) {
      if (e.code() == "ABORTED") throw;
      last = e.what();
    }
  }
  throw Error(
      "DISCONNECTED",
      "'" + io.source + "' stopped (" + why + ")" +
          (live.attempts ? "; " + std::to_string(live.attempts) + " reconnect attempt(s) failed, the last: " + last
                         : ""),
      AVERROR_EOF);
}

}  // namespace avcv
