#include "ladder.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "device.h"
#include "error.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace avcv {
namespace {

// What every worker thread shares with the job: a stop flag and the first
// error, under one lock.
class WorkerBase {
 public:
  WorkerBase() = default;
  WorkerBase(const WorkerBase&) = delete;
  WorkerBase& operator=(const WorkerBase&) = delete;
  virtual ~WorkerBase() = default;
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    join();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool failed() const { return failed_.load(); }
  void rethrow() {
    std::lock_guard<std::mutex> lk(mu_);
    if (err_) std::rethrow_exception(err_);
  }

 protected:
  void start() {
    thread_ = std::thread([this] { guarded(); });
  }
  virtual void run() = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;

 private:
  void guarded() {
    try {
      run();
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      err_ = std::current_exception();
      failed_.store(true);
    }
    cv_.notify_all();
  }
  std::atomic<bool> failed_{false};
  std::exception_ptr err_;
  std::thread thread_;
};

// One rendition: a writer (scale + encode + segmenting muxer) on its own
// thread, fed decoded frames by reference through a short queue.
class RenditionWorker : public WorkerBase {
 public:
  static constexpr size_t kQueue = 6;
  explicit RenditionWorker(WriterOptions o) : o_(std::move(o)) { start(); }
  ~RenditionWorker() override { stop(); }
  // Waits for room; false when the worker failed or was stopped.
  bool push(FramePtr f, int64_t pts, bool key) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return q_.size() < kQueue || failed() || stop_; });
    if (failed() || stop_) return false;
    q_.push_back(Item{std::move(f), pts, key});
    cv_.notify_all();
    return true;
  }
  void end() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      ended_ = true;
    }
    cv_.notify_all();
  }
  int64_t frames() const { return frames_.load(); }
  const WriterStats& stats() const { return stats_; }  // after join()

 private:
  struct Item {
    FramePtr frame;
    int64_t pts = 0;
    bool key = false;
  };
  void run() override {
    std::unique_ptr<VideoWriter> w;
    for (;;) {
      Item it;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return !q_.empty() || ended_ || stop_; });
        if (stop_) return;
        if (q_.empty()) break;
        it = std::move(q_.front());
        q_.pop_front();
      }
      cv_.notify_all();
      if (!w) w = VideoWriter::open(o_);
      if (it.key) w->forceKeyframe();
      w->encodeFrame(it.frame.get(), it.pts);
      frames_.fetch_add(1);
    }
    if (w) {
      w->finish();
      stats_ = w->stats();
    }
  }
  WriterOptions o_;
  std::deque<Item> q_;
  bool ended_ = false;
  std::atomic<int64_t> frames_{0};
  WriterStats stats_;
};

// The audio rendition: the source's audio decoded and encoded once into an
// audio-only segmenting muxer, pumped up to the decoded video's time.
class AudioWorker : public WorkerBase {
 public:
  explicit AudioWorker(WriterOptions o) : o_(std::move(o)) { start(); }
  ~AudioWorker() override { stop(); }
  void advance(double until) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      until_ = std::max(until_, until);
    }
    cv_.notify_all();
  }
  void finish(double end) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      until_ = end;
      final_ = true;
    }
    cv_.notify_all();
  }
  std::string mode, codec;  // after join()
  double duration = 0;
  int64_t packets = 0;

 private:
  void run() override {
    out_ = newOutput(o_.container, o_.path);
    AVFormatContext* oc = out_.get();
    guard_.interrupted = std::make_shared<std::atomic<bool>>(false);
    mux_ = std::make_unique<AudioMux>(o_.audio, o_.container, oc, [this](AVPacket* p, int index) {
      p->stream_index = index;
      const int r = av_interleaved_write_frame(out_.get(), p);
      if (r < 0) throwAvError(r, "writing '" + o_.path + "' failed", "WRITE");
      packets++;
    });
    mode = mux_->mode();
    codec = mux_->codec();
    if (mux_->empty()) return;  // no audio stream after all: no rendition
    openWriterOutput(oc, o_, guard_, 0);
    double done = -1;
    for (;;) {
      double until;
      bool last;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || final_ || until_ > done; });
        if (stop_) return;
        until = until_;
        last = final_;
      }
      mux_->pump(until, last);
      done = until;
      if (last) break;
    }
    closeOutput(out_.get(), o_.path, guard_, 0);
    duration = mux_->duration();
  }
  WriterOptions o_;
  InputGuard guard_;  // outlives out_
  OutputContextPtr out_;
  std::unique_ptr<AudioMux> mux_;
  double until_ = 0;
  bool final_ = false;
};

