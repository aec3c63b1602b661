#include "video_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "device.h"
#include "error.h"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswresample/swresample.h>
}

namespace avcv {

void OutputContextCloser::operator()(AVFormatContext* c) const {
  if (!c) return;
  if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
  avformat_free_context(c);
}

namespace {

std::string str(int64_t v) { return std::to_string(v); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string muxerForExtension(const std::string& extIn) {
  const std::string e = lower(extIn);
  if (e == "mp4" || e == "m4v") return "mp4";
  if (e == "mov") return "mov";
  if (e == "mkv") return "matroska";
  if (e == "webm") return "webm";
  if (e == "avi") return "avi";
  return "";
}

OutputContextPtr newOutput(const std::string& container, const std::string& path) {
  const AVOutputFormat* ofmt = av_guess_format(container.c_str(), nullptr, nullptr);
  if (!ofmt) throw Error("UNSUPPORTED_FORMAT", "unknown container '" + container + "'");
  AVFormatContext* oc = nullptr;
  int ret = avformat_alloc_output_context2(&oc, ofmt, nullptr, path.c_str());
  if (ret < 0 || !oc) throwAvError(ret, "cannot create a '" + container + "' output", "INVALID_ARGUMENT");
  return OutputContextPtr(oc);
}

std::unique_ptr<VideoWriter> VideoWriter::open(const WriterOptions& o, AVBufferRef* hwFrames) {
  std::unique_ptr<VideoWriter> w(new VideoWriter());
  w->opts_ = o;
  w->out_ = newOutput(o.container, o.path);
  const AVOutputFormat* ofmt = w->out_->oformat;
  w->guard_ = std::make_unique<InputGuard>();
  w->guard_->interrupted = w->interrupted_;

  const AVCodec* codec = avcodec_find_encoder_by_name(o.codec.c_str());
  if (!codec || codec->type != AVMEDIA_TYPE_VIDEO)
    throw Error("UNSUPPORTED_CODEC", "no video encoder named '" + o.codec + "' in this libav build");
  // 0: the muxer says no; a negative answer means it does not say (mpegts,
  // hls), and avformat_write_header refuses what it cannot hold
  if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) == 0)
    throw Error("INVALID_ARGUMENT", std::string("container '") + o.container + "' cannot hold " +
                                        avcodec_get_name(codec->id) + " video (encoder '" + o.codec + "')");
  const AVPixelFormat pix = w->choosePixelFormat(codec, hwFrames);
  w->in_ = describeImage(o.inputFormat, o.inputLayout, o.width, o.height);
  w->openEncoder(codec, pix, hwFrames);
  w->openOutput();
  w->prepareFrames(pix);
  std::lock_guard<std::mutex> lk(w->statsMu_);
  w->stats_.encoder = codec->name;
  w->stats_.pixelFormat = av_get_pix_fmt_name(pix);
  return w;
}

// The encoded pixel format: the one asked for, MJPEG's full-range "j"
// variant of it, or a CUDA pool's software format for NVENC on CUDA frames.
AVPixelFormat VideoWriter::choosePixelFormat(const AVCodec* codec, AVBufferRef* hwFrames) const {
  const WriterOptions& o = opts_;
  AVPixelFormat pix = av_get_pix_fmt(o.pixelFormat.c_str());
  if (pix == AV_PIX_FMT_NONE) throw Error("INVALID_ARGUMENT", "unknown pixel format '" + o.pixelFormat + "'");
  if (codec->pix_fmts) {
    auto supported = [&](AVPixelFormat f) {
      for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == f) return true;
      return false;
    };
    // MJPEG is full range: its limited-range formats are listed but refused
    // unless strict is lowered, so take the "j" variant when there is one.
    const AVPixelFormat j = pix == AV_PIX_FMT_YUV420P   ? AV_PIX_FMT_YUVJ420P
                            : pix == AV_PIX_FMT_YUV422P ? AV_PIX_FMT_YUVJ422P
                            : pix == AV_PIX_FMT_YUV444P ? AV_PIX_FMT_YUVJ444P
                                                        : AV_PIX_FMT_NONE;
    const bool takeJ = j != AV_PIX_FMT_NONE && supported(j) && (codec->id == AV_CODEC_ID_MJPEG || !supported(pix));
    if (takeJ) {
      pix = j;
    } else if (!supported(pix)) {
      std::string list;
      for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
        list += std::string(list.empty() ? "" : ", ") + av_get_pix_fmt_name(*p);
      throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' does not take pixel format '" + o.pixelFormat +
                                          "' (it takes: " + list + ")");
    }
  }
  if (hwFrames) {
    // NVENC on CUDA frames: the pool's software format is what is encoded
    if (!isNvenc(codec))
      throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' cannot take CUDA frames (only NVENC can)");
    pix = reinterpret_cast<const AVHWFramesContext*>(hwFrames->data)->sw_format;
  }
  const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(pix);
  if ((o.width & ((1 << pd->log2_chroma_w) - 1)) || (o.height & ((1 << pd->log2_chroma_h) - 1)))
    throw Error("INVALID_ARGUMENT", "pixel format '" + o.pixelFormat + "' needs a width and height divisible by " +
                                        str(1 << pd->log2_chroma_w) + "x" + str(1 << pd->log2_chroma_h) + "; got " +
                                        str(o.width) + "x" + str(o.height));
  return pix;
}

