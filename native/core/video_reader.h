// Sequential video decoding into caller memory: demux -> decode -> one
// swscale pass (crop + scale + pixel format + layout) -> optional rotation.
#pragma once
#include <atomic>
#include <deque>
#include <cstdint>
#include <memory>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <string>
#include <vector>

#include "error.h"
#include "ffptr.h"
#include "filter_graph.h"
#include "frame_index.h"
#include "image.h"
#include "input.h"
#include "log.h"
#include "device.h"
#include "probe.h"

namespace avcv {

struct ReaderOptions {
  InputOptions input;
  int stream = -1;  // -1: libav's best video stream
  int threads = 0;  // codec threads, 0 = auto
  PixFmt format = PixFmt::BGR24;
  Layout layout = Layout::HWC;
  int width = 0, height = 0;              // output size, 0 = source (after crop/rotation)
  Rect crop;                              // in displayed coordinates; width 0 = none
  std::string interpolation = "bicubic";  // a name of image.h's interpolation table
  std::string quality = "fast";           // fast | accurate (swscale's accurate_rnd + full_chroma_int)
  bool autorotate = false;
  bool corruptIsError = false;  // onCorrupt: 'error' (true) | 'skip'
  std::string device = "cpu";   // cpu | cuda | cuda:N | auto
  // Frames are taken decoded by nextDecoded() (transcoding), not converted
  // into caller memory: on NVDEC any even resize is then planned on the GPU.
  bool rawFrames = false;
  // A libavfilter graph between decoding and the conversion ("" = none),
  // built as the CLI's -vf: autorotate's transpose in front of it, and
  // format=<output format> after it when nothing is resized or cropped.
  std::string filter;
};

struct FrameMeta {
  int64_t pts = 0;     // the stream's own timestamp
  double time = 0;     // seconds on the continuous timeline (the index's): where the clock restarts it goes on
  double rawTime = 0;  // pts in seconds, as the stream says
  int64_t duration = 0;
  double durationSeconds = 0;
  int64_t index = 0;
  bool keyframe = false;
  bool corrupt = false;
  bool discontinuity = false;  // the first frame after a live source reconnected
  double receivedAt = 0;       // wall clock (ms since the epoch) when the frame left the decoder
};

struct ReaderStats {
  int64_t framesDecoded = 0;
  int64_t packetsRead = 0;
  int64_t bytesIn = 0;  // the video stream's packet bytes read (a live source's input rate)
  int64_t corruptPackets = 0;
  int64_t decodeErrors = 0;
  int64_t corruptFrames = 0;
  int64_t demuxErrors = 0;
  bool truncated = false;
  int64_t indexScans = 0;
  int64_t gpuScaledFrames = 0;    // frames resized on the GPU (scale_cuda) before their download
  int64_t reconnects = 0;         // a live source reopened after a stall or an end
  int64_t reconnectAttempts = 0;  // attempts to reopen it (successful or not)
  int64_t stalls = 0;             // no packet for live.stallTimeout
  int64_t dropped = 0;            // frames the live queue policy dropped (set by the reader's owner)
  std::string lastError;
};

class VideoReader {
 public:
  // Opens the source, picks the stream, opens the decoder. Throws avcv::Error.
  static std::unique_ptr<VideoReader> open(const ReaderOptions& opts);
  // The same, with a cancel flag the caller keeps: setting it (from any
  // thread) interrupts the open itself (avformat_open_input, probing) and
  // everything the reader does after.
  static std::unique_ptr<VideoReader> open(const ReaderOptions& opts, std::shared_ptr<std::atomic<bool>> cancel);
  ~VideoReader();

  // Decodes the next displayed frame into dst, which must have
  // output().bytes + kDstPadding writable bytes (the padding is scratch).
  // Returns false at the end of the stream. Throws avcv::Error.
  bool next(uint8_t* dst, FrameMeta* meta);

  // For transcoding (options().rawFrames): the next displayed frame as
  // decoded, moved into `out` (unreferenced first). A CUDA frame is resized
  // on the GPU to output() size when gpuScales(); any other frame keeps its
  // decoded size and format. Returns false at the end of the stream.
  bool nextDecoded(AVFrame* out, FrameMeta* meta);
  // True when CUDA frames are resized on the GPU (scale_cuda) before they
  // leave the reader; false when no resize is needed or scale_cuda cannot.
  bool gpuScales() const { return gpuScaler_ != nullptr; }

