#include "video_reader.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "error.h"

extern "C" {
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
}

namespace avcv {
namespace {

// Clockwise degrees (0/90/180/270) the display matrix asks for, as the ffmpeg
// CLI's autorotate reads it; 0 for no matrix or a non-right angle.
int clockwiseRotation(const StreamProbe& s) {
  if (!s.hasRotation) return 0;
  double theta = std::fmod(-s.rotation, 360.0);
  if (theta < 0) theta += 360.0;
  for (int r : {0, 90, 180, 270, 360})
    if (std::fabs(theta - r) < 1.0) return r % 360;
  return 0;
}

// Displayed-coordinates rectangle -> source-coordinates rectangle.
Rect toSourceRect(const Rect& d, int rot, int srcW, int srcH) {
  switch (rot) {
    case 90: return {d.y, srcH - d.x - d.width, d.height, d.width};
    case 270: return {srcW - d.y - d.height, d.x, d.height, d.width};
    case 180: return {srcW - d.x - d.width, srcH - d.y - d.height, d.width, d.height};
    default: return d;
  }
}

// Source-coordinates rectangle -> displayed coordinates (the inverse).
Rect toDisplayRect(const Rect& s, int rot, int srcW, int srcH) {
  switch (rot) {
    case 90: return {srcH - s.y - s.height, s.x, s.height, s.width};
    case 270: return {s.y, srcW - s.x - s.width, s.height, s.width};
    case 180: return {srcW - s.x - s.width, srcH - s.y - s.height, s.width, s.height};
    default: return s;
  }
}

std::string str(int v) { return std::to_string(v); }

}  // namespace

std::unique_ptr<VideoReader> VideoReader::open(const ReaderOptions& opts) {
  return openWith(opts, std::make_shared<std::atomic<bool>>(false));
}

std::unique_ptr<VideoReader> VideoReader::open(const ReaderOptions& opts, std::shared_ptr<std::atomic<bool>> cancel) {
  return openWith(opts, std::move(cancel));
}

std::unique_ptr<VideoReader> VideoReader::openWith(const ReaderOptions& opts,
                                                   std::shared_ptr<std::atomic<bool>> cancel) {
  std::unique_ptr<VideoReader> r(new VideoReader());
  r->opts_ = opts;
  r->opts_.input.cancel = nullptr;       // every reader opened from these options gets its own flag
  r->opts_.input.live.needVideo = true;  // reconnects too
  r->cancel_ = std::move(cancel);
  r->swsFlags_ = swsFlagsFor(opts.interpolation, opts.quality);
  InputOptions io = r->opts_.input;
  io.cancel = r->cancel_;
  r->input_ = openInput(io, r->log_.get());
  r->openStream();
  r->openDecoder(r->opts_.device);
  r->log_->watch(r->dec_.get());
  r->frame_.reset(av_frame_alloc());
  r->pkt_.reset(av_packet_alloc());
  if (!r->frame_ || !r->pkt_) throw Error("ENOMEM", "allocation failed");
  AVRational fr = r->st_->avg_frame_rate.num > 0 ? r->st_->avg_frame_rate : r->st_->r_frame_rate;
  if (fr.num > 0 && fr.den > 0) r->defaultDuration_ = av_rescale_q(1, av_inv_q(fr), r->st_->time_base);
  r->clock_.setStep(r->defaultDuration_);
  r->frameTb_ = r->st_->time_base;
  if (!opts.filter.empty()) r->openGraph();
  r->planGeometry();
  return r;
}

void VideoReader::openStream() {
  AVFormatContext* ctx = input_.ctx.get();
  streamIndex_ = selectStream(ctx, AVMEDIA_TYPE_VIDEO, opts_.stream, opts_.input.source);
  st_ = ctx->streams[streamIndex_];
  container_ = probeContext(ctx);
  indexedAtOpen_ = avformat_index_get_entries_count(st_);
}

void VideoReader::openDecoder(const std::string& device) {
  const AVCodecParameters* par = st_->codecpar;
  const std::string& src = opts_.input.source;
  const AVCodec* codec = findDecoder(par->codec_id, device);
  if (!codec)
    throw Error("UNSUPPORTED_CODEC", "no decoder for codec '" + stream().codec + "' in '" + src + "'",
                AVERROR_DECODER_NOT_FOUND);
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  int ret = avcodec_parameters_to_context(dec_.get(), par);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_to_context", "DECODE");
  dec_->pkt_timebase = st_->time_base;
  dec_->thread_count = opts_.threads;
  // A live source read for latency (queue 'latest' or 'dropOldest'): slice
  // threads only, as frame threads hold one frame per thread back; 'block'
  // (every frame, throughput first) keeps frame threads.
  const bool lowDelay = opts_.input.live.enabled && opts_.input.live.queue != "block";
  dec_->thread_type = lowDelay ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
  device_ = attachNvdec(dec_.get(), device, stream().codec);
  ret = avcodec_open2(dec_.get(), codec, nullptr);
  if (ret < 0) throwAvError(ret, "cannot open decoder '" + std::string(codec->name) + "'", "DECODE");
  if (par->width <= 0 || par->height <= 0)
    throw Error("INVALID_DATA", "video stream " + str(streamIndex_) + " of '" + src + "' has no frame size");
  if (device_.type != "cuda") return;
  const std::string why = probeNvdec();
  if (why.empty()) return;
  std::string type;
  int index = 0;
  parseDevice(device, &type, &index);
  if (type == "cuda") throw Error("NO_DEVICE", "device '" + device + "' is not usable: " + why);
  // 'auto': the CPU decoder, as device 'cpu' opens it (the probe's packets stay pending)
  openDecoder("cpu");
  device_.requested = device;
  device_.fallbackReason = why;
}

namespace {
// get_format for the NVDEC probe: CUDA when offered; libav offers the list
// again without CUDA when its hwaccel did not initialise, which is the failure
AVPixelFormat probeFormat(AVCodecContext* c, const AVPixelFormat* fmts) {
  for (const AVPixelFormat* p = fmts; *p != AV_PIX_FMT_NONE; p++)
    if (*p == AV_PIX_FMT_CUDA) return *p;
  *static_cast<bool*>(c->opaque) = true;  // offered again without CUDA: failed
  return fmts[0];
}
}  // namespace

std::string VideoReader::probeNvdec() {
  pending_.clear();
  const AVCodecParameters* par = st_->codecpar;
  CodecContextPtr probe(avcodec_alloc_context3(dec_->codec));
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!probe || !pkt || !frame) throw Error("ENOMEM", "allocation failed");
  int ret = avcodec_parameters_to_context(probe.get(), par);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_to_context", "DECODE");
  probe->pkt_timebase = st_->time_base;
  probe->thread_count = 1;
  probe->hw_device_ctx = av_buffer_ref(dec_->hw_device_ctx);
  bool failed = false;
  probe->opaque = &failed;
  probe->get_format = probeFormat;
  LogCatcher log;
  log.watch(probe.get());
  struct Unwatch {
    LogCatcher& l;
    const void* c;
    ~Unwatch() { l.unwatch(c); }
  } unwatch{log, probe.get()};
  ret = avcodec_open2(probe.get(), dec_->codec, nullptr);
  bool decided = ret < 0;
  failed = ret < 0;
  // until a frame comes out or the hwaccel fails; a stream that gives no
  // frame in its first 256 packets stays on the device (as before the probe)
  int64_t bytes = 0;
  for (int n = 0; !decided && n < 256 && bytes < (64 << 20);) {
    ret = demuxPacket(pkt.get());
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret < 0) break;  // the main loop meets the end or the error again
    const bool ours = pkt->stream_index == streamIndex_;
    PacketPtr kept(av_packet_alloc());
    if (!kept) throw Error("ENOMEM", "allocation failed");
    av_packet_move_ref(kept.get(), pkt.get());
    pending_.push_back(std::move(kept));
    if (!ours) continue;
    n++;
    bytes += pending_.back()->size;
    if (avcodec_send_packet(probe.get(), pending_.back().get()) < 0 && failed) break;
    while (!decided) {
      const int r = avcodec_receive_frame(probe.get(), frame.get());
      if (r < 0) break;
      decided = true;
      failed = failed || frame->format != AV_PIX_FMT_CUDA;
    }
    decided = decided || failed;
  }
  if (!failed) return "";
  std::string said = log.recentErrors();
  if (said.empty()) said = ret < 0 ? avErrorString(ret) : "the hardware decoder did not initialise";
  const char* pf = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  return "NVDEC cannot decode this " + stream().codec + " stream (" + (pf ? pf : "?") + ", " + str(par->width) + "x" +
         str(par->height) + "): " + said;
}