void VideoWriter::openEncoder(const AVCodec* codec, AVPixelFormat pix, AVBufferRef* hwFrames) {
  const WriterOptions& o = opts_;
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  if (!enc) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  enc_.reset(enc);
  enc->width = o.width;
  enc->height = o.height;
  enc->pix_fmt = pix;
  if (hwFrames) {
    enc->pix_fmt = AV_PIX_FMT_CUDA;
    enc->sw_pix_fmt = pix;
    enc->hw_frames_ctx = av_buffer_ref(hwFrames);
    if (!enc->hw_frames_ctx) throw Error("ENOMEM", "av_buffer_ref failed");
    hw_ = true;
  }
  const AVRational fps{o.fps.num, o.fps.den};
  enc->time_base = o.timeBase.num > 0 ? AVRational{o.timeBase.num, o.timeBase.den} : av_inv_q(fps);
  enc->framerate = fps;
  enc->sample_aspect_ratio = {1, 1};
  enc->thread_count = o.threads;
  if (o.gop >= 0) enc->gop_size = o.gop;
  setColorTags(pix);
  if ((out_->oformat->flags & AVFMT_GLOBALHEADER) || o.globalHeader) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* dict = encoderSettings(
      enc, codec, EncoderRequest{o.crf, o.bitrate, o.rateControl, o.preset, o.tune, o.profile, o.codecOptions});
  const int ret = avcodec_open2(enc, codec, &dict);
  std::string unknown;
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX)))
    unknown += std::string(unknown.empty() ? "" : ", ") + e->key;
  av_dict_free(&dict);
  if (ret < 0) throwAvError(ret, "cannot open encoder '" + o.codec + "'", "ENCODE");
  if (!unknown.empty())
    throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' does not know option(s): " + unknown);
}

void VideoWriter::setColorTags(AVPixelFormat pix) {
  const WriterOptions& o = opts_;
  AVCodecContext* enc = enc_.get();
  const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(pix);
  const bool jpegRange = pix == AV_PIX_FMT_YUVJ420P || pix == AV_PIX_FMT_YUVJ422P || pix == AV_PIX_FMT_YUVJ444P;
  if (o.frameInput) {
    // the source's own tags: a YUV-to-YUV scale keeps its matrix and range
    // (full-range "j" formats are converted to limited range by swscale)
    if (o.colorspace >= 0) enc->colorspace = static_cast<AVColorSpace>(o.colorspace);
    if (o.colorPrimaries >= 0) enc->color_primaries = static_cast<AVColorPrimaries>(o.colorPrimaries);
    if (o.colorTrc >= 0) enc->color_trc = static_cast<AVColorTransferCharacteristic>(o.colorTrc);
    if (jpegRange) enc->color_range = AVCOL_RANGE_JPEG;
    else if (o.colorRange >= 0) enc->color_range = static_cast<AVColorRange>(o.colorRange);
  } else if (!(pd->flags & AV_PIX_FMT_FLAG_RGB) && pd->nb_components >= 3) {
    // swscale converts RGB input with BT.601: say so in the stream
    enc->colorspace = AVCOL_SPC_SMPTE170M;
    enc->color_range = jpegRange ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  }
}

