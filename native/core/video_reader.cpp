#include "video_reader.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

extern "C" {
#include <libavutil/hwcontext.h>
}

#include "error.h"

extern "C" {
#include <libavutil/pixdesc.h>
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

std::string str(int v) { return std::to_string(v); }

// NVDEC: take CUDA frames when the decoder offers them, else the first
// software format (e.g. a stream the hardware cannot decode).
AVPixelFormat pickCuda(AVCodecContext*, const AVPixelFormat* fmts) {
  for (const AVPixelFormat* p = fmts; *p != AV_PIX_FMT_NONE; p++)
    if (*p == AV_PIX_FMT_CUDA) return *p;
  for (const AVPixelFormat* p = fmts; *p != AV_PIX_FMT_NONE; p++) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) return *p;
  }
  return AV_PIX_FMT_NONE;
}

bool hasCudaConfig(const AVCodec* codec) {
  for (int i = 0;; i++) {
    const AVCodecHWConfig* cfg = avcodec_get_hw_config(codec, i);
    if (!cfg) return false;
    if (cfg->device_type == AV_HWDEVICE_TYPE_CUDA && (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) return true;
  }
}

}  // namespace

std::unique_ptr<VideoReader> VideoReader::open(const ReaderOptions& opts) {
  std::unique_ptr<VideoReader> r(new VideoReader());
  r->opts_ = opts;
  r->input_ = openInput(opts.input);
  AVFormatContext* ctx = r->input_.ctx.get();
  const std::string& src = opts.input.source;

  int idx;
  if (opts.stream >= 0) {
    if (opts.stream >= static_cast<int>(ctx->nb_streams))
      throw Error("NO_VIDEO_STREAM", "stream " + str(opts.stream) + " does not exist in '" + src + "' (" +
                                         str(ctx->nb_streams) + " streams)");
    if (ctx->streams[opts.stream]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
      throw Error("NO_VIDEO_STREAM", "stream " + str(opts.stream) + " of '" + src + "' is not a video stream");
    idx = opts.stream;
  } else {
    idx = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (idx < 0) throw Error("NO_VIDEO_STREAM", "'" + src + "' has no video stream", idx);
  }
  r->streamIndex_ = idx;
  r->st_ = ctx->streams[idx];
  for (unsigned i = 0; i < ctx->nb_streams; i++)
    if (static_cast<int>(i) != idx) ctx->streams[i]->discard = AVDISCARD_ALL;
  r->container_ = probeContext(ctx);

  const AVCodecParameters* par = r->st_->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec)
    throw Error("UNSUPPORTED_CODEC", "no decoder for codec '" + r->stream().codec + "' in '" + src + "'",
                AVERROR_DECODER_NOT_FOUND);
  r->dec_.reset(avcodec_alloc_context3(codec));
  if (!r->dec_) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  int ret = avcodec_parameters_to_context(r->dec_.get(), par);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_to_context", "DECODE");
  r->dec_->pkt_timebase = r->st_->time_base;
  r->dec_->thread_count = opts.threads;
  r->dec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  // device: 'cuda' must get NVDEC or fail; 'auto' falls back to the CPU and says why
  r->device_.requested = opts.device;
  {
    std::string type;
    int index = 0;
    parseDevice(opts.device, &type, &index);
    if (type != "cpu") {
      std::string reason;
      AVBufferRef* hw = nullptr;
      if (!hasCudaConfig(codec)) reason = "NVDEC cannot decode " + r->stream().codec + " in this libav build";
      else hw = cudaDevice(index, &reason);
      if (hw) {
        r->dec_->hw_device_ctx = hw;
        r->dec_->get_format = pickCuda;
        r->device_.type = "cuda";
        r->device_.index = index;
      } else if (type == "cuda") {
        throw Error("NO_DEVICE", "device '" + opts.device + "' is not usable: " + reason);
      } else {
        r->device_.fallbackReason = reason;
      }
    }
  }
  ret = avcodec_open2(r->dec_.get(), codec, nullptr);
  if (ret < 0) throwAvError(ret, "cannot open decoder '" + std::string(codec->name) + "'", "DECODE");
  if (par->width <= 0 || par->height <= 0)
    throw Error("INVALID_DATA", "video stream " + str(idx) + " of '" + src + "' has no frame size");

  r->frame_.reset(av_frame_alloc());
  r->pkt_.reset(av_packet_alloc());
  if (!r->frame_ || !r->pkt_) throw Error("ENOMEM", "allocation failed");

  AVRational fr = r->st_->avg_frame_rate.num > 0 ? r->st_->avg_frame_rate : r->st_->r_frame_rate;
  if (fr.num > 0 && fr.den > 0) r->defaultDuration_ = av_rescale_q(1, av_inv_q(fr), r->st_->time_base);

  // Geometry: crop and resize are given in displayed (rotated) coordinates.
  r->rotationCw_ = opts.autorotate ? clockwiseRotation(r->stream()) : 0;
  const int srcW = par->width, srcH = par->height;
  const bool swap = r->rotationCw_ == 90 || r->rotationCw_ == 270;
  const int dispW = swap ? srcH : srcW, dispH = swap ? srcW : srcH;
  Rect crop = opts.crop.width > 0 ? opts.crop : Rect{0, 0, dispW, dispH};
  if (crop.x < 0 || crop.y < 0 || crop.width <= 0 || crop.height <= 0 || crop.x + crop.width > dispW ||
      crop.y + crop.height > dispH)
    throw Error("INVALID_ARGUMENT", "crop " + str(crop.width) + "x" + str(crop.height) + " at " + str(crop.x) +
                                        "," + str(crop.y) + " does not fit the " + str(dispW) + "x" + str(dispH) +
                                        " frame");
  Rect srcCrop = alignCrop(toSourceRect(crop, r->rotationCw_, srcW, srcH), static_cast<AVPixelFormat>(par->format));
  r->srcCrop_ = srcCrop;
  // report the crop actually applied, back in displayed coordinates
  Rect shown = srcCrop;
  if (r->rotationCw_ == 90) shown = {srcH - srcCrop.y - srcCrop.height, srcCrop.x, srcCrop.height, srcCrop.width};
  else if (r->rotationCw_ == 270) shown = {srcCrop.y, srcW - srcCrop.x - srcCrop.width, srcCrop.height, srcCrop.width};
  else if (r->rotationCw_ == 180) shown = {srcW - srcCrop.x - srcCrop.width, srcH - srcCrop.y - srcCrop.height, srcCrop.width, srcCrop.height};
  r->displayCrop_ = shown;

  int outW = opts.width, outH = opts.height;
  const bool even = isPlanarYuv(opts.format);
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
  r->out_ = describeImage(opts.format, opts.layout, outW, outH);
  r->pre_ = swap ? describeImage(opts.format, opts.layout, outH, outW) : r->out_;
  if (r->rotationCw_) r->rotBuf_.resize(r->pre_.bytes + kDstPadding);
  if (!opts.rawFrames) r->conv_ = std::make_unique<FrameConverter>(r->pre_, opts.swsFlags);  // rawFrames: no conversion here
  // NVDEC + a downscale of the whole frame: scale_cuda resizes on the GPU so
  // that the download carries the output size, not the source's. Crops, odd
  // sizes, upscales, 'accurate' quality and interpolations scale_cuda lacks
  // stay on the CPU (exactly the CPU path's result).
  // Transcoding (rawFrames) never converts on the CPU when it can help it:
  // there any even resize, up or down, is scale_cuda's.
  if (r->device_.type == "cuda") {
    const bool whole = srcCrop.x == 0 && srcCrop.y == 0 && srcCrop.width == srcW && srcCrop.height == srcH;
    const bool smaller = int64_t(r->pre_.width) * r->pre_.height < int64_t(srcW) * srcH;
    const bool resized = r->pre_.width != srcW || r->pre_.height != srcH;
    const bool even = r->pre_.width % 2 == 0 && r->pre_.height % 2 == 0;
    const std::string interp = cudaInterp(opts.swsFlags);
    const bool wanted = opts.rawFrames ? resized : smaller && !(opts.swsFlags & SWS_ACCURATE_RND);
    if (whole && wanted && even && !interp.empty() && hasScaleCuda())
      r->gpuScaler_ = std::make_unique<CudaScaler>(r->pre_.width, r->pre_.height, interp);
  }
  return r;
}