AVFrame* VideoReader::asCpuDecoded(AVFrame* f) {
  const AVPixelFormat want = static_cast<AVPixelFormat>(st_->codecpar->format);
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(want);
  if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || f->format == want) return f;
  if (!cpuFrame_) cpuFrame_.reset(av_frame_alloc());
  if (!cpuFrame_) throw Error("ENOMEM", "allocation failed");
  if (!keepBuffers(cpuFrame_.get(), want, f->width, f->height)) {
    cpuFrame_->format = want;
    cpuFrame_->width = f->width;
    cpuFrame_->height = f->height;
    const int ret = av_frame_get_buffer(cpuFrame_.get(), 0);
    if (ret < 0) throwAvError(ret, "allocating a frame", "ENOMEM");
  }
  repack_.reset(sws_getCachedContext(repack_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                     f->width, f->height, want, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!repack_)
    throw Error("CONVERT", std::string("no conversion from ") +
                               av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format)) + " to " +
                               av_get_pix_fmt_name(want));
  sws_scale(repack_.get(), f->data, f->linesize, 0, f->height, cpuFrame_->data, cpuFrame_->linesize);
  av_frame_copy_props(cpuFrame_.get(), f);
  return cpuFrame_.get();
}

// Geometry: crop and resize are given in displayed (rotated) coordinates.
void VideoReader::planGeometry() {
  const AVCodecParameters* par = st_->codecpar;
  // with a filter graph, the graph's output is the source here (any rotation was the graph's)
  const FilterPad* g = filtered();
  rotationCw_ = opts_.autorotate && !g ? clockwiseRotation(stream()) : 0;
  const int srcW = g ? g->width : par->width, srcH = g ? g->height : par->height;
  const int srcFormat = g ? g->format : par->format;
  srcW_ = srcW;
  srcH_ = srcH;
  const bool swap = rotationCw_ == 90 || rotationCw_ == 270;
  const int dispW = swap ? srcH : srcW, dispH = swap ? srcW : srcH;
  Rect crop = opts_.crop.width > 0 ? opts_.crop : Rect{0, 0, dispW, dispH};
  if (crop.x < 0 || crop.y < 0 || crop.width <= 0 || crop.height <= 0 || crop.x + crop.width > dispW ||
      crop.y + crop.height > dispH)
    throw Error("INVALID_ARGUMENT", "crop " + str(crop.width) + "x" + str(crop.height) + " at " + str(crop.x) + "," +
                                        str(crop.y) + " does not fit the " + str(dispW) + "x" + str(dispH) + " frame");
  srcCrop_ = alignCrop(toSourceRect(crop, rotationCw_, srcW, srcH), static_cast<AVPixelFormat>(srcFormat));
  displayCrop_ = toDisplayRect(srcCrop_, rotationCw_, srcW, srcH);  // the crop actually applied

  int outW = opts_.width, outH = opts_.height;
  const bool even = isPlanarYuv(opts_.format);
  auto keepAspect = [even](double v) {
    int n = std::max(1, static_cast<int>(std::lround(v)));
    if (even && (n & 1)) n += 1;
    return n;
  };
  if (outW <= 0 && outH <= 0) {
    outW = crop.width;
    outH = crop.height;
  } else if (outW <= 0) {
    outW = keepAspect(double(outH) * crop.width / crop.height);
  } else if (outH <= 0) {
    outH = keepAspect(double(outW) * crop.height / crop.width);
  }
  out_ = describeImage(opts_.format, opts_.layout, outW, outH);
  pre_ = swap ? describeImage(opts_.format, opts_.layout, outH, outW) : out_;
  if (rotationCw_) rotBuf_.resize(pre_.bytes + kDstPadding);
  if (!opts_.rawFrames) conv_ = std::make_unique<FrameConverter>(pre_, swsFlags_);  // rawFrames: no conversion here
  // NVDEC + a downscale of the whole frame: scale_cuda resizes on the GPU so
  // that the download carries the output size, not the source's. Crops, odd
  // sizes, upscales, 'accurate' quality and interpolations scale_cuda lacks
  // stay on the CPU (exactly the CPU path's result).
  // Transcoding (rawFrames) never converts on the CPU when it can help it:
  // there any even resize, up or down, is scale_cuda's.
  if (device_.type == "cuda") {
    const bool whole = srcCrop_.x == 0 && srcCrop_.y == 0 && srcCrop_.width == srcW && srcCrop_.height == srcH;
    const bool smaller = int64_t(pre_.width) * pre_.height < int64_t(srcW) * srcH;
    const bool resized = pre_.width != srcW || pre_.height != srcH;
    const bool evenOut = pre_.width % 2 == 0 && pre_.height % 2 == 0;
    const std::string interp = cudaInterp(swsFlags_);
    const bool wanted = opts_.rawFrames ? resized : smaller && !(swsFlags_ & SWS_ACCURATE_RND);
    if (whole && wanted && evenOut && !interp.empty() && hasScaleCuda())
      gpuScaler_ = std::make_unique<CudaScaler>(pre_.width, pre_.height, interp);
  }
}

