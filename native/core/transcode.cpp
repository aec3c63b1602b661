#include "transcode.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <thread>

#include "device.h"
#include "error.h"

extern "C" {
#include <libavutil/hwcontext.h>
}

namespace avcv {

void TranscodeControl::cancel() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lk(mu_);
  if (reader_) reader_->interrupt();  // blocking I/O returns promptly
}

void TranscodeControl::attach(VideoReader* r) {
  std::lock_guard<std::mutex> lk(mu_);
  reader_ = r;
  if (r && cancelled_.load()) r->interrupt();
}

namespace {

struct Detach {
  TranscodeControl& ctl;
  ~Detach() { ctl.attach(nullptr); }
};

// Decoding runs on its own thread, up to kAhead frames ahead of the encoder,
// so that decode (and NVDEC/scale_cuda work) overlaps encode.
class DecodeAhead {
 public:
  static constexpr size_t kAhead = 4;
  explicit DecodeAhead(VideoReader& r) : reader_(r), thread_([this] { run(); }) {}
  ~DecodeAhead() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (!eof_) reader_.interrupt();  // a read blocked on I/O returns
    thread_.join();
  }
  // The next frame (moved into `out`), false at the end; rethrows the
  // decoder's error.
  bool next(AVFrame* out, FrameMeta* meta) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return !q_.empty() || eof_; });
    if (q_.empty()) {
      if (err_) std::rethrow_exception(err_);
      return false;
    }
    av_frame_unref(out);
    av_frame_move_ref(out, q_.front().frame.get());
    *meta = q_.front().meta;
    q_.pop_front();
    cv_.notify_all();
    return true;
  }

 private:
  struct Item {
    FramePtr frame;
    FrameMeta meta;
  };
  void run() {
    try {
      for (;;) {
        Item it{FramePtr(av_frame_alloc()), FrameMeta()};
        if (!it.frame) throw Error("ENOMEM", "av_frame_alloc failed");
        const bool ok = reader_.nextDecoded(it.frame.get(), &it.meta);
        std::unique_lock<std::mutex> lk(mu_);
        if (!ok) break;
        cv_.wait(lk, [this] { return q_.size() < kAhead || stop_; });
        if (stop_) return;
        q_.push_back(std::move(it));
        cv_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      err_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lk(mu_);
    eof_ = true;
    cv_.notify_all();
  }
  VideoReader& reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> q_;
  bool stop_ = false;
  std::atomic<bool> eof_{false};
  std::exception_ptr err_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace

TranscodeResult transcode(const TranscodeOptions& o, TranscodeControl& ctl) {
  ReaderOptions ro = o.reader;
  ro.rawFrames = true;
  ro.format = PixFmt::YUV420P;  // sizes derived from one side come out even, as 4:2:0 needs
  ro.layout = Layout::PLANAR;
  if (ro.autorotate || ro.crop.width > 0)
    throw Error("INVALID_ARGUMENT", "transcoding without fn takes no crop or autorotate");
  const std::string& src = ro.input.source;
  if (ctl.cancelled()) throw Error("ABORTED", "the transcode was cancelled", AVERROR_EXIT);
  std::unique_ptr<VideoReader> reader = VideoReader::open(ro);
  ctl.attach(reader.get());
  Detach detach{ctl};

  TranscodeResult res;
  res.device = reader->device();
  res.decoder = reader->decoderName();
  const StreamProbe& st = reader->stream();
  res.outWidth = reader->output().width;
  res.outHeight = reader->output().height;

  WriterOptions wo = o.writer;
  wo.frameInput = true;
  wo.swsFlags = swsFlagsFor(ro.interpolation, ro.quality);
  if (wo.width <= 0 || wo.height <= 0) {
    wo.width = res.outWidth;
    wo.height = res.outHeight;
  }
  const FilterPad* graph = reader->filtered();  // a videoFilter: its rate and time base are the frames'
  if (graph && (wo.fps.num <= 0 || wo.fps.den <= 0) && graph->frameRate.num > 0 && graph->frameRate.den > 0)
    wo.fps = {graph->frameRate.num, graph->frameRate.den};
  if (wo.fps.num <= 0 || wo.fps.den <= 0) wo.fps = st.avgFrameRate.num > 0 ? st.avgFrameRate : st.baseFrameRate;
  if (wo.fps.num <= 0 || wo.fps.den <= 0) wo.fps = {25, 1};
  if (o.cfr) wo.timeBase = {wo.fps.den, wo.fps.num};
  else if (wo.timeBase.num <= 0) wo.timeBase = graph ? Rational{graph->timeBase.num, graph->timeBase.den} : st.timeBase;

  // Can the frames stay on the GPU? Decided before the first frame where
  // the options decide it, then by the first frame itself.
  std::string why;
  const bool resized = !graph && (res.outWidth != st.width || res.outHeight != st.height);
  if (o.passthrough == 0) why = "gpuPassthrough is false";
  else if (graph) why = "the videoFilter graph runs on the CPU";
  else if (res.device.type != "cuda")
    why = "decoding is on the CPU" + (res.device.fallbackReason.empty() ? "" : " (" + res.device.fallbackReason + ")");
  else if (!isNvenc(avcodec_find_encoder_by_name(wo.codec.c_str())))
    why = "the encoder '" + wo.codec + "' is not NVENC";
  else if (wo.pixelFormat != "yuv420p" && wo.pixelFormat != "nv12")
    why = "pixelFormat '" + wo.pixelFormat + "' needs a conversion on the CPU";
  else if (resized && !reader->gpuScales())
    why = "scale_cuda cannot make this resize (" + std::to_string(res.outWidth) + "x" + std::to_string(res.outHeight) +
          ", interpolation or filter missing)";
  if (o.passthrough == 1 && !why.empty())
    throw Error("NO_DEVICE", "gpuPassthrough is not possible for '" + src + "': " + why);

  FramePtr frame(av_frame_alloc()), sw(av_frame_alloc());
  if (!frame || !sw) throw Error("ENOMEM", "allocation failed");
  std::unique_ptr<VideoWriter> writer;
  bool passthrough = false;
  int64_t firstPts = 0, lastPts = 0, count = 0;
  FrameMeta meta;
  DecodeAhead ahead(*reader);
  while (ahead.next(frame.get(), &meta)) {
    if (ctl.cancelled()) throw Error("ABORTED", "the transcode was cancelled", AVERROR_EXIT);
    if (!writer) {
      if (why.empty() && frame->format != AV_PIX_FMT_CUDA)
        why = "NVDEC returned a software frame (the GPU cannot decode this stream)";
      if (o.passthrough == 1 && !why.empty())
        throw Error("NO_DEVICE", "gpuPassthrough is not possible for '" + src + "': " + why);
      passthrough = why.empty();
      firstPts = meta.pts;
      // the source's audio, shifted as the video is (its first frame at 0)
      wo.audio.shift = -meta.time;
      wo.audio.start = meta.time;
      if (frame->colorspace != AVCOL_SPC_UNSPECIFIED) wo.colorspace = frame->colorspace;
      if (frame->color_range != AVCOL_RANGE_UNSPECIFIED) wo.colorRange = frame->color_range;
      if (frame->color_primaries != AVCOL_PRI_UNSPECIFIED) wo.colorPrimaries = frame->color_primaries;
      if (frame->color_trc != AVCOL_TRC_UNSPECIFIED) wo.colorTrc = frame->color_trc;
      writer = VideoWriter::open(wo, passthrough ? frame->hw_frames_ctx : nullptr);
    }
    AVFrame* in = frame.get();
    if (in->format == AV_PIX_FMT_CUDA && !passthrough) {
      downloadFrame(sw.get(), in);
      in = sw.get();
    }
    // a repeated or backwards timestamp is nudged forward, as the CLI does
    int64_t pts = o.cfr ? count : meta.pts - firstPts;
    if (count > 0 && pts <= lastPts) pts = lastPts + 1;
    lastPts = pts;
    writer->encodeFrame(in, pts);
    ctl.frames.store(++count);
  }
  if (!writer) throw Error("NO_FRAMES", "'" + src + "' gave no frames to write");
  writer->finish();
  res.path = passthrough ? "gpu-passthrough" : "native";
  if (!passthrough && o.reader.device != "cpu") res.passthroughReason = why;
  res.framesIn = count;
  res.reader = reader->stats();
  res.writer = writer->stats();
  return res;
}

}  // namespace avcv