VideoReader::~VideoReader() = default;

std::string VideoReader::decoderName() const { return dec_ && dec_->codec ? dec_->codec->name : ""; }

ReaderStats VideoReader::stats() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  return stats_;
}

void VideoReader::checkTruncation() {
  AVFormatContext* ctx = input_.ctx.get();
  const int64_t expected = st_->nb_frames;
  const bool ioError = ctx->pb && ctx->pb->error && ctx->pb->error != AVERROR_EOF;
  if ((expected > 0 && streamPackets_ < expected) || ioError) {
    std::string msg = "'" + opts_.input.source + "' ended after " + std::to_string(streamPackets_) +
                      (expected > 0 ? " of " + std::to_string(expected) : std::string()) +
                      " packets of stream " + str(streamIndex_) + " (truncated file?)";
    {
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.truncated = true;
      stats_.lastError = msg;
    }
    if (opts_.corruptIsError) throw Error("TRUNCATED", msg, AVERROR_EOF);
  }
}

void VideoReader::emit(AVFrame* f, uint8_t* dst, FrameMeta* meta, int64_t index) {
  Rect crop = srcCrop_;
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
    av_frame_unref(swFrame_.get());
    int ret = av_hwframe_transfer_data(swFrame_.get(), gpu, 0);
    if (ret < 0) throwAvError(ret, "downloading a CUDA frame failed", "DECODE");
    av_frame_copy_props(swFrame_.get(), f);
    if (gpu != f) {
      crop = Rect{0, 0, swFrame_->width, swFrame_->height};
      av_frame_unref(gpuFrame_.get());
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.gpuScaledFrames++;
    }
    f = swFrame_.get();
  }
  fillMeta(f, meta, index);

  if (!rotationCw_) {
    conv_->convert(f, crop, dst);
  } else {
    conv_->convert(f, crop, rotBuf_.data());
    const int code = rotationCw_ == 90 ? cv::ROTATE_90_CLOCKWISE
                     : rotationCw_ == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE;
    for (int i = 0; i < pre_.planes; i++) {
      const int type = CV_8UC(pre_.planeElemBytes[i]);
      cv::Mat in(pre_.planeHeight[i], pre_.planeWidth[i], type, rotBuf_.data() + pre_.offset[i], pre_.linesize[i]);
      cv::Mat out(out_.planeHeight[i], out_.planeWidth[i], type, dst + out_.offset[i], out_.linesize[i]);
      cv::rotate(in, out, code);
      if (out.data != dst + out_.offset[i]) throw Error("CONVERT", "rotation reallocated its output");
    }
  }
}