VideoReader::~VideoReader() = default;

std::string VideoReader::decoderName() const { return dec_ && dec_->codec ? dec_->codec->name : ""; }

ReaderStats VideoReader::stats() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  return stats_;
}

// Truncated: an I/O error, or the file ends before what the container
// promised. Where the demuxer had a packet index at open (mp4's sample
// tables, AVI's idx1), that index is the promise: a header's frame count can
// be wrong in complete files (an AVI whose dwLength is doubled plays whole).
void VideoReader::checkTruncation() {
  AVFormatContext* ctx = input_.ctx.get();
  const bool ioError = ctx->pb && ctx->pb->error && ctx->pb->error != AVERROR_EOF;
  const int64_t fileSize = ctx->pb ? avio_size(ctx->pb) : -1;
  const int64_t expected = st_->nb_frames;
  bool cut = false;
  std::string promise;
  if (indexedAtOpen_ > 0 && fileSize > 0) {
    const AVIndexEntry* last = avformat_index_get_entry(st_, indexedAtOpen_ - 1);
    cut = last && last->pos + last->size > fileSize;
    promise = "its index places packets beyond the end of the file";
  } else {
    cut = expected > 0 && streamPackets_ < expected;
    promise = "its header promises " + std::to_string(expected);
  }
  const char* proto = avio_find_protocol_name(opts_.input.source.c_str());
  if (!cut && proto && std::strcmp(proto, "file") == 0) {  // the file's own bytes: Matroska's segment size, TS packets
    promise = truncationEvidence(opts_.input.source, ctx->iformat->name, fileSize);
    cut = !promise.empty();
  }
  if (!cut && !ioError) return;
  std::string msg = "'" + opts_.input.source + "' ended after " + std::to_string(streamPackets_) +
                    " packets of stream " + str(streamIndex_) +
                    (ioError ? ": " + avErrorString(ctx->pb->error) : " (" + promise + "): truncated file?");
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.truncated = true;
    stats_.lastError = msg;
  }
  if (opts_.corruptIsError) throw Error("TRUNCATED", msg, AVERROR_EOF);
}

