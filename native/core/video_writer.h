// Encoding frames written from JS into a file: one swscale pass into the
// encoder's format, encode, mux, with the source's audio copied or
// re-encoded alongside. Written to a temp path; the caller renames it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "audio_mux.h"
#include "image.h"
#include "input.h"
#include "probe.h"

namespace avcv {

struct OutputContextCloser {
  void operator()(AVFormatContext* c) const;
};
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextCloser>;

// A network target's timeouts and what the writer does when the server
// drops it. Files leave it disabled (no deadlines).
struct WriterLive {
  bool enabled = false;
  double openTimeout = 0;   // seconds for connecting and writing the header (0: none); else CONNECT/TIMEOUT
  double stallTimeout = 0;  // seconds one write may block (a server that stopped reading); then the connection is lost
  // reconnects after a lost connection, per outage (-1: without limit; 0:
  // a lost connection is DISCONNECTED at once), with exponential backoff
  int attempts = 0;
  double delay = 1, maxDelay = 30;
};

struct WriterOptions {
  std::string path;                            // where the muxer writes (a temp name, or a network URL)
  std::vector<std::string> protocols{"file"};  // libav protocols it may use (protocol_whitelist)
  std::string container;                       // muxer short name (mp4, mov, matroska, webm, avi)
  int width = 0, height = 0;
  Rational fps{0, 1};
  Rational timeBase{0, 1};  // encoder/pts time base (default 1/fps)
  std::string codec;        // encoder name
  int crf = -1;
  int64_t bitrate = 0;
  // "" (crf and/or bitrate as given), "cq" (constant quality from crf), "vbr"
  // or "cbr" (both need bitrate): mapped per encoder family in openWriter
  std::string rateControl;
  std::string preset, profile, tune;
  int gop = -1;
  std::map<std::string, std::string> codecOptions;
  std::string pixelFormat = "yuv420p";
  PixFmt inputFormat = PixFmt::BGR24;
  Layout inputLayout = Layout::HWC;
  bool faststart = false;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> muxerOptions;  // e.g. the hls muxer's hls_time, hls_flags
  // The encoder's parameter sets in the stream header (extradata) even where
  // the muxer does not ask for them (the hls muxer's fMP4 segments do need them).
  bool globalHeader = false;
  std::string codecTag;  // a fourcc for the stream ("hvc1"), "" = the muxer's choice
  AudioSpec audio;
  int threads = 0;
  // Transcoding: frames come as decoded AVFrames (encodeFrame), converted and
  // resized by swscale with these flags; colour tags come from the source
  // (-1: unspecified) instead of the BT.601 that RGB input is converted with.
  bool frameInput = false;
  int swsFlags = SWS_BICUBIC;
  int colorspace = -1, colorRange = -1, colorPrimaries = -1, colorTrc = -1;
  WriterLive live;
};

struct WriterStats {
  int64_t framesWritten = 0;
  int64_t packetsWritten = 0;
  int64_t bytes = 0;
  int64_t audioPackets = 0;
  std::string encoder;
  std::string pixelFormat;
  std::string audioMode = "none";  // what was done: none | copy | encode
  std::string audioCodec;
  double videoDuration = 0;
  double audioDuration = 0;
  // network targets with live.attempts: frames that did not reach the server
  // (written while the connection was down, or cut from the encoder's output
  // until the keyframe a new connection starts with)
  int64_t dropped = 0;
  int64_t reconnects = 0;         // connections restored
  int64_t reconnectAttempts = 0;  // tries, successful or not
  bool connected = true;
  std::string lastError;  // why the last connection was lost ("" if none)
};

// A URL the muxer reaches over the network (rtmp://, srt://, ...), not a file.
bool isNetworkUrl(const std::string& path);

class VideoWriter {
 public:
  // `hwFrames`: a CUDA frame pool (an NVENC encoder then takes CUDA frames
  // from it through encodeFrame(), never touching system memory).
  static std::unique_ptr<VideoWriter> open(const WriterOptions& opts, AVBufferRef* hwFrames = nullptr);
  ~VideoWriter();

  const ImageDesc& input() const { return in_; }
  // Converts one frame from caller memory (exactly input().bytes) into the
  // encoder's format. Cheap; the caller's buffer is free once it returns.
  // pts in timeBase units (required, strictly increasing).
  void convert(const uint8_t* data, int64_t pts);
  // Encodes and muxes the last converted frame (with audio up to its time).
  void encodeConverted();
  // Transcoding (frameInput): encodes one decoded frame. A software frame of
  // any size and format is scaled into the encoder's; a CUDA frame (hwFrames
  // writers only) goes to NVENC as it is. pts as for convert().
  void encodeFrame(AVFrame* f, int64_t pts);
  // The next frame is encoded as a keyframe (an IDR where the encoder has
  // forced-idr set): a ladder's segment starts.
  void forceKeyframe() { forceKey_ = true; }
  // Flushes everything and writes the trailer; the file is complete after it.
  void finish();
  WriterStats stats() const;
  std::string encoderName() const;
  // The output is a network URL (rtmp://, srt://, ...), written as it goes: nothing to remove on failure.
  bool network() const { return isNetworkUrl(opts_.path); }
  // Ends a blocking network call at once (any thread): abort.
  void interrupt() { interrupted_->store(true); }