void VideoReader::fillMeta(const AVFrame* f, FrameMeta* meta, int64_t index) {
  int64_t pts = f->best_effort_timestamp;
  const int64_t dur = f->pkt_duration > 0 ? f->pkt_duration : defaultDuration_;
  if (pts == AV_NOPTS_VALUE) pts = lastPts_ != AV_NOPTS_VALUE ? lastPts_ + dur : nextIndex_ * dur;
  lastPts_ = pts;
  // pts * num / den rather than pts * (num / den): exact at frame boundaries
  const double num = st_->time_base.num, den = st_->time_base.den;
  meta->pts = pts;
  meta->time = static_cast<double>(pts) * num / den;
  meta->duration = dur;
  meta->durationSeconds = static_cast<double>(dur) * num / den;
  meta->index = index >= 0 ? index : nextIndex_++;
  meta->keyframe = f->key_frame != 0;
  meta->corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
  if (meta->corrupt) {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.corruptFrames++;
  }
  if (meta->corrupt && opts_.corruptIsError)
    throw Error("CORRUPT", "frame " + std::to_string(meta->index) + " of '" + opts_.input.source +
                               "' decoded with errors");
}

bool VideoReader::nextDecoded(AVFrame* out, FrameMeta* meta) {
  if (!opts_.rawFrames) throw Error("INTERNAL", "nextDecoded() needs a reader opened with rawFrames");
  av_frame_unref(out);
  if (!decodeRaw()) return false;
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
  if (!decodeRaw()) return false;
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
  std::lock_guard<std::mutex> lk(statsMu_);
  if (stats_.framesDecoded == 0 && stats_.decodeErrors > 0)
    throw Error("DECODE", "'" + opts_.input.source + "' decoded no frame: " + std::to_string(stats_.decodeErrors) +
                              " decode error(s), the last: " + stats_.lastError);
  return false;
}