// ---- the one decode loop ----

int64_t VideoReader::tagFor(const AVPacket* p) {
  if (!seeked_) return streamPackets_ - 1;  // reading from the start: the count is the number
  return packetIndexOf(p);
}

// One demux step: a packet of the stream is tagged and sent; at the end of
// the input the decoder is flushed. Returns false when there is nothing more
// to send (the flush packet went before).
bool VideoReader::readAndSend() {
  if (flushed_) return false;
  AVFormatContext* ctx = input_.ctx.get();
  AVCodecContext* dec = dec_.get();
  int ret = readPacket();
  if (ret == AVERROR(EAGAIN)) return true;
  if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
  // A live source that stops has not ended: reconnect. A resource of known
  // size (a file over HTTP) ends as a file does (truncation checked below),
  // and so does a playlist that says it ended (the hls demuxer itself waits
  // for a live playlist to grow, and returns EOF after #EXT-X-ENDLIST).
  const bool finite =
      ret == AVERROR_EOF && ((ctx->pb && avio_size(ctx->pb) > 0) || std::strcmp(ctx->iformat->name, "hls") == 0);
  if (ret < 0 && opts_.input.live.enabled && !finite) {
    // without a cancel, an exit is the stall deadline (now, or sticky in the I/O context since)
    const bool stalled = ret == AVERROR_EXIT || input_.guard->timedOut.load();
    if (stalled) {
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.stalls++;
    }
    // the frames the decoder still holds come first: drain it, then reconnect (decodeUntil)
    liveStop_ = stalled              ? "no packet for " + std::to_string(opts_.input.live.stallTimeout) + " s"
                : ret == AVERROR_EOF ? std::string("the stream ended")
                                     : avErrorString(ret);
    flushed_ = true;
    avcodec_send_packet(dec, nullptr);
    return true;
  }
  if (ret == AVERROR_EXIT) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
  if (ret < 0) {
    const bool eof = ret == AVERROR_EOF || (ctx->pb && avio_feof(ctx->pb));
    if (!eof) {
      {
        std::lock_guard<std::mutex> lk(statsMu_);
        stats_.demuxErrors++;
        stats_.lastError = avErrorString(ret);
      }
      if (opts_.corruptIsError || ++consecutiveDemuxErrors_ > 64)
        throwAvError(ret, "reading '" + opts_.input.source + "' failed", "DEMUX");
      return true;
    }
    if (!seeked_) checkTruncation();
    flushed_ = true;
    ret = avcodec_send_packet(dec, nullptr);
    // frame threads report a failed last packet here: one more decode error
    if (ret < 0 && ret != AVERROR_EOF) noteDecodeError(ret);
    return true;
  }
  consecutiveDemuxErrors_ = 0;
  if (pkt_->stream_index != streamIndex_) {
    av_packet_unref(pkt_.get());
    return true;
  }
  streamPackets_++;
  const bool corruptPkt = pkt_->flags & AV_PKT_FLAG_CORRUPT;
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.packetsRead++;
    stats_.bytesIn += pkt_->size;
    if (corruptPkt) stats_.corruptPackets++;
  }
  if (record_) record_->push_back(entryOf(pkt_.get()));
  if (corruptPkt && opts_.corruptIsError) {
    av_packet_unref(pkt_.get());
    if (ctx->pb && avio_feof(ctx->pb)) {  // a partial last packet: the file is cut
      if (!seeked_) checkTruncation();
      throw Error("TRUNCATED",
                  "'" + opts_.input.source + "' ends inside packet " + std::to_string(streamPackets_ - 1) +
                      " (truncated file?)",
                  AVERROR_EOF);
    }
    throw Error("CORRUPT",
                "packet " + std::to_string(streamPackets_ - 1) + " of '" + opts_.input.source + "' is corrupt",
                AVERROR_INVALIDDATA);
  }
  const int64_t tag = tagFor(pkt_.get());
  if (seeked_ && tag > raLastSent_) raLastSent_ = static_cast<int32_t>(tag);
  dec->reordered_opaque = tag;
  ret = avcodec_send_packet(dec, pkt_.get());
  av_packet_unref(pkt_.get());
  if (ret < 0 && ret != AVERROR(EAGAIN)) noteDecodeError(ret);
  return true;
}