// The video stream, the source's audio, metadata, the file and the header.
void VideoWriter::openOutput() {
  const WriterOptions& o = opts_;
  AVFormatContext* oc = out_.get();
  vst_ = avformat_new_stream(oc, nullptr);
  if (!vst_) throw Error("ENOMEM", "avformat_new_stream failed");
  int ret = avcodec_parameters_from_context(vst_->codecpar, enc_.get());
  if (ret < 0) throwAvError(ret, "avcodec_parameters_from_context", "ENCODE");
  const AVRational fps{o.fps.num, o.fps.den};
  vst_->time_base = enc_->time_base;
  vst_->avg_frame_rate = fps;
  if (o.codecTag.size() == 4)
    vst_->codecpar->codec_tag = MKTAG(o.codecTag[0], o.codecTag[1], o.codecTag[2], o.codecTag[3]);
  vst_->r_frame_rate = fps;
  audio_ = std::make_unique<AudioMux>(o.audio, o.container, oc, [this](AVPacket* p, int index) {
    muxPacket(p, index);
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.audioPackets++;
  });
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.audioMode = audio_->mode();
    stats_.audioCodec = audio_->codec();
  }
  for (const auto& kv : o.metadata) av_dict_set(&oc->metadata, kv.first.c_str(), kv.second.c_str(), 0);
  connect(oc);
  headerWritten_ = true;
}

// The file or connection, then the header, under live.openTimeout: the
// interrupt callback bounds a server that accepts and says nothing.
void VideoWriter::connect(AVFormatContext* oc) { openWriterOutput(oc, opts_, *guard_, opts_.live.openTimeout); }

void openWriterOutput(AVFormatContext* oc, const WriterOptions& o, InputGuard& guard, double openTimeout) {
  AVDictionary* mopts = nullptr;
  if (o.faststart) av_dict_set(&mopts, "movflags", "+faststart", 0);
  for (const auto& kv : o.muxerOptions) av_dict_set(&mopts, kv.first.c_str(), kv.second.c_str(), 0);
  try {
    openOutputIo(oc, o.path, o.protocols, guard, openTimeout, &mopts);
  } catch (...) {
    av_dict_free(&mopts);
    throw;
  }
  const AVDictionaryEntry* unused = av_dict_get(mopts, "", nullptr, AV_DICT_IGNORE_SUFFIX);
  const std::string unusedKey = unused ? unused->key : "";
  av_dict_free(&mopts);
  if (!unusedKey.empty())
    throw Error("INTERNAL", "the " + o.container + " muxer does not know the option '" + unusedKey + "'");
}

int64_t closeOutput(AVFormatContext* oc, const std::string& path, InputGuard& guard, double stallTimeout) {
  const bool net = isNetworkUrl(path);
  guard.armDeadline(stallTimeout);
  int ret = av_write_trailer(oc);
  guard.disarm();
  if (ret < 0) throwAvError(ret, "writing the trailer of '" + path + "'", net ? "DISCONNECTED" : "WRITE");
  if (!oc->pb || (oc->oformat->flags & AVFMT_NOFILE)) return 0;
  guard.armDeadline(stallTimeout);
  avio_flush(oc->pb);
  guard.disarm();
  if (oc->pb->error < 0) throwAvError(oc->pb->error, "writing '" + path + "' failed", net ? "DISCONNECTED" : "WRITE");
  const int64_t bytes = net ? avio_tell(oc->pb) : avio_size(oc->pb);
  guard.armDeadline(stallTimeout);
  ret = avio_closep(&oc->pb);
  guard.disarm();
  if (ret < 0) throwAvError(ret, "closing '" + path + "' failed", "WRITE");
  return bytes;
}

bool isNetworkUrl(const std::string& path) {
  return path.find("://") != std::string::npos && path.rfind("file:", 0) != 0;
}