// Every worker stopped and joined on the way out, whatever happens.
struct Workers {
  std::vector<std::unique_ptr<RenditionWorker>> video;
  std::unique_ptr<AudioWorker> audio;
  ~Workers() {
    for (auto& w : video) w->stop();
    if (audio) audio->stop();
  }
  void rethrowFirst() {
    for (auto& w : video)
      if (w->failed()) w->rethrow();
    if (audio && audio->failed()) audio->rethrow();
  }
  bool anyFailed() const {
    for (const auto& w : video)
      if (w->failed()) return true;
    return audio && audio->failed();
  }
};

bool hasOption(const AVCodec* c, const char* name) {
  if (!c || !c->priv_class) return false;
  const AVClass* const* cls = &c->priv_class;
  return av_opt_find(const_cast<AVClass**>(cls), name, nullptr, 0, AV_OPT_SEARCH_FAKE_OBJ) != nullptr;
}

}  // namespace

LadderResult ladder(const LadderOptions& o, TranscodeControl& ctl) {
  if (o.renditions.empty()) throw Error("INVALID_ARGUMENT", "a ladder needs at least one rendition");
  if (!(o.segmentDuration > 0)) throw Error("INVALID_ARGUMENT", "the segment duration must be positive");
  ReaderOptions ro = o.reader;
  ro.rawFrames = true;
  ro.format = PixFmt::YUV420P;
  ro.layout = Layout::PLANAR;
  ro.width = ro.height = 0;  // each rendition scales the decoded frame itself
  if (ctl.cancelled()) throw Error("ABORTED", "the ladder was cancelled", AVERROR_EXIT);
  std::unique_ptr<VideoReader> reader = VideoReader::open(ro);
  ctl.attach(reader.get());
  struct Detach {
    TranscodeControl& ctl;
    ~Detach() { ctl.attach(nullptr); }
  } detach{ctl};

  LadderResult res;
  res.device = reader->device();
  res.decoder = reader->decoderName();
  const StreamProbe& st = reader->stream();
  const FilterPad* graph = reader->filtered();
  Rational fps{0, 1};
  if (graph && graph->frameRate.num > 0 && graph->frameRate.den > 0) fps = {graph->frameRate.num, graph->frameRate.den};
  if (fps.num <= 0) fps = st.avgFrameRate.num > 0 ? st.avgFrameRate : st.baseFrameRate;
  if (fps.num <= 0 || fps.den <= 0) fps = {25, 1};
  const Rational tb = graph ? Rational{graph->timeBase.num, graph->timeBase.den} : st.timeBase;
  res.timeBase = tb;
  const AVRational tbq{tb.num, tb.den};
  // the hls muxer's hls_time is a duration in microseconds: the same numbers
  const int64_t segUs = std::llround(o.segmentDuration * 1e6);
  const int gop = std::max(1, static_cast<int>(std::lround(o.segmentDuration * av_q2d({fps.num, fps.den}))));

  Workers workers;
  std::vector<int64_t> lastSlot(o.renditions.size(), -1), skipped(o.renditions.size(), 0);
  FramePtr frame(av_frame_alloc()), sw(av_frame_alloc());
  if (!frame || !sw) throw Error("ENOMEM", "allocation failed");
  FrameMeta meta;
  int64_t firstPts = 0, lastPts = 0, lastStep = 1, count = 0, boundary = 0;
  auto failedOrCancelled = [&] {
    if (ctl.cancelled()) throw Error("ABORTED", "the ladder was cancelled", AVERROR_EXIT);
    workers.rethrowFirst();
  };
  while (reader->nextDecoded(frame.get(), &meta)) {
    failedOrCancelled();
    AVFrame* in = frame.get();
    if (in->format == AV_PIX_FMT_CUDA) {
      downloadFrame(sw.get(), in);
      in = sw.get();
    }
    if (count == 0) {
      firstPts = meta.pts;
      for (size_t i = 0; i < o.renditions.size(); i++) {
        WriterOptions wo = o.renditions[i];
        wo.frameInput = true;
        wo.swsFlags = swsFlagsFor(ro.interpolation, ro.quality);
        wo.fps = fps;
        const double cap = i < o.maxFps.size() ? o.maxFps[i] : 0;
        if (cap > 0 && cap < av_q2d({fps.num, fps.den})) {
          const AVRational q = av_d2q(cap, 1001000);
          wo.fps = {q.num, q.den};
        }
        wo.timeBase = tb;
        if (wo.gop < 0) wo.gop = gop;
        // a forced keyframe is an IDR (a segment a player can start on)
        if (hasOption(avcodec_find_encoder_by_name(wo.codec.c_str()), "forced-idr"))
          wo.codecOptions.emplace("forced-idr", "1");
        if (in->colorspace != AVCOL_SPC_UNSPECIFIED) wo.colorspace = in->colorspace;
        if (in->color_range != AVCOL_RANGE_UNSPECIFIED) wo.colorRange = in->color_range;
        if (in->color_primaries != AVCOL_PRI_UNSPECIFIED) wo.colorPrimaries = in->color_primaries;
        if (in->color_trc != AVCOL_TRC_UNSPECIFIED) wo.colorTrc = in->color_trc;
        wo.audio.mode = "none";
        // fMP4 segments: parameter sets in the init segment's sample entry,
        // and HEVC as 'hvc1' (the sample entry Apple's players require)
        if (wo.muxerOptions.count("hls_segment_type") && wo.muxerOptions.at("hls_segment_type") == "fmp4") {
          wo.globalHeader = true;
          const AVCodec* c = avcodec_find_encoder_by_name(wo.codec.c_str());
          if (c && c->id == AV_CODEC_ID_HEVC) wo.codecTag = "hvc1";
        }
        workers.video.push_back(std::make_unique<RenditionWorker>(std::move(wo)));
      }
      if (!o.audio.path.empty()) {
        WriterOptions ao = o.audio;
        ao.audio.shift = -meta.time;  // the first video frame at 0, as transform's
        ao.audio.start = meta.time;
        workers.audio = std::make_unique<AudioWorker>(std::move(ao));
      }
    }
    // a repeated or backwards timestamp is nudged forward, as the CLI does
    int64_t pts = meta.pts - firstPts;
    if (count > 0 && pts <= lastPts) pts = lastPts + 1;
    if (count > 0) lastStep = pts - lastPts;
    // a segment starts at the first frame whose time reaches the next
    // multiple of the segment duration: the hls muxer's own test (one
    // boundary per cut, as it counts them)
    bool key = false;
    if (av_compare_ts(pts, tbq, boundary * segUs, AV_TIME_BASE_Q) >= 0) {
      key = true;
      res.segmentStarts.push_back(pts);
      boundary++;
    }
    const double t = pts * av_q2d(tbq);
    for (size_t i = 0; i < workers.video.size(); i++) {
      // a frame-rate cap: the first frame of each slot (a segment's first always)
      const double cap = i < o.maxFps.size() ? o.maxFps[i] : 0;
      if (cap > 0) {
        const int64_t slot = static_cast<int64_t>(std::floor(t * cap + 1e-6));
        if (!key && slot <= lastSlot[i]) {
          skipped[i]++;
          continue;
        }
        lastSlot[i] = slot;
      }
      FramePtr ref(av_frame_clone(in));
      if (!ref) throw Error("ENOMEM", "av_frame_clone failed");
      if (!workers.video[i]->push(std::move(ref), pts, key)) failedOrCancelled();
    }
    if (workers.audio) workers.audio->advance(t);
    lastPts = pts;
    count++;
    int64_t done = count;
    for (size_t i = 0; i < workers.video.size(); i++) done = std::min(done, workers.video[i]->frames() + skipped[i]);
    ctl.frames.store(done);
  }
  if (count == 0) throw Error("NO_FRAMES", "'" + ro.input.source + "' gave no frames");
  for (auto& w : workers.video) w->end();
  for (auto& w : workers.video) w->join();
  workers.rethrowFirst();
  if (ctl.cancelled()) throw Error("ABORTED", "the ladder was cancelled", AVERROR_EXIT);
  res.end = lastPts + lastStep;
  if (workers.audio) {
    workers.audio->finish(res.end * av_q2d(tbq));
    workers.audio->join();
    workers.audio->rethrow();
    res.audioMode = workers.audio->mode;
    res.audioCodec = workers.audio->codec;
    res.audioDuration = workers.audio->duration;
    res.audioPackets = workers.audio->packets;
  }
  ctl.frames.store(count);
  res.framesIn = count;
  for (auto& w : workers.video) res.renditions.push_back(w->stats());
  res.reader = reader->stats();
  return res;
}

}  // namespace avcv