int VideoReader::readPacket() {
  if (!pending_.empty()) {
    av_packet_move_ref(pkt_.get(), pending_.front().get());
    pending_.pop_front();
    return 0;
  }
  return demuxPacket(pkt_.get());
}

int VideoReader::demuxPacket(AVPacket* p) {
  const LiveOptions& live = opts_.input.live;
  if (live.enabled) input_.guard->armDeadline(live.stallTimeout);
  const int ret = av_read_frame(input_.ctx.get(), p);
  input_.guard->disarm();
  return ret;
}

void VideoReader::reconnect(const std::string& why) {
  pending_.clear();
  input_.ctx.reset();  // the old connection goes first (its guard outlives it)
  InputOptions io = opts_.input;
  io.cancel = cancel_;
  reopenLive(
      io, why, log_.get(),
      [&] {
        std::lock_guard<std::mutex> lk(statsMu_);
        stats_.reconnectAttempts++;
        stats_.lastError = "reconnecting after: " + why;
      },
      [&](OpenedInput&& fresh) {
        input_ = std::move(fresh);
        openStream();
        openDecoder(opts_.device);
      });
  log_->watch(dec_.get());
  flushed_ = false;
  consecutiveDemuxErrors_ = 0;
  discontinuity_ = true;
#if defined(__GLIBC__)
  // The old decoder's frame pools went back to malloc's free lists, which
  // glibc keeps (its mmap threshold rises after the first large free): give
  // them back to the system, or a long-running reader's RSS steps up with
  // its first reconnects (bench/live.mjs's soak).
  malloc_trim(0);
#endif
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.reconnects++;
  stats_.lastError = "reconnected after: " + why;
}

VideoReader::Got VideoReader::decodeUntil(const std::function<Want(const AVFrame*)>& want) {
  for (;;) {
    if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    // dec_ itself each time: a live source's reconnect (in readAndSend) replaces the decoder
    int ret = avcodec_receive_frame(dec_.get(), frame_.get());
    if (ret == 0) {
      countDecoded();
      const Want w = want(frame_.get());
      if (w == Want::Take) return Got::Frame;  // the frame stays in frame_
      av_frame_unref(frame_.get());
      if (w == Want::Stop) return Got::Stopped;
      continue;
    }
    if (ret == AVERROR_EOF && !liveStop_.empty()) {  // a live source stopped, its frames all out
      const std::string why = std::move(liveStop_);
      liveStop_.clear();
      reconnect(why);  // a fresh input and decoder, or DISCONNECTED
      continue;
    }
    if (ret == AVERROR_EOF) return Got::End;
    if (ret != AVERROR(EAGAIN)) {
      noteDecodeError(ret);
      // While draining, frame threads may still hold good frames after a bad
      // one: keep receiving (bounded, so a decoder stuck on errors ends).
      if (flushed_ && ++postFlushErrors_ > 64) return Got::End;
      continue;
    }
    // The decoder wants input; EAGAIN after the flush packet should not
    // happen: end rather than spin.
    if (!readAndSend()) return Got::End;
  }
}

bool VideoReader::decodeOne() {
  if (done_) return false;
  if (decodeUntil([](const AVFrame*) { return Want::Take; }) == Got::Frame) return true;
  return endOfStream();
}

bool VideoReader::decodeNext() { return graph_ ? filterNext() : decodeOne(); }

// ---- the filter graph ----

void VideoReader::openGraph() {
  const AVCodecParameters* par = st_->codecpar;
  FilterPad in;
  in.format = dec_->pix_fmt >= 0 ? dec_->pix_fmt : par->format >= 0 ? par->format : AV_PIX_FMT_YUV420P;
  if (in.format == AV_PIX_FMT_CUDA) in.format = AV_PIX_FMT_NV12;  // NVDEC frames are downloaded first
  in.width = par->width;
  in.height = par->height;
  in.sar = par->sample_aspect_ratio;
  in.timeBase = st_->time_base;
  in.frameRate = av_guess_frame_rate(input_.ctx.get(), st_, nullptr);  // as the CLI's buffer source
  filtered_.reset(av_frame_alloc());
  if (!filtered_) throw Error("ENOMEM", "allocation failed");
  buildGraph(in);
  notPerFrame_ = whyNotPerFrame(opts_.filter);
}