AVStream* addStreamLike(AVFormatContext* oc, const AVStream* s) {
  AVStream* n = avformat_new_stream(oc, nullptr);
  if (!n) throw Error("ENOMEM", "avformat_new_stream failed");
  const int ret = avcodec_parameters_copy(n->codecpar, s->codecpar);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_copy", "ENOMEM");
  n->codecpar->codec_tag = 0;  // the muxer picks its own
  n->time_base = s->time_base;
  n->avg_frame_rate = s->avg_frame_rate;
  n->r_frame_rate = s->r_frame_rate;
  n->sample_aspect_ratio = s->sample_aspect_ratio;
  n->disposition = s->disposition;
  av_dict_copy(&n->metadata, s->metadata, 0);
  return n;
}

void openOutputIo(AVFormatContext* oc, const std::string& path, const std::vector<std::string>& protocols,
                  InputGuard& guard, double openTimeout, AVDictionary** muxerOpts) {
  const bool net = isNetworkUrl(path);
  oc->interrupt_callback.callback = guardInterrupt;
  oc->interrupt_callback.opaque = &guard;
  auto fail = [&](int ret, const std::string& what, const char* code) {
    guard.disarm();
    if (guard.interrupted->load()) throw Error("ABORTED", "'" + path + "': interrupted", AVERROR_EXIT);
    if (guard.timedOut.load())
      throw Error("TIMEOUT", what + ": no answer within " + fmtSeconds(openTimeout), AVERROR(ETIMEDOUT));
    throwAvError(ret, what, code);
  };
  guard.armDeadline(openTimeout);
  if (!(oc->oformat->flags & AVFMT_NOFILE)) {
    std::string wl;
    for (const auto& p : protocols) wl += (wl.empty() ? "" : ",") + p;
    AVDictionary* io = nullptr;
    av_dict_set(&io, "protocol_whitelist", wl.c_str(), 0);
    const int ret = avio_open2(&oc->pb, path.c_str(), AVIO_FLAG_WRITE, &oc->interrupt_callback, &io);
    av_dict_free(&io);
    if (ret < 0) fail(ret, (net ? "cannot connect to '" : "cannot create '") + path + "'", net ? "CONNECT" : "IO");
  }
  const int ret = avformat_write_header(oc, muxerOpts);
  if (ret < 0) fail(ret, std::string("cannot write the '") + oc->oformat->name + "' header", net ? "CONNECT" : "WRITE");
  guard.disarm();
}

void VideoWriter::closeLost() {
  if (!out_ || !out_->pb || (out_->oformat->flags & AVFMT_NOFILE)) return;
  sentBytes_ += avio_tell(out_->pb);
  guard_->armDeadline(1.0);  // a goodbye to a dead server must not hold the frames up
  avio_closep(&out_->pb);
  guard_->disarm();
}

void VideoWriter::lostConnection(int err) {
  const WriterLive& live = opts_.live;
  lostWhy_ =
      guard_->timedOut.load() ? "the server took nothing for " + fmtSeconds(live.stallTimeout) : avErrorString(err);
  closeLost();
  if (live.attempts == 0)
    throw Error("DISCONNECTED", "the connection to '" + opts_.path + "' was lost: " + lostWhy_, err);
  disconnected_ = true;
  attemptsMade_ = 0;
  nextAttempt_ = av_gettime_relative() + static_cast<int64_t>(live.delay * 1e6);
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.connected = false;
  stats_.lastError = lostWhy_;
}

void VideoWriter::tryReconnect() {
  const WriterLive& live = opts_.live;
  if (av_gettime_relative() < nextAttempt_) return;
  attemptsMade_++;
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.reconnectAttempts++;
  }
  AVFormatContext* oc = nullptr;
  int ret = avformat_alloc_output_context2(&oc, out_->oformat, nullptr, opts_.path.c_str());
  if (ret < 0 || !oc) throwAvError(ret, "cannot create a '" + opts_.container + "' output", "ENOMEM");
  OutputContextPtr fresh(oc);
  // the same streams, in the same order, as the lost connection's
  for (unsigned i = 0; i < out_->nb_streams; i++) addStreamLike(oc, out_->streams[i]);
  av_dict_copy(&oc->metadata, out_->metadata, 0);
  try {
    connect(oc);
  } catch (const Error& e) {
    if (e.code() == "ABORTED") throw;
    lastAttemptError_ = e.what();
    if (live.attempts >= 0 && attemptsMade_ >= live.attempts)
      throw Error("DISCONNECTED",
                  "the connection to '" + opts_.path + "' was lost (" + lostWhy_ + "); " +
                      std::to_string(attemptsMade_) + " reconnect attempt(s) failed, the last: " + lastAttemptError_,
                  e.averror());
    const double wait = std::min(live.maxDelay, live.delay * std::pow(2.0, std::min(attemptsMade_, 30)));
    nextAttempt_ = av_gettime_relative() + static_cast<int64_t>(wait * 1e6);
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.lastError = "reconnecting after: " + lostWhy_ + "; the last attempt: " + lastAttemptError_;
    return;
  }
  vst_ = oc->streams[vst_->index];
  audio_->rebind(oc);
  out_ = std::move(fresh);  // the lost context goes (its pb is closed already)
  disconnected_ = false;
  needKey_ = true;
  forceKey_ = true;
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.reconnects++;
  stats_.connected = true;
}