bool VideoReader::decodeRaw() {
  if (done_) return false;
  AVFormatContext* ctx = input_.ctx.get();
  AVCodecContext* dec = dec_.get();
  for (;;) {
    if (input_.guard->interrupted.load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    int ret = avcodec_receive_frame(dec, frame_.get());
    if (ret == 0) {
      countDecoded();
      return true;  // the frame stays in frame_
    }
    if (ret == AVERROR_EOF) {
      return endOfStream();
    }
    if (ret != AVERROR(EAGAIN)) {
      noteDecodeError(ret);
      // While draining, frame threads may still hold good frames after a bad
      // one: keep receiving (bounded, so a decoder stuck on errors ends).
      if (flushed_ && ++postFlushErrors_ > 64) {
        return endOfStream();
      }
      continue;
    }
    if (flushed_) {  // EAGAIN after the flush packet: should not happen; end rather than spin
      return endOfStream();
    }
    // The decoder wants input.
    ret = av_read_frame(ctx, pkt_.get());
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret == AVERROR_EXIT || input_.guard->interrupted.load())
      throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
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
        continue;
      }
      checkTruncation();
      flushed_ = true;
      ret = avcodec_send_packet(dec, nullptr);
      // frame threads report a failed last packet here: one more decode error
      if (ret < 0 && ret != AVERROR_EOF) noteDecodeError(ret);
      continue;
    }
    consecutiveDemuxErrors_ = 0;
    if (pkt_->stream_index != streamIndex_) {
      av_packet_unref(pkt_.get());
      continue;
    }
    streamPackets_++;
    const bool corruptPkt = pkt_->flags & AV_PKT_FLAG_CORRUPT;
    {
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.packetsRead++;
      if (corruptPkt) stats_.corruptPackets++;
    }
    if (corruptPkt && opts_.corruptIsError) {
      av_packet_unref(pkt_.get());
      if (ctx->pb && avio_feof(ctx->pb)) {  // a partial last packet: the file is cut
        checkTruncation();
        throw Error("TRUNCATED", "'" + opts_.input.source + "' ends inside packet " +
                                     std::to_string(streamPackets_ - 1) + " (truncated file?)", AVERROR_EOF);
      }
      throw Error("CORRUPT", "packet " + std::to_string(streamPackets_ - 1) + " of '" + opts_.input.source +
                                 "' is corrupt", AVERROR_INVALIDDATA);
    }
    ret = avcodec_send_packet(dec, pkt_.get());
    av_packet_unref(pkt_.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) {
      noteDecodeError(ret);
    }
  }
}

}  // namespace avcv

namespace avcv {

const FrameIndex& VideoReader::index() {
  if (index_) return *index_;
  AVFormatContext* ctx = input_.ctx.get();
  auto ix = std::make_unique<FrameIndex>();
  PacketPtr pkt(av_packet_alloc());
  int errors = 0;
  for (;;) {
    if (input_.guard->interrupted.load()) throw Error("ABORTED", "indexing was interrupted", AVERROR_EXIT);
    int ret = av_read_frame(ctx, pkt.get());
    if (ret == AVERROR_EOF || (ret < 0 && ctx->pb && avio_feof(ctx->pb))) break;
    if (ret == AVERROR_EXIT) throw Error("ABORTED", "indexing was interrupted", ret);
    if (ret < 0) {
      if (++errors > 64) throwAvError(ret, "indexing '" + opts_.input.source + "' failed", "DEMUX");
      continue;
    }
    if (pkt->stream_index == streamIndex_ && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
      IndexEntry e;
      e.pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      e.dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : e.pts;
      e.dtsValid = pkt->dts != AV_NOPTS_VALUE;
      e.pos = pkt->pos;
      e.key = pkt->flags & AV_PKT_FLAG_KEY;
      if (e.pts == AV_NOPTS_VALUE)
        throw Error("INDEX", "'" + opts_.input.source + "' has packets without timestamps: exact random access is not possible");
      ix->packets.push_back(e);
    }
    av_packet_unref(pkt.get());
  }
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.indexScans++;
  }
  setIndex(std::move(ix->packets));
  return *index_;
}