// The CLI's -vf: buffer -> autorotate's filters -> the graph -> format=<the
// output format> (when nothing is resized or cropped after the graph, so
// that libavfilter converts exactly where the CLI's graph does) -> sink.
void VideoReader::buildGraph(const FilterPad& in) {
  FilterGraphOptions go;
  go.where = "filter";
  go.allowNestedInputs = opts_.input.allowNestedInputs;
  go.threads = opts_.threads;
  go.swsFlags = (swsFlags_ & SWS_ACCURATE_RND) ? "flags=bicubic+accurate_rnd+full_chroma_int" : "flags=bicubic";
  const int rot = opts_.autorotate ? clockwiseRotation(stream()) : 0;
  std::vector<std::pair<std::string, std::string>> head;
  if (rot == 90) head = {{"transpose", "clock"}};
  if (rot == 180) head = {{"hflip", ""}, {"vflip", ""}};
  if (rot == 270) head = {{"transpose", "cclock"}};
  go.head = {head};
  const bool plain = opts_.width <= 0 && opts_.height <= 0 && opts_.crop.width <= 0;
  if (plain && !opts_.rawFrames) {
    const Layout l = isPlanarYuv(opts_.format) ? Layout::PLANAR : Layout::HWC;
    const AVPixelFormat pf = describeImage(opts_.format, l, 2, 2).avFormat;
    std::vector<std::pair<std::string, std::string>> tail;
    // a rebuilt graph (new frame size) scales back to the size it gave first, as the CLI's does
    if (graph_) {
      const FilterPad& was = graph_->output(0);
      tail.emplace_back("scale", std::to_string(was.width) + ":" + std::to_string(was.height) + ":" + go.swsFlags);
    }
    tail.emplace_back("format", std::string("pix_fmts=") + av_get_pix_fmt_name(pf));
    go.tail = {tail};
  }
  graph_.reset();
  graph_ = std::make_unique<FilterGraph>(opts_.filter, std::vector<FilterPad>{in}, 1, go);
  graphRotation_ = rot;
  const FilterPad& out = graph_->output(0);
  frameTb_ = out.timeBase;
  if (out.frameRate.num > 0 && out.frameRate.den > 0)
    clock_.setStep(av_rescale_q(1, av_inv_q(out.frameRate), frameTb_));
}

AVFrame* VideoReader::graphInput() {
  AVFrame* f = frame_.get();
  if (f->format == AV_PIX_FMT_CUDA) {
    if (!swFrame_) swFrame_.reset(av_frame_alloc());
    av_frame_unref(swFrame_.get());
    downloadFrame(swFrame_.get(), f);
    av_frame_copy_props(swFrame_.get(), f);
    f = asCpuDecoded(swFrame_.get());  // the graph gets what a CPU decode gives it
  }
  f->pts = f->best_effort_timestamp;  // as the CLI feeds its graphs
  if (graph_->differs(f)) {
    FilterPad in = videoPad(f, st_->time_base, graph_->input(0).frameRate);
    buildGraph(in);
  }
  return f;
}

bool VideoReader::filterNext() {
  for (;;) {
    if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    bool ended = false;
    if (graph_->pull(filtered_.get(), 0, &ended)) {
      av_frame_unref(frame_.get());
      av_frame_move_ref(frame_.get(), filtered_.get());
      return true;
    }
    if (ended || graphFlushed_) return false;
    if (!decodeOne()) {
      graph_->push(nullptr);
      graphFlushed_ = true;
      continue;
    }
    pushCurrent();
  }
}

void VideoReader::pushCurrent() {
  try {
    graph_->push(graphInput());
  } catch (...) {
    av_frame_unref(frame_.get());
    throw;
  }
  av_frame_unref(frame_.get());
  if (swFrame_) av_frame_unref(swFrame_.get());
}

void VideoReader::filterCurrent(int64_t i) {
  pushCurrent();
  if (!graph_->pull(filtered_.get()))
    throw Error("INTERNAL", "filter '" + opts_.filter + "' gave no frame for frame " + std::to_string(i));
  av_frame_move_ref(frame_.get(), filtered_.get());
}

void VideoReader::checkSeekable() const {
  if (!graph_) return;
  const std::string& why = notPerFrame_;
  if (!why.empty())
    throw Error("FILTER_NOT_SEEKABLE", "random access with filter '" + opts_.filter + "': " + why +
                                           "; read the frames in order, or filter the frames random access returns");
}