  // The frame index: what sequential decoding yields. Built on first use by
  // scanning packets, or, where the packets cannot say (no pts, raw streams,
  // damage, a start without a keyframe, shared pts), by decoding the stream
  // once on a reader of its own.
  const FrameIndex& index();
  // A saved index (packets in decode order, and the decoded frames when the
  // index was built by decoding). Packets alone that cannot describe the
  // stream are ignored: the index is then built on first use.
  void loadIndex(std::vector<IndexEntry> packets, std::vector<DecodedFrame> frames, bool haveFrames);
  // Display-order frame i (0-based), exactly: continues decoding when i is
  // ahead within the current run, else seeks to the keyframe it needs. The
  // frame is the one whose packet the index names, found by its tag; a frame
  // that cannot be decoded from any start point is an Error("SEEK").
  // Meant for a reader used only for random access (not mixed with next()).
  void frameAt(int64_t i, uint8_t* dst, FrameMeta* meta);
  // Approximate random access (no index): the first frame whose pts reaches
  // `target` (stream time base) after seeking to the keyframe before it.
  // Continues decoding instead of seeking when the target is just ahead.
  void frameAtPts(int64_t target, int64_t index, uint8_t* dst, FrameMeta* meta);

  // Makes blocking I/O and next() return promptly (from any thread).
  void interrupt() { cancel_->store(true); }

  const ProbeResult& container() const { return container_; }
  const StreamProbe& stream() const { return container_.streams[streamIndex_]; }
  const ImageDesc& output() const { return out_; }
  const ReaderOptions& options() const { return opts_; }
  int rotation() const {
    return rotationCw_ ? rotationCw_ : graphRotation_;
  }  // clockwise degrees applied (0 unless autorotate)
  // The filter graph's output (size, format, time base, frame rate), or null without a filter.
  const FilterPad* filtered() const { return graph_ ? &graph_->output(0) : nullptr; }
  // Why the filter graph cannot serve random access ("" when it can), decided once at open.
  const std::string& filterNotPerFrame() const { return notPerFrame_; }
  Rect effectiveCrop() const { return displayCrop_; }
  std::string decoderName() const;
  const DeviceChoice& device() const { return device_; }
  ReaderStats stats() const;

 private:
  VideoReader() = default;
  static std::unique_ptr<VideoReader> openWith(const ReaderOptions& opts, std::shared_ptr<std::atomic<bool>> cancel);
  void openStream();  // picks the stream, discards the others, probes the container
  // Opens the decoder on `device` ('auto' that NVDEC cannot serve reopens it on 'cpu')
  void openDecoder(const std::string& device);
  void planGeometry();

  // ---- the one decode loop (video_reader.cpp) ----
  enum class Want { Skip, Take, Stop };
  enum class Got { Frame, Stopped, End };
  // Reads, tags and sends packets and receives frames until `want` takes one
  // (it stays in frame_) or stops; End when the decoder is drained.
  Got decodeUntil(const std::function<Want(const AVFrame*)>& want);
  bool readAndSend();            // one demux step; false once the flush packet has been sent
  int readPacket();              // the next packet into pkt_: a pending one (probeNvdec's), else demuxPacket
  int demuxPacket(AVPacket* p);  // av_read_frame under the live stall deadline
  // NVDEC finds out whether it can decode a stream (an H100 has no AV1
  // engine; 4:4:4 H.264) only at the first frame: a throwaway decoder on the
  // device decodes the first packets, kept in pending_ for the real decoder.
  // Returns "" when NVDEC decodes the stream, else why not (openDecoder: a
  // NO_DEVICE error for 'cuda', the CPU decoder with that reason for 'auto').
  std::string probeNvdec();
  // A downloaded NVDEC frame (NV12, P010) in the format the CPU decoder gives
  // (yuv420p, ...), so that every conversion after it is the CPU path's
  AVFrame* asCpuDecoded(AVFrame* f);
  // A live source stopped (why): reopen it with backoff, or throw DISCONNECTED
  // when live.attempts are spent. Returns once packets can be read again.
  void reconnect(const std::string& why);
  int64_t tagFor(const AVPacket* p);  // the packet's decode-order number (-1: unknown)
  bool decodeNext();  // sequential: the next frame (filtered, with a graph) into frame_; false at the end
  bool decodeOne();   // the next decoded frame into frame_ (before any filter)
  void openGraph();   // the filter graph for the stream as opened
  void buildGraph(const FilterPad& in);
  AVFrame* graphInput();              // frame_ as the graph takes it (CUDA frames downloaded; pts set)
  bool filterNext();                  // the next filtered frame into frame_
  void filterCurrent(int64_t i);      // random access: frame_ through a per-frame graph
  void pushCurrent();                 // frame_ into the graph, then released
  bool endOfStream();                 // marks the end (false); throws DECODE when errors were all there was
  std::string noFrameReason() const;  // why a stream that declares frames gave none ("" when it declares none)
  void emit(AVFrame* f, uint8_t* dst, FrameMeta* meta, int64_t index = -1);
  void fillMeta(const AVFrame* f, FrameMeta* meta, int64_t index);  // timestamps, index, corrupt flag
  double seconds(int64_t ts) const;                                 // stream time-base units -> seconds
  double frameSeconds(int64_t ts) const;                            // emitted frames' time base (frameTb_) -> seconds
  void checkSeekable() const;  // FILTER_NOT_SEEKABLE for a graph that is not per-frame
  void emitCurrent(uint8_t* dst, FrameMeta* meta, int64_t index);  // emit frame_, then release it
  Rect cropFor(const AVFrame* f) const;  // the crop for this frame's size (sizes may change mid-stream)
  void countDecoded();
  void noteDecodeError(int ret);  // counts it; throws DECODE under onCorrupt 'error'
  void checkTruncation();