// The frame frames are converted into and, for bytes from JS, its scaler
// (decoded frames get a scaler per source shape in encodeFrame; CUDA frames
// go to NVENC as they are).
void VideoWriter::prepareFrames(AVPixelFormat pix) {
  frame_.reset(av_frame_alloc());
  pkt_.reset(av_packet_alloc());
  if (!frame_ || !pkt_) throw Error("ENOMEM", "allocation failed");
  if (hw_) return;
  frame_->format = pix;
  frame_->width = opts_.width;
  frame_->height = opts_.height;
  int ret = av_frame_get_buffer(frame_.get(), 0);
  if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
  if (opts_.frameInput) return;
  sws_.reset(sws_getContext(opts_.width, opts_.height, in_.avFormat, opts_.width, opts_.height, pix, SWS_BICUBIC,
                            nullptr, nullptr, nullptr));
  if (!sws_)
    throw Error("INVALID_ARGUMENT",
                std::string("cannot convert ") + av_get_pix_fmt_name(in_.avFormat) + " to " + av_get_pix_fmt_name(pix));
}

VideoWriter::~VideoWriter() {
  if (!finished_ && out_) {
    // an unfinished output is not a file anyone should see: close and remove
    if (out_->pb) avio_closep(&out_->pb);
    if (!network()) ::unlink(opts_.path.c_str());
  }
}

std::string VideoWriter::encoderName() const { return enc_ && enc_->codec ? enc_->codec->name : ""; }

WriterStats VideoWriter::stats() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  return stats_;
}

void VideoWriter::convert(const uint8_t* data, int64_t pts) {
  if (opts_.frameInput || hw_) throw Error("INTERNAL", "this writer takes decoded frames (encodeFrame)");
  checkPts(pts);
  int ret = av_frame_make_writable(frame_.get());  // the encoder may still hold the previous buffer
  if (ret < 0) throwAvError(ret, "av_frame_make_writable", "ENOMEM");
  const ImageDesc& d = in_;
  const AVPixFmtDescriptor* sd = av_pix_fmt_desc_get(d.avFormat);
  const int chromaShift = sd->log2_chroma_h;
  // The last rows go through a padded copy: swscale's SIMD readers may read
  // past the end of the caller's buffer.
  const int tailRows = std::min(d.height, 2);
  const int bodyRows = d.height - tailRows;
  const uint8_t* src[4] = {nullptr, nullptr, nullptr, nullptr};
  int stride[4] = {0, 0, 0, 0};
  for (int i = 0; i < d.planes; i++) {
    src[i] = data + d.offset[i];
    stride[i] = d.linesize[i];
  }
  if (bodyRows > 0) {
    ret = sws_scale(sws_.get(), src, stride, 0, bodyRows, frame_->data, frame_->linesize);
    if (ret < 0) throwAvError(ret, "sws_scale", "CONVERT");
  }
  size_t need = kDstPadding;
  for (int i = 0; i < d.planes; i++) {
    const int rows = (i == 1 || i == 2) && !(sd->flags & AV_PIX_FMT_FLAG_RGB) ? (tailRows >> chromaShift) : tailRows;
    need += size_t(rows) * d.linesize[i];
  }
  tail_.resize(need);
  const uint8_t* tsrc[4] = {nullptr, nullptr, nullptr, nullptr};
  size_t off = 0;
  for (int i = 0; i < d.planes; i++) {
    const bool chroma = (i == 1 || i == 2) && !(sd->flags & AV_PIX_FMT_FLAG_RGB);
    const int rows = chroma ? (tailRows >> chromaShift) : tailRows;
    const int first = chroma ? (bodyRows >> chromaShift) : bodyRows;
    std::memcpy(tail_.data() + off, src[i] + size_t(first) * stride[i], size_t(rows) * stride[i]);
    tsrc[i] = tail_.data() + off;
    off += size_t(rows) * stride[i];
  }
  ret = sws_scale(sws_.get(), tsrc, stride, bodyRows, tailRows, frame_->data, frame_->linesize);
  if (ret < 0) throwAvError(ret, "sws_scale", "CONVERT");
  notePts(pts);
  frame_->pts = pts;
  haveFrame_ = true;
}