// The crop for a frame of this size: the planned one, or, when the stream's
// frame size changed mid-way, the same region scaled to the new size (the
// whole frame when nothing was cropped), so that every frame comes out at the
// opened size as the CLI's scale filter gives it.
Rect VideoReader::cropFor(const AVFrame* f) const {
  if (f->width == srcW_ && f->height == srcH_) return srcCrop_;
  Rect c{static_cast<int>(int64_t(srcCrop_.x) * f->width / srcW_),
         static_cast<int>(int64_t(srcCrop_.y) * f->height / srcH_),
         static_cast<int>(int64_t(srcCrop_.width) * f->width / srcW_),
         static_cast<int>(int64_t(srcCrop_.height) * f->height / srcH_)};
  c.width = std::max(1, std::min(c.width, f->width - c.x));
  c.height = std::max(1, std::min(c.height, f->height - c.y));
  return alignCrop(c, static_cast<AVPixelFormat>(f->format));
}

void VideoReader::emit(AVFrame* f, uint8_t* dst, FrameMeta* meta, int64_t index) {
  bool gpuScaled = false;
  if (f->format == AV_PIX_FMT_CUDA) {  // NVDEC: (scale_cuda,) one download, then the usual conversion
    AVFrame* gpu = f;
    if (gpuScaler_ && !gpuScaleFailed_) {
      if (!gpuFrame_) gpuFrame_.reset(av_frame_alloc());
      try {
        gpuScaler_->scale(f, gpuFrame_.get());
        gpu = gpuFrame_.get();
      } catch (const Error& e) {
        gpuScaleFailed_ = true;  // from now on the CPU scales: same output, more PCIe traffic
        std::lock_guard<std::mutex> lk(statsMu_);
        stats_.lastError = std::string("GPU scaling failed, scaling on the CPU instead: ") + e.what();
      }
    }
    if (!swFrame_) swFrame_.reset(av_frame_alloc());
    downloadFrame(swFrame_.get(), gpu);
    av_frame_copy_props(swFrame_.get(), f);
    if (gpu != f) {
      gpuScaled = true;
      av_frame_unref(gpuFrame_.get());
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.gpuScaledFrames++;
    }
    // NV12 and P010 planes split into the CPU decoder's format (exact):
    // swscale converts yuv420p to RGB through its own path, NV12 through
    // the generic one, and their results differ by up to 80 levels at sharp
    // chroma edges. Gray, nv12 and yuv420p outputs are the same bytes either way.
    const PixFmt o = opts_.format;
    f = o == PixFmt::GRAY || o == PixFmt::NV12 || o == PixFmt::YUV420P ? swFrame_.get() : asCpuDecoded(swFrame_.get());
  }
  const Rect crop = gpuScaled ? Rect{0, 0, f->width, f->height} : cropFor(f);
  fillMeta(f, meta, index);

  if (!rotationCw_) {
    conv_->convert(f, crop, dst);
  } else {
    conv_->convert(f, crop, rotBuf_.data());
    const int code = rotationCw_ == 90    ? cv::ROTATE_90_CLOCKWISE
                     : rotationCw_ == 180 ? cv::ROTATE_180
                                          : cv::ROTATE_90_COUNTERCLOCKWISE;
    for (int i = 0; i < pre_.planes; i++) {
      const int type = CV_8UC(pre_.planeElemBytes[i]);
      cv::Mat in(pre_.planeHeight[i], pre_.planeWidth[i], type, rotBuf_.data() + pre_.offset[i], pre_.linesize[i]);
      cv::Mat out(out_.planeHeight[i], out_.planeWidth[i], type, dst + out_.offset[i], out_.linesize[i]);
      cv::rotate(in, out, code);
      if (out.data != dst + out_.offset[i]) throw Error("CONVERT", "rotation reallocated its output");
    }
  }
}

// pts * num / den rather than pts * (num / den): exact at frame boundaries
double VideoReader::seconds(int64_t ts) const {
  return static_cast<double>(ts) * st_->time_base.num / st_->time_base.den;
}

double VideoReader::frameSeconds(int64_t ts) const { return static_cast<double>(ts) * frameTb_.num / frameTb_.den; }

