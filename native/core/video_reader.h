// Sequential video decoding into caller memory: demux -> decode -> one
// swscale pass (crop + scale + pixel format + layout) -> optional rotation.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

#include "image.h"
#include "input.h"
#include "hw.h"
#include "probe.h"

namespace avcv {

struct ReaderOptions {
  InputOptions input;
  int stream = -1;  // -1: libav's best video stream
  int threads = 0;  // codec threads, 0 = auto
  PixFmt format = PixFmt::BGR24;
  Layout layout = Layout::HWC;
  int width = 0, height = 0;  // output size, 0 = source (after crop/rotation)
  Rect crop;                  // in displayed coordinates; width 0 = none
  int swsFlags = SWS_BICUBIC;
  bool autorotate = false;
  bool corruptIsError = false;  // onCorrupt: 'error' (true) | 'skip'
  std::string device = "cpu";   // cpu | cuda | cuda:N | auto
  // Frames are taken decoded by nextDecoded() (transcoding), not converted
  // into caller memory: on NVDEC any even resize is then planned on the GPU.
  bool rawFrames = false;
};

struct FrameMeta {
  int64_t pts = 0;
  double time = 0;
  int64_t duration = 0;
  double durationSeconds = 0;
  int64_t index = 0;
  bool keyframe = false;
  bool corrupt = false;
};

// Every frame of the stream by packet scan (no decoding): what exact random
// access needs. Display order is packet pts order; packets the demuxer marks
// as discarded (before an edit list's start) are not frames.
struct IndexEntry {
  int64_t pts = 0;  // pts, or dts where the packet has none
  int64_t dts = 0;
  int64_t pos = -1;
  bool key = false;
  bool dtsValid = true;  // the container gave a dts (mkv gives none: dts = pts then)
  int32_t segment = 0;  // timestamp discontinuities (dts going back) start a new one
};
struct FrameIndex {
  std::vector<IndexEntry> packets;  // decode order
  std::vector<int32_t> display;     // display index -> packet
  std::vector<int32_t> startKey;    // display index -> keyframe packet to decode from
  std::vector<int32_t> dupRank;     // display index -> occurrence among frames sharing its pts
  std::vector<int32_t> keys;        // key packets, decode order
  std::vector<int64_t> continuousPts;  // display index -> pts made continuous across segments
  bool discontinuous = false;       // frames are then found by byte seeks and packet positions
};

struct ReaderStats {
  int64_t framesDecoded = 0;
  int64_t packetsRead = 0;
  int64_t corruptPackets = 0;
  int64_t decodeErrors = 0;
  int64_t corruptFrames = 0;
  int64_t demuxErrors = 0;
  bool truncated = false;
  int64_t indexScans = 0;
  int64_t gpuScaledFrames = 0;  // frames resized on the GPU (scale_cuda) before their download
  std::string lastError;
};

class VideoReader {
 public:
  // Opens the source, picks the stream, opens the decoder. Throws avcv::Error.
  static std::unique_ptr<VideoReader> open(const ReaderOptions& opts);
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

  // The frame index, built on first use by scanning packets; rewinds.
  const FrameIndex& index();
  // Approximate random access (no index): the first frame whose pts reaches
  // `target` (stream time base) after seeking to the keyframe before it.
  // Continues decoding instead of seeking when the target is just ahead.
  void frameAtPts(int64_t target, int64_t index, uint8_t* dst, FrameMeta* meta);
  // Uses a saved index (packets in decode order) instead of scanning.
  void setIndex(std::vector<IndexEntry> packets);
  // Display-order frame i (0-based), exactly: continues decoding when i is
  // ahead within the current GOP run, else seeks to the keyframe it needs.
  // Meant for a reader used only for random access (not mixed with next()).
  void frameAt(int64_t i, uint8_t* dst, FrameMeta* meta);

  // Makes blocking I/O and next() return promptly (from any thread).
  void interrupt() { input_.guard->interrupted.store(true); }

  const ProbeResult& container() const { return container_; }
  const StreamProbe& stream() const { return container_.streams[streamIndex_]; }
  const ImageDesc& output() const { return out_; }
  const ReaderOptions& options() const { return opts_; }
  int rotation() const { return rotationCw_; }  // clockwise degrees applied (0 unless autorotate)
  Rect effectiveCrop() const { return displayCrop_; }
  std::string decoderName() const;
  const DeviceChoice& device() const { return device_; }
  ReaderStats stats() const;

 private:
  VideoReader() = default;
  void emit(AVFrame* f, uint8_t* dst, FrameMeta* meta, int64_t index = -1);
  void fillMeta(const AVFrame* f, FrameMeta* meta, int64_t index);  // timestamps, index, corrupt flag
  bool decodeRaw();  // next decoded frame into frame_ (not converted); false at the end
  bool endOfStream();  // marks the end (false); throws DECODE when errors were all there was
  void emitCurrent(uint8_t* dst, FrameMeta* meta, int64_t index);  // emit frame_, then release it
  void countDecoded();
  void noteDecodeError(int ret);  // counts it; throws DECODE under onCorrupt 'error' 
  void seekToPacket(int32_t k);
  std::unique_ptr<FrameIndex> index_;
  std::vector<std::pair<int64_t, int32_t>> ptsToPacket_;  // sorted, for lookups
  int32_t raLastSent_ = -1;
  int64_t raLastPts_ = INT64_MIN;
  bool raValid_ = false;
  bool raEof_ = false;         // the decoder returned EOF: anything further needs a seek
  int64_t raCountPts_ = AV_NOPTS_VALUE;  // pts of the last frames decoded since the seek ...
  int32_t raCount_ = 0;                  // ... and how many had it (duplicate pts)
  int32_t packetIndexOf(const AVPacket* p) const;
  bool seekAttempt(int attempt, int32_t k);
  void checkTruncation();

  ReaderOptions opts_;
  OpenedInput input_;
  ProbeResult container_;
  int streamIndex_ = 0;
  AVStream* st_ = nullptr;
  CodecContextPtr dec_;
  FramePtr frame_;
  FramePtr swFrame_;  // a CUDA frame downloaded for conversion
  std::unique_ptr<CudaScaler> gpuScaler_;  // resize on the GPU before the download (see open())
  FramePtr gpuFrame_;                      // its output (a CUDA frame)
  bool gpuScaleFailed_ = false;            // then the CPU scales, as without a GPU
  PacketPtr pkt_;
  DeviceChoice device_;
  ImageDesc out_;
  ImageDesc pre_;  // before rotation (== out_ when no rotation)
  std::unique_ptr<FrameConverter> conv_;
  std::vector<uint8_t> rotBuf_;
  int rotationCw_ = 0;
  Rect displayCrop_;
  Rect srcCrop_;
  bool flushed_ = false;
  bool done_ = false;
  int64_t nextIndex_ = 0;
  int64_t lastPts_ = AV_NOPTS_VALUE;
  int64_t defaultDuration_ = 0;
  int64_t streamPackets_ = 0;
  int consecutiveDemuxErrors_ = 0;
  int postFlushErrors_ = 0;
  mutable std::mutex statsMu_;
  ReaderStats stats_;
};

}  // namespace avcv