void VideoWriter::muxPacket(AVPacket* pkt, int outIndex) {
  const bool video = outIndex == vst_->index;
  if (needKey_ && video && (pkt->flags & AV_PKT_FLAG_KEY)) needKey_ = false;
  if (disconnected_ || needKey_) {
    // the connection is down, or a new one has not had its keyframe yet
    av_packet_unref(pkt);
    if (video) {
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.dropped++;
    }
    return;
  }
  pkt->stream_index = outIndex;
  guard_->armDeadline(opts_.live.stallTimeout);
  int ret = av_interleaved_write_frame(out_.get(), pkt);
  guard_->disarm();
  if (ret >= 0) return;
  if (interrupted_->load()) throw Error("ABORTED", "the writer was aborted", AVERROR_EXIT);
  if (!network()) throwAvError(ret, "writing '" + opts_.path + "' failed", "WRITE");
  lostConnection(ret);  // throws DISCONNECTED unless reconnects are allowed
  if (video) {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.dropped++;
  }
}

void VideoWriter::writeVideoPackets() {
  for (;;) {
    int ret = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throwAvError(ret, "encoding failed", "ENCODE");
    // the frame's duration (to the next frame's pts), as the CLI gives its
    // packets: segmenting and fragmenting muxers time the last frame by it
    if (pkt_->duration <= 0 && pkt_->pts != AV_NOPTS_VALUE) {
      auto it = frameSteps_.find(pkt_->pts);
      if (it != frameSteps_.end()) {
        pkt_->duration = it->second;
        frameSteps_.erase(it);
      } else {
        pkt_->duration = lastDuration_;
      }
    }
    av_packet_rescale_ts(pkt_.get(), enc_->time_base, vst_->time_base);
    muxPacket(pkt_.get(), vst_->index);
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.packetsWritten++;
  }
}

void VideoWriter::checkPts(int64_t pts) {
  if (finished_) throw Error("CLOSED", "the writer is finished");
  if (lastPts_ != INT64_MIN && pts <= lastPts_)
    throw Error("INVALID_ARGUMENT", "frame timestamps must increase: pts " + str(pts) + " after " + str(lastPts_));
}

void VideoWriter::notePts(int64_t pts) {
  if (lastPts_ != INT64_MIN) {
    lastDuration_ = pts - lastPts_;
    frameSteps_[lastPts_] = lastDuration_;
    // a packet that left the encoder before its next frame came is never
    // looked up: the map keeps only recent frames
    while (frameSteps_.size() > 1024) frameSteps_.erase(frameSteps_.begin());
  }
  lastPts_ = pts;
}