void VideoReader::setIndex(std::vector<IndexEntry> packets) {
  auto ix = std::make_unique<FrameIndex>();
  ix->packets = std::move(packets);
  const int32_t n = static_cast<int32_t>(ix->packets.size());
  // MPEG-TS and the like may restart their clock mid-stream: dts going back
  // in decode order starts a segment; display order is segment, then pts.
  {
    int64_t lastDts = INT64_MIN;
    int32_t seg = 0;
    for (int32_t i = 0; i < n; i++) {
      IndexEntry& e = ix->packets[i];
      if (e.dtsValid) {  // only a real dts (never a pts standing in for it) can say the clock restarted
        if (lastDts != INT64_MIN && e.dts < lastDts) seg++;
        lastDts = e.dts;
      }
      e.segment = seg;
    }
  }
  ix->discontinuous = n > 0 && ix->packets[n - 1].segment > 0;
  ix->display.resize(n);
  for (int32_t i = 0; i < n; i++) ix->display[i] = i;
  std::stable_sort(ix->display.begin(), ix->display.end(), [&](int32_t a, int32_t b) {
    const IndexEntry& x = ix->packets[a];
    const IndexEntry& y = ix->packets[b];
    return x.segment != y.segment ? x.segment < y.segment : x.pts < y.pts;
  });
  std::vector<int32_t> keys;
  for (int32_t i = 0; i < n; i++)
    if (ix->packets[i].key) keys.push_back(i);
  ix->startKey.resize(n);
  for (int32_t j = 0; j < n; j++) {
    const int32_t d = ix->display[j];
    const int64_t t = ix->packets[d].pts;
    // the last keyframe at or before the frame in decode order that is not
    // displayed after it (open-GOP leading pictures need the previous GOP)
    auto it = std::upper_bound(keys.begin(), keys.end(), d);
    int32_t k = 0;
    const int32_t seg = ix->packets[d].segment;
    while (it != keys.begin()) {
      --it;
      if (ix->packets[*it].segment != seg) break;  // never start in another segment
      if (ix->packets[*it].pts <= t) {
        k = *it;
        break;
      }
    }
    if (ix->packets[k].segment != seg) {  // no keyframe in the segment before it: its first packet
      k = d;
      while (k > 0 && ix->packets[k - 1].segment == seg) k--;
    }
    ix->startKey[j] = k;
  }
  // continuous timeline: each segment follows the previous one's last frame
  ix->continuousPts.resize(n);
  {
    int64_t offset = 0;
    for (int32_t j = 0; j < n; j++) {
      const IndexEntry& e = ix->packets[ix->display[j]];
      if (j > 0 && e.segment != ix->packets[ix->display[j - 1]].segment) {
        const int64_t prevEnd = ix->continuousPts[j - 1] + std::max<int64_t>(defaultDuration_, 1);
        offset = prevEnd - e.pts;
      }
      ix->continuousPts[j] = e.pts + offset;
    }
  }
  // frames sharing a pts: the n-th occurrence, decoded from the group's
  // earliest start so that every occurrence is seen after the seek
  ix->dupRank.assign(n, 0);
  for (int32_t j = 1; j < n; j++) {
    if (ix->packets[ix->display[j]].pts == ix->packets[ix->display[j - 1]].pts &&
        ix->packets[ix->display[j]].segment == ix->packets[ix->display[j - 1]].segment) {
      ix->dupRank[j] = ix->dupRank[j - 1] + 1;
      ix->startKey[j] = std::min(ix->startKey[j], ix->startKey[j - 1]);
    }
  }
  for (int32_t j = n - 2; j >= 0; j--)
    if (ix->packets[ix->display[j]].pts == ix->packets[ix->display[j + 1]].pts &&
        ix->packets[ix->display[j]].segment == ix->packets[ix->display[j + 1]].segment)
      ix->startKey[j] = std::min(ix->startKey[j], ix->startKey[j + 1]);
  ix->keys = keys;
  ptsToPacket_.clear();
  for (int32_t i = 0; i < n; i++) ptsToPacket_.push_back({ix->packets[i].pts, i});
  std::sort(ptsToPacket_.begin(), ptsToPacket_.end());
  index_ = std::move(ix);
  raValid_ = false;  // the next access seeks
}

int32_t VideoReader::packetIndexOf(const AVPacket* p) const {
  const int64_t pp = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
  auto it = std::lower_bound(ptsToPacket_.begin(), ptsToPacket_.end(), std::make_pair(pp, INT32_MIN));
  if (it == ptsToPacket_.end() || it->first != pp) return -1;
  // several packets with this pts (duplicates, or clock restarts): match the
  // byte position where there is one, else the dts
  if (p->pos >= 0)
    for (auto j = it; j != ptsToPacket_.end() && j->first == pp; ++j)
      if (index_->packets[j->second].pos == p->pos) return j->second;
  for (auto j = it; j != ptsToPacket_.end() && j->first == pp; ++j)
    if (index_->packets[j->second].dts == p->dts) return j->second;
  return it->second;
}