void VideoReader::fillMeta(const AVFrame* f, FrameMeta* meta, int64_t index) {
  int64_t pts = graph_ ? f->pts : f->best_effort_timestamp;
  int64_t dur = f->pkt_duration > 0 ? f->pkt_duration : defaultDuration_;
  if (graph_) {  // the graph's time base; its frame rate when it has one (fps=, yadif=1)
    const AVRational fr = graph_->output(0).frameRate;
    dur = fr.num > 0 && fr.den > 0 ? av_rescale_q(1, av_inv_q(fr), frameTb_) : f->pkt_duration;
  }
  if (pts == AV_NOPTS_VALUE) pts = lastPts_ != AV_NOPTS_VALUE ? lastPts_ + dur : nextIndex_ * dur;
  else if (opts_.input.live.enabled) {
    // A live source's clock may start again (a reconnect) or step back (RTP
    // timestamps before the first sender report): pts continue after the
    // last frame, and the frame where the offset changed is a discontinuity.
    const int64_t step = std::max<int64_t>(dur, 1);
    if (discontinuity_ && lastPts_ != AV_NOPTS_VALUE) liveOffset_ = lastPts_ + step - pts;
    if (lastPts_ != AV_NOPTS_VALUE && pts + liveOffset_ <= lastPts_) {
      liveOffset_ = lastPts_ + step - pts;
      discontinuity_ = true;
    }
    pts += liveOffset_;
  }
  meta->discontinuity = discontinuity_;
  discontinuity_ = false;
  meta->receivedAt =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
  lastPts_ = pts;
  meta->pts = pts;
  meta->rawTime = frameSeconds(pts);
  meta->time = frameSeconds(clock_.next(pts));
  meta->duration = dur;
  meta->durationSeconds = frameSeconds(dur);
  meta->index = index >= 0 ? index : nextIndex_++;
  meta->keyframe = f->key_frame != 0;
  meta->corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
  if (meta->corrupt) {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.corruptFrames++;
  }
  if (meta->corrupt && opts_.corruptIsError)
    throw Error("CORRUPT",
                "frame " + std::to_string(meta->index) + " of '" + opts_.input.source + "' decoded with errors");
}

bool VideoReader::nextDecoded(AVFrame* out, FrameMeta* meta) {
  if (!opts_.rawFrames) throw Error("INTERNAL", "nextDecoded() needs a reader opened with rawFrames");
  av_frame_unref(out);
  if (!decodeNext()) return false;
  try {
    fillMeta(frame_.get(), meta, -1);
    if (frame_->format == AV_PIX_FMT_CUDA && gpuScaler_) {
      gpuScaler_->scale(frame_.get(), out);
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.gpuScaledFrames++;
    } else {
      av_frame_move_ref(out, frame_.get());
    }
  } catch (...) {
    av_frame_unref(frame_.get());
    throw;
  }
  av_frame_unref(frame_.get());
  return true;
}

bool VideoReader::next(uint8_t* dst, FrameMeta* meta) {
  if (opts_.rawFrames) throw Error("INTERNAL", "a rawFrames reader gives frames through nextDecoded()");
  if (!decodeNext()) return false;
  emitCurrent(dst, meta, -1);
  return true;
}

void VideoReader::emitCurrent(uint8_t* dst, FrameMeta* meta, int64_t index) {
  try {
    emit(frame_.get(), dst, meta, index);
  } catch (...) {
    av_frame_unref(frame_.get());
    throw;
  }
  av_frame_unref(frame_.get());
}

void VideoReader::countDecoded() {
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.framesDecoded++;
}

void VideoReader::noteDecodeError(int ret) {
  if (seeked_) raTainted_ = true;
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.decodeErrors++;
    stats_.lastError = avErrorString(ret);
  }
  if (opts_.corruptIsError) throwAvError(ret, "decoding '" + opts_.input.source + "' failed", "DECODE");
}

bool VideoReader::endOfStream() {
  done_ = true;
  // A stream whose every frame failed is undecodable, not "corrupt frames
  // skipped": say so rather than end with no frames.
  const std::string why = noFrameReason();
  if (!why.empty()) throw Error("DECODE", "'" + opts_.input.source + "' " + why);
  return false;
}

std::string VideoReader::noFrameReason() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  if (stats_.framesDecoded > 0) return "";
  const std::string logged = log_->lastError();
  if (stats_.decodeErrors > 0)
    return "decoded no frame: " + std::to_string(stats_.decodeErrors) +
           " decode error(s), the last: " + stats_.lastError + (logged.empty() ? "" : " (libav: " + logged + ")");
  // nothing failed outright, yet a stream that declares content gave nothing
  const AVFormatContext* ctx = input_.ctx.get();
  const bool declares = st_->nb_frames > 0 || st_->duration > 0 || ctx->duration > 0;
  if (!declares && logged.empty()) return "";  // an empty stream, and nothing went wrong
  return "gave no frame although " +
         (st_->nb_frames > 0 ? "its video stream declares " + std::to_string(st_->nb_frames) + " frames"
          : declares         ? std::string("its video stream declares a duration")
                             : std::string("libav reported an error")) +
         ": " + std::to_string(stats_.packetsRead) + " packet(s) read, " + std::to_string(stats_.demuxErrors) +
         " demux error(s)" + (logged.empty() ? "" : "; libav: " + logged);
}

}  // namespace avcv