void VideoWriter::encodeFrame(AVFrame* f, int64_t pts) {
  if (!opts_.frameInput && !hw_) throw Error("INTERNAL", "this writer takes bytes (convert)");
  checkPts(pts);
  if (f->format == AV_PIX_FMT_CUDA) {
    if (!hw_) throw Error("INTERNAL", "a CUDA frame for a writer without a CUDA frame pool");
    if (f->width != enc_->width || f->height != enc_->height)
      throw Error("ENCODE", "a " + str(f->width) + "x" + str(f->height) + " CUDA frame for a " + str(enc_->width) +
                                "x" + str(enc_->height) + " NVENC encoder");
    f->pts = pts;
    f->pict_type = AV_PICTURE_TYPE_NONE;  // the encoder places keyframes, not the source's
    notePts(pts);
    sendFrame(f);
    return;
  }
  if (hw_) throw Error("INTERNAL", "a software frame for an NVENC writer on CUDA frames");
  if (f->format == enc_->pix_fmt && f->width == enc_->width && f->height == enc_->height) {
    // the encoder's size and format already: no conversion pass, the
    // decoded frame itself (a reference) goes to the encoder
    av_frame_unref(direct_.get());
    int ret = av_frame_ref(direct_.get(), f);
    if (ret < 0) throwAvError(ret, "av_frame_ref", "ENOMEM");
    AVFrame* d = direct_.get();
    d->pts = pts;
    d->pict_type = AV_PICTURE_TYPE_NONE;  // the encoder places keyframes, not the source's
    d->sample_aspect_ratio = enc_->sample_aspect_ratio;
    av_frame_remove_side_data(d, AV_FRAME_DATA_REGIONS_OF_INTEREST);
    notePts(pts);
    sendFrame(d);
    av_frame_unref(d);
    return;
  }
  SwsContext* c =
      sws_getCachedContext(sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format), enc_->width,
                           enc_->height, enc_->pix_fmt, opts_.swsFlags, nullptr, nullptr, nullptr);
  sws_.reset(c);
  if (!c)
    throw Error("CONVERT", std::string("cannot convert ") + av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format)) +
                               " to " + av_get_pix_fmt_name(enc_->pix_fmt));
  int ret = av_frame_make_writable(frame_.get());
  if (ret < 0) throwAvError(ret, "av_frame_make_writable", "ENOMEM");
  ret = sws_scale(c, f->data, f->linesize, 0, f->height, frame_->data, frame_->linesize);
  if (ret < 0) throwAvError(ret, "sws_scale", "CONVERT");
  frame_->pts = pts;
  notePts(pts);
  sendFrame(frame_.get());
}

void VideoWriter::encodeConverted() {
  if (!haveFrame_) return;
  haveFrame_ = false;
  sendFrame(frame_.get());
}

void VideoWriter::sendFrame(AVFrame* f) {
  if (disconnected_) tryReconnect();  // throws DISCONNECTED when the attempts are spent
  if (disconnected_) {
    // not encoded: the server would not get it
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.framesWritten++;
    stats_.dropped++;
  } else {
    // a new connection starts with a keyframe (what the encoder still
    // holds from before is cut in muxPacket until it comes)
    if (forceKey_) f->pict_type = AV_PICTURE_TYPE_I;
    int ret = avcodec_send_frame(enc_.get(), f);
    if (forceKey_) {
      f->pict_type = AV_PICTURE_TYPE_NONE;
      forceKey_ = false;
    }
    if (ret < 0) throwAvError(ret, "encoding failed", "ENCODE");
    writeVideoPackets();
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.framesWritten++;
  }
  // audio up to the current frame only: what is written cannot be trimmed later
  if (!audio_->empty()) audio_->pump(lastPts_ * av_q2d(enc_->time_base), false);
}

void VideoWriter::finish() {
  if (finished_) return;
  if (disconnected_) {
    nextAttempt_ = 0;  // one last try, now
    tryReconnect();
    if (disconnected_)
      throw Error("DISCONNECTED",
                  "the connection to '" + opts_.path + "' was lost (" + lostWhy_ + ") and not restored before close",
                  AVERROR(ECONNRESET));
  }
  int ret = avcodec_send_frame(enc_.get(), nullptr);
  if (ret < 0 && ret != AVERROR_EOF) throwAvError(ret, "flushing the encoder", "ENCODE");
  writeVideoPackets();
  const double videoEnd = lastPts_ == INT64_MIN ? 0 : (lastPts_ + lastDuration_) * av_q2d(enc_->time_base);
  if (!audio_->empty()) audio_->pump(videoEnd, true);
  if (disconnected_)
    throw Error("DISCONNECTED", "the connection to '" + opts_.path + "' was lost while closing (" + lostWhy_ + ")",
                AVERROR(ECONNRESET));
  const bool hadPb = out_->pb != nullptr;
  const int64_t size = closeOutput(out_.get(), opts_.path, *guard_, opts_.live.stallTimeout);
  if (hadPb) {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.bytes = sentBytes_ + size;  // a network target: what lost connections sent too
  }
  finished_ = true;
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.videoDuration = videoEnd;
  stats_.audioDuration = audio_->duration();
}

}  // namespace avcv