// One way of seeking; succeeds when the stream's first packet after it is a
// keyframe at or before packet k (or a discarded pre-roll keyframe). That
// packet is sent to the decoder here.
bool VideoReader::seekAttempt(int attempt, int32_t k) {
  AVFormatContext* ctx = input_.ctx.get();
  const IndexEntry& e = index_->packets[k];
  const IndexEntry& first = index_->packets[0];
  int ret;
  switch (attempt) {
    case 0: ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, e.pts, e.pts, 0); break;   // mp4, mkv
    case 1: ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, e.dts, e.dts, 0); break;   // dts-seeking demuxers (mpegts)
    case 2:
      if (e.pos < 0 || (ctx->iformat->flags & AVFMT_NO_BYTE_SEEK)) return false;
      ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, e.pos, e.pos, AVSEEK_FLAG_BYTE);
      break;
    default: {  // from the top
      ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, std::min(first.dts, first.pts), std::min(first.dts, first.pts), 0);
      if (ret < 0 && !(ctx->iformat->flags & AVFMT_NO_BYTE_SEEK))
        ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, 0, 0, AVSEEK_FLAG_BYTE);
    }
  }
  if (ret < 0) return false;
  avcodec_flush_buffers(dec_.get());
  flushed_ = false;
  done_ = false;
  raEof_ = false;
  raLastSent_ = -1;
  raLastPts_ = INT64_MIN;
  raCountPts_ = AV_NOPTS_VALUE;
  raCount_ = 0;
  for (int reads = 0; reads < 100000; reads++) {
    ret = av_read_frame(ctx, pkt_.get());
    if (ret < 0) return false;
    if (pkt_->stream_index != streamIndex_) {
      av_packet_unref(pkt_.get());
      continue;
    }
    const int32_t idx = (pkt_->flags & AV_PKT_FLAG_DISCARD) ? -1 : packetIndexOf(pkt_.get());
    const bool key = pkt_->flags & AV_PKT_FLAG_KEY;
    const bool ok = key && (idx >= 0 ? idx <= k : (pkt_->flags & AV_PKT_FLAG_DISCARD) != 0);
    if (ok) {
      raLastSent_ = idx;
      avcodec_send_packet(dec_.get(), pkt_.get());
    }
    av_packet_unref(pkt_.get());
    return ok;
  }
  return false;
}

void VideoReader::seekToPacket(int32_t k) {
  // with clock restarts timestamps are ambiguous: seek by byte position
  const int first = index_->discontinuous ? 2 : 0;
  for (int attempt = first; attempt < 4; attempt++) {
    if (seekAttempt(attempt, k)) {
      raValid_ = true;
      return;
    }
  }
  raValid_ = false;
  throw Error("SEEK", "cannot seek to packet " + std::to_string(k) + " of '" + opts_.input.source + "'");
}