  // ---- random access (seek.cpp) ----
  std::vector<IndexEntry> scanPackets(bool* errors);
  FrameIndex decodeScan(std::string reason);
  std::string whyDecode(std::vector<IndexEntry>* packets, bool scanErrors) const;
  void adoptIndex(FrameIndex ix);
  void seekToPacket(int32_t k);
  bool seekAttempt(int attempt, int32_t k);
  void reopen();
  void resetDecoder();
  int32_t packetIndexOf(const AVPacket* p) const;
  Error notReproducible(int64_t i) const;
  static IndexEntry entryOf(const AVPacket* p);

  std::shared_ptr<std::atomic<bool>> cancel_;
  std::unique_ptr<LogCatcher> log_ = std::make_unique<LogCatcher>();  // what the demuxer and decoder logged
  std::unique_ptr<FrameIndex> index_;
  std::unordered_map<int64_t, int32_t> byPos_;            // unique byte positions -> packet
  std::vector<std::pair<int64_t, int32_t>> ptsToPacket_;  // sorted, for packets without a unique position
  std::vector<IndexEntry>* record_ = nullptr;             // a decode scan records every packet here
  bool seeked_ = false;                                   // packets are identified through the index from now on
  bool raValid_ = false;                                  // a decode run is under way from raSeekKey_
  bool raEof_ = false;                                    // the decoder returned EOF: anything further needs a seek
  int32_t raSeekKey_ = -1;                                // the packet the current run started from
  int32_t raLastSent_ = -1;                               // the furthest packet sent in this run
  int32_t raLastRank_ = -1;                               // display index of the last frame decoded in this run
  // This run decoded damaged data (a decode error or a frame flagged
  // corrupt). libavcodec's frame threads conceal damage differently from run
  // to run, so frames decoded after it are not reproducible with them.
  bool raTainted_ = false;

  ReaderOptions opts_;
  OpenedInput input_;
  ProbeResult container_;
  int streamIndex_ = 0;
  AVStream* st_ = nullptr;
  CodecContextPtr dec_;
  FramePtr frame_;
  FramePtr swFrame_;                       // a CUDA frame downloaded for conversion
  std::unique_ptr<CudaScaler> gpuScaler_;  // resize on the GPU before the download (see open())
  FramePtr gpuFrame_;                      // its output (a CUDA frame)
  bool gpuScaleFailed_ = false;            // then the CPU scales, as without a GPU
  PacketPtr pkt_;
  std::deque<PacketPtr> pending_;  // read by probeNvdec, sent before any further demuxing
  FramePtr cpuFrame_;              // asCpuDecoded's output
  SwsPtr repack_;                  // its converter (NV12 -> yuv420p: a plane split, exact)
  DeviceChoice device_;
  ImageDesc out_;
  ImageDesc pre_;               // before rotation (== out_ when no rotation)
  int swsFlags_ = SWS_BICUBIC;  // from the options' interpolation and quality
  std::unique_ptr<FrameConverter> conv_;
  std::unique_ptr<FilterGraph> graph_;  // opts_.filter's graph (rebuilt when the frame size or format changes)
  FramePtr filtered_;                   // the graph's output
  bool graphFlushed_ = false;           // the end of input was pushed
  int graphRotation_ = 0;               // autorotate done by the graph's head
  std::string notPerFrame_;             // whyNotPerFrame(opts_.filter)
  AVRational frameTb_{1, 1};            // the time base of emitted frames: the stream's or the graph's
  std::vector<uint8_t> rotBuf_;
  int rotationCw_ = 0;
  Rect displayCrop_;
  Rect srcCrop_;
  int srcW_ = 0, srcH_ = 0;  // the frame size planned at open
  int indexedAtOpen_ = 0;    // packets the demuxer's own index held at open (mp4, AVI idx1)
  bool flushed_ = false;
  bool done_ = false;
  int64_t nextIndex_ = 0;
  int64_t lastPts_ = AV_NOPTS_VALUE;
  ContinuousClock clock_;       // frame.time: the index's continuous timeline, frame by frame
  int64_t liveOffset_ = 0;      // added to a live source's pts after reconnects (they continue monotonically)
  std::string liveStop_;        // why a live source stopped, while its decoder drains before a reconnect
  bool discontinuity_ = false;  // the next frame is the first after a reconnect
  int64_t defaultDuration_ = 0;
  int64_t streamPackets_ = 0;
  int consecutiveDemuxErrors_ = 0;
  int postFlushErrors_ = 0;
  mutable std::mutex statsMu_;
  ReaderStats stats_;
};

}  // namespace avcv