 private:
  VideoWriter() = default;
  // open(), in steps: the encoded pixel format, the encoder (rate control,
  // colour tags), the output streams and header, the frame to encode from.
  AVPixelFormat choosePixelFormat(const AVCodec* codec, AVBufferRef* hwFrames) const;
  void openEncoder(const AVCodec* codec, AVPixelFormat pix, AVBufferRef* hwFrames);
  void setColorTags(AVPixelFormat pix);
  void openOutput();
  // A network output: opens the connection and writes the header into oc
  // (avformat_write_header), under openTimeout. Throws CONNECT/TIMEOUT/WRITE.
  void connect(AVFormatContext* oc);
  void lostConnection(int err);  // live.attempts: the output is closed, reconnects begin
  void tryReconnect();           // when due: a new context, streams copied, header written
  void closeLost();              // closes the lost connection's pb (best effort, bounded)
  void prepareFrames(AVPixelFormat pix);
  void writeVideoPackets();
  void muxPacket(AVPacket* pkt, int outIndex);
  void checkPts(int64_t pts);
  void notePts(int64_t pts);   // after a frame was taken: lastPts_ and the last frame's duration
  void sendFrame(AVFrame* f);  // encode, mux, then audio up to lastPts_

  WriterOptions opts_;
  std::shared_ptr<std::atomic<bool>> interrupted_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<InputGuard> guard_;  // the output's interrupt callback state: outlives out_
  OutputContextPtr out_;
  AVStream* vst_ = nullptr;
  CodecContextPtr enc_;
  ImageDesc in_;
  SwsPtr sws_;
  FramePtr frame_;
  FramePtr direct_ = FramePtr(av_frame_alloc());  // a decoded frame passed as it is (encodeFrame)
  PacketPtr pkt_;
  std::vector<uint8_t> tail_;  // padded copy of the input's last rows (SIMD overread)
  bool haveFrame_ = false;
  bool hw_ = false;  // the encoder takes CUDA frames
  int64_t lastPts_ = INT64_MIN;
  int64_t lastDuration_ = 1;
  std::map<int64_t, int64_t> frameSteps_;  // pts -> the step to the next frame's pts: the packets' durations
  bool headerWritten_ = false;
  bool finished_ = false;
  std::unique_ptr<AudioMux> audio_;
  // live.attempts: the state of a lost connection
  bool disconnected_ = false;
  bool needKey_ = false;     // after a reconnect: video packets dropped until a keyframe
  bool forceKey_ = false;    // after a reconnect: the next frame is encoded as a keyframe
  int attemptsMade_ = 0;     // in the current outage
  int64_t nextAttempt_ = 0;  // av_gettime_relative() microseconds
  std::string lostWhy_;      // the libav error that lost the connection
  std::string lastAttemptError_;
  int64_t sentBytes_ = 0;  // network: bytes sent over lost connections

  mutable std::mutex statsMu_;
  WriterStats stats_;
};

// An output context for the muxer `container` (a short name) writing `path`.
// Throws UNSUPPORTED_FORMAT for an unknown muxer, INVALID_ARGUMENT when libav
// refuses the context.
OutputContextPtr newOutput(const std::string& container, const std::string& path);

// A new stream in `oc` with `s`'s codec parameters, time base, rates,
// disposition and tags: a copy for packets that are not re-encoded.
AVStream* addStreamLike(AVFormatContext* oc, const AVStream* s);
// Opens the output's file or connection (only `protocols`) and writes its
// header, every blocking call under `guard` with a deadline of `openTimeout`
// seconds (0: none). `muxerOpts` may be null; entries the muxer did not take
// stay in it. Throws ABORTED (guard interrupted), TIMEOUT, else CONNECT/IO
// for the open and CONNECT/WRITE for the header.
void openOutputIo(AVFormatContext* oc, const std::string& path, const std::vector<std::string>& protocols,
                  InputGuard& guard, double openTimeout, AVDictionary** muxerOpts);

// openOutputIo with a writer's muxer options (faststart, muxerOptions):
// an option the muxer does not take is an INTERNAL error.
void openWriterOutput(AVFormatContext* oc, const WriterOptions& o, InputGuard& guard, double openTimeout);
// Writes the trailer, flushes and closes the output's file or connection,
// each blocking call under `guard` with a deadline of `stallTimeout` seconds
// (0: none). Returns the bytes written (a connection: sent through this
// context). Throws WRITE (a network URL: DISCONNECTED).
int64_t closeOutput(AVFormatContext* oc, const std::string& path, InputGuard& guard, double stallTimeout);

// The muxer name for a file extension ("" when unknown).
std::string muxerForExtension(const std::string& ext);

}  // namespace avcv