void VideoReader::frameAt(int64_t i, uint8_t* dst, FrameMeta* meta) {
  const FrameIndex& ix = index();
  const int64_t n = static_cast<int64_t>(ix.display.size());
  if (i < 0 || i >= n)
    throw Error("INVALID_ARGUMENT", "frame " + std::to_string(i) + " does not exist (" + std::to_string(n) + " frames)");
  const int64_t T = ix.packets[ix.display[i]].pts;
  const int32_t rank = ix.dupRank[i];
  int32_t k = ix.startKey[i];
  AVFormatContext* ctx = input_.ctx.get();
  AVCodecContext* dec = dec_.get();
  // continue decoding when the target is ahead and its keyframe was sent
  const bool behind = T < raLastPts_ || (T == raLastPts_ && raCountPts_ == T && raCount_ > rank);
  bool seek = !raValid_ || raEof_ || behind || k > raLastSent_ || ix.discontinuous;
  const int64_t targetPos = ix.packets[ix.display[i]].pos;
  for (;;) {  // retries from earlier keyframes when a start point does not yield the frame
    if (seek) seekToPacket(k);
    bool passed = false;
    while (!passed) {
      if (input_.guard->interrupted.load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
      int ret = avcodec_receive_frame(dec, frame_.get());
      if (ret == 0) {
        countDecoded();
        const int64_t pts = frame_->best_effort_timestamp;
        raLastPts_ = pts;
        if (pts == raCountPts_) raCount_++;
        else {
          raCountPts_ = pts;
          raCount_ = 1;
        }
        const bool hit = ix.discontinuous ? (pts == T && (targetPos < 0 || frame_->pkt_pos == targetPos))
                                          : (pts == T && raCount_ - 1 == rank);
        if (hit) {
          emitCurrent(dst, meta, i);
          return;
        }
        av_frame_unref(frame_.get());
        // (in a discontinuous stream a later segment may reuse small pts: only EOF ends the search)
        if (!ix.discontinuous && pts != AV_NOPTS_VALUE && pts > T) passed = true;
        continue;
      }
      if (ret == AVERROR_EOF) {
        raEof_ = true;
        passed = true;  // the frame never came from this start point
        continue;
      }
      if (ret != AVERROR(EAGAIN)) {
        noteDecodeError(ret);
        continue;
      }
      ret = av_read_frame(ctx, pkt_.get());
      if (ret == AVERROR_EXIT) throw Error("ABORTED", "reading was interrupted", ret);
      if (ret < 0) {
        if (!flushed_) {
          flushed_ = true;
          avcodec_send_packet(dec, nullptr);
        }
        continue;
      }
      if (pkt_->stream_index != streamIndex_) {
        av_packet_unref(pkt_.get());
        continue;
      }
      if (!(pkt_->flags & AV_PKT_FLAG_DISCARD)) raLastSent_ = std::max(raLastSent_, packetIndexOf(pkt_.get()));
      ret = avcodec_send_packet(dec, pkt_.get());
      av_packet_unref(pkt_.get());
      if (ret < 0 && ret != AVERROR(EAGAIN)) {
        noteDecodeError(ret);
      }
    }
    // Not produced from keyframe k (e.g. an open-GOP recovery point that
    // needs the GOP before it): start one keyframe earlier.
    raValid_ = false;
    if (k == 0) break;
    auto it = std::lower_bound(ix.keys.begin(), ix.keys.end(), k);
    k = it == ix.keys.begin() ? 0 : *(--it);
    seek = true;
  }
  throw Error("SEEK", "frame " + std::to_string(i) + " (pts " + std::to_string(T) + ") of '" + opts_.input.source +
                          "' could not be decoded from any keyframe before it");
}

void VideoReader::frameAtPts(int64_t target, int64_t index, uint8_t* dst, FrameMeta* meta) {
  AVFormatContext* ctx = input_.ctx.get();
  AVCodecContext* dec = dec_.get();
  // continue when the target is ahead by less than ~2 s of frames, else seek
  const int64_t near = defaultDuration_ > 0 ? defaultDuration_ * 60 : 0;
  if (!raValid_ || raEof_ || target <= raLastPts_ || target - raLastPts_ > near) {
    int ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, target, target, 0);
    if (ret < 0) ret = av_seek_frame(ctx, streamIndex_, target, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) throwAvError(ret, "seeking in '" + opts_.input.source + "' failed", "SEEK");
    avcodec_flush_buffers(dec);
    flushed_ = false;
    done_ = false;
    raEof_ = false;
    raLastPts_ = INT64_MIN;
    raValid_ = true;
  }
  for (;;) {
    if (input_.guard->interrupted.load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    int ret = avcodec_receive_frame(dec, frame_.get());
    if (ret == 0) {
      countDecoded();
      const int64_t pts = frame_->best_effort_timestamp;
      raLastPts_ = pts;
      if (pts != AV_NOPTS_VALUE && pts >= target) {
        emitCurrent(dst, meta, index);
        return;
      }
      av_frame_unref(frame_.get());
      continue;
    }
    if (ret == AVERROR_EOF) {
      raValid_ = false;
      raEof_ = true;
      throw Error("SEEK", "the stream ended before pts " + std::to_string(target) + " of '" + opts_.input.source + "'");
    }
    if (ret != AVERROR(EAGAIN)) continue;
    ret = av_read_frame(ctx, pkt_.get());
    if (ret == AVERROR_EXIT) throw Error("ABORTED", "reading was interrupted", ret);
    if (ret < 0) {
      if (flushed_) {
        raValid_ = false;
        throw Error("SEEK", "the stream ended before pts " + std::to_string(target));
      }
      flushed_ = true;
      avcodec_send_packet(dec, nullptr);
      continue;
    }
    if (pkt_->stream_index == streamIndex_) avcodec_send_packet(dec, pkt_.get());
    av_packet_unref(pkt_.get());
  }
}

}  // namespace avcv
