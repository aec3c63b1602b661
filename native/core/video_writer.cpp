#include "video_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "error.h"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
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

bool encoderExists(const char* name) { return avcodec_find_encoder_by_name(name) != nullptr; }

std::string firstAvailable(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (encoderExists(n)) return n;
  return "";
}

}  // namespace

std::string resolveEncoder(const std::string& name) {
  const std::string n = lower(name);
  // short codec names pick the best CPU encoder available
  if (n == "h264" || n == "avc" || n == "avc1" || n == "x264" || n == "h264 " || n == "H264")
    return firstAvailable({"libx264", "libopenh264"});
  if (n == "hevc" || n == "h265" || n == "hvc1" || n == "hev1" || n == "x265") return firstAvailable({"libx265"});
  if (n == "vp9" || n == "vp90" || n == "vp09") return firstAvailable({"libvpx-vp9"});
  if (n == "vp8" || n == "vp80") return firstAvailable({"libvpx"});
  if (n == "av1" || n == "av01") return firstAvailable({"libsvtav1", "libaom-av1", "librav1e"});
  if (n == "mp4v" || n == "xvid" || n == "divx" || n == "fmp4" || n == "dx50") return firstAvailable({"mpeg4"});
  if (n == "mjpg" || n == "mjpeg") return firstAvailable({"mjpeg"});
  if (n == "ffv1") return "ffv1";
  if (encoderExists(name.c_str())) {
    const AVCodec* c = avcodec_find_encoder_by_name(name.c_str());
    if (c && c->type == AVMEDIA_TYPE_VIDEO) return name;
  }
  return "";
}

std::string nvencFor(const std::string& encoder) {
  const AVCodec* c = avcodec_find_encoder_by_name(encoder.c_str());
  if (!c) return "";
  const char* nv = c->id == AV_CODEC_ID_H264   ? "h264_nvenc"
                   : c->id == AV_CODEC_ID_HEVC ? "hevc_nvenc"
                   : c->id == AV_CODEC_ID_AV1  ? "av1_nvenc"
                                               : nullptr;
  return nv && encoderExists(nv) ? nv : "";
}

std::string muxerForExtension(const std::string& extIn) {
  const std::string e = lower(extIn);
  if (e == "mp4" || e == "m4v") return "mp4";
  if (e == "mov") return "mov";
  if (e == "mkv") return "matroska";
  if (e == "webm") return "webm";
  if (e == "avi") return "avi";
  return "";
}

std::unique_ptr<VideoWriter> VideoWriter::open(const WriterOptions& o, AVBufferRef* hwFrames) {
  std::unique_ptr<VideoWriter> w(new VideoWriter());
  w->opts_ = o;
  const AVOutputFormat* ofmt = av_guess_format(o.container.c_str(), nullptr, nullptr);
  if (!ofmt) throw Error("UNSUPPORTED_FORMAT", "unknown container '" + o.container + "'");
  AVFormatContext* oc = nullptr;
  int ret = avformat_alloc_output_context2(&oc, ofmt, nullptr, o.path.c_str());
  if (ret < 0 || !oc) throwAvError(ret, "cannot create a '" + o.container + "' output", "INVALID_ARGUMENT");
  w->out_.reset(oc);

  const AVCodec* codec = avcodec_find_encoder_by_name(o.codec.c_str());
  if (!codec || codec->type != AVMEDIA_TYPE_VIDEO)
    throw Error("UNSUPPORTED_CODEC", "no video encoder named '" + o.codec + "' in this libav build");
  if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) != 1)
    throw Error("INVALID_ARGUMENT", std::string("container '") + o.container + "' cannot hold " +
                                        avcodec_get_name(codec->id) + " video (encoder '" + o.codec + "')");
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
    if (codec->id == AV_CODEC_ID_MJPEG) {
      AVPixelFormat j = pix == AV_PIX_FMT_YUV420P   ? AV_PIX_FMT_YUVJ420P
                        : pix == AV_PIX_FMT_YUV422P ? AV_PIX_FMT_YUVJ422P
                        : pix == AV_PIX_FMT_YUV444P ? AV_PIX_FMT_YUVJ444P
                                                    : AV_PIX_FMT_NONE;
      if (j != AV_PIX_FMT_NONE && supported(j)) pix = j;
    }
    if (!supported(pix)) {
      // MJPEG takes full-range ("j") YUV
      AVPixelFormat j = pix == AV_PIX_FMT_YUV420P   ? AV_PIX_FMT_YUVJ420P
                        : pix == AV_PIX_FMT_YUV422P ? AV_PIX_FMT_YUVJ422P
                        : pix == AV_PIX_FMT_YUV444P ? AV_PIX_FMT_YUVJ444P
                                                    : AV_PIX_FMT_NONE;
      if (j != AV_PIX_FMT_NONE && supported(j)) {
        pix = j;
      } else {
        std::string list;
        for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
          list += std::string(list.empty() ? "" : ", ") + av_get_pix_fmt_name(*p);
        throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' does not take pixel format '" + o.pixelFormat +
                                            "' (it takes: " + list + ")");
      }
    }
  }
  if (hwFrames) {
    // NVENC on CUDA frames: the pool's software format is what is encoded
    if (!std::strstr(codec->name, "_nvenc"))
      throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' cannot take CUDA frames (only NVENC can)");
    const auto* fc = reinterpret_cast<const AVHWFramesContext*>(hwFrames->data);
    pix = fc->sw_format;
  }
  const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(pix);
  if ((o.width & ((1 << pd->log2_chroma_w) - 1)) || (o.height & ((1 << pd->log2_chroma_h) - 1)))
    throw Error("INVALID_ARGUMENT", "pixel format '" + o.pixelFormat + "' needs a width and height divisible by " +
                                        str(1 << pd->log2_chroma_w) + "x" + str(1 << pd->log2_chroma_h) + "; got " +
                                        str(o.width) + "x" + str(o.height));
  w->in_ = describeImage(o.inputFormat, o.inputLayout, o.width, o.height);

  AVCodecContext* enc = avcodec_alloc_context3(codec);
  if (!enc) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  w->enc_.reset(enc);
  enc->width = o.width;
  enc->height = o.height;
  enc->pix_fmt = pix;
  if (hwFrames) {
    enc->pix_fmt = AV_PIX_FMT_CUDA;
    enc->sw_pix_fmt = pix;
    enc->hw_frames_ctx = av_buffer_ref(hwFrames);
    if (!enc->hw_frames_ctx) throw Error("ENOMEM", "av_buffer_ref failed");
    w->hw_ = true;
  }
  const AVRational fps{o.fps.num, o.fps.den};
  const AVRational tb = o.timeBase.num > 0 ? AVRational{o.timeBase.num, o.timeBase.den} : av_inv_q(fps);
  enc->time_base = tb;
  enc->framerate = fps;
  enc->sample_aspect_ratio = {1, 1};
  enc->thread_count = o.threads;
  if (o.gop >= 0) enc->gop_size = o.gop;
  if (o.bitrate > 0) enc->bit_rate = o.bitrate;
  const bool nvenc = std::strstr(codec->name, "_nvenc") != nullptr;
  if (o.rateControl == "cbr") {
    // a 1-second VBV at the bitrate, min = max = target: what x264/x265 and
    // the other libav encoders read as constant bitrate
    enc->rc_max_rate = enc->rc_min_rate = o.bitrate;
    enc->rc_buffer_size = static_cast<int>(std::min<int64_t>(o.bitrate, INT32_MAX));
  }
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
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  AVDictionary* dict = nullptr;
  if (!o.preset.empty()) av_dict_set(&dict, "preset", o.preset.c_str(), 0);
  if (!o.tune.empty()) av_dict_set(&dict, "tune", o.tune.c_str(), 0);
  if (!o.profile.empty()) av_dict_set(&dict, "profile", o.profile.c_str(), 0);
  if (nvenc) {
    // NVENC has no crf: its constant-quality mode is rc=vbr with cq (and no
    // bitrate target); vbr/cbr are its rc modes of the same names
    if (o.rateControl == "cbr") av_dict_set(&dict, "rc", "cbr", 0);
    else if (!o.rateControl.empty() || o.crf >= 0) av_dict_set(&dict, "rc", "vbr", 0);
    if (o.crf >= 0) av_dict_set(&dict, "cq", str(o.crf).c_str(), 0);
  } else if (o.crf >= 0) {
    av_dict_set(&dict, "crf", str(o.crf).c_str(), 0);
  }
  if (o.rateControl == "cq" && std::strcmp(codec->name, "libvpx-vp9") == 0)
    enc->bit_rate = 0;  // vp9's constant quality
  for (const auto& kv : o.codecOptions) av_dict_set(&dict, kv.first.c_str(), kv.second.c_str(), 0);
  ret = avcodec_open2(enc, codec, &dict);
  std::string unknown;
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX)))
    unknown += std::string(unknown.empty() ? "" : ", ") + e->key;
  av_dict_free(&dict);
  if (ret < 0) throwAvError(ret, "cannot open encoder '" + o.codec + "'", "ENCODE");
  if (!unknown.empty())
    throw Error("INVALID_ARGUMENT", "encoder '" + o.codec + "' does not know option(s): " + unknown);

  w->vst_ = avformat_new_stream(oc, nullptr);
  if (!w->vst_) throw Error("ENOMEM", "avformat_new_stream failed");
  ret = avcodec_parameters_from_context(w->vst_->codecpar, enc);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_from_context", "ENCODE");
  w->vst_->time_base = tb;
  w->vst_->avg_frame_rate = fps;
  w->vst_->r_frame_rate = fps;

  w->apkt_.reset(av_packet_alloc());
  w->aframe_.reset(av_frame_alloc());
  w->openAudio();

  for (const auto& kv : o.metadata) av_dict_set(&oc->metadata, kv.first.c_str(), kv.second.c_str(), 0);

  if (!(ofmt->flags & AVFMT_NOFILE)) {
    ret = avio_open(&oc->pb, o.path.c_str(), AVIO_FLAG_WRITE);
    if (ret < 0) throwAvError(ret, "cannot create '" + o.path + "'", "IO");
  }
  AVDictionary* mopts = nullptr;
  if (o.faststart) av_dict_set(&mopts, "movflags", "+faststart", 0);
  ret = avformat_write_header(oc, &mopts);
  av_dict_free(&mopts);
  if (ret < 0) throwAvError(ret, "cannot write the '" + o.container + "' header", "WRITE");
  w->headerWritten_ = true;

  w->frame_.reset(av_frame_alloc());
  w->pkt_.reset(av_packet_alloc());
  if (!w->frame_ || !w->pkt_) throw Error("ENOMEM", "allocation failed");
  if (!w->hw_) {  // CUDA frames go to NVENC as they are
    w->frame_->format = pix;
    w->frame_->width = o.width;
    w->frame_->height = o.height;
    ret = av_frame_get_buffer(w->frame_.get(), 0);
    if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
  }
  if (!w->hw_ && !o.frameInput) {  // decoded frames get a scaler per source shape (encodeFrame)
    w->sws_.reset(sws_getContext(o.width, o.height, w->in_.avFormat, o.width, o.height, pix, SWS_BICUBIC, nullptr,
                                 nullptr, nullptr));
    if (!w->sws_)
      throw Error("INVALID_ARGUMENT", std::string("cannot convert ") + av_get_pix_fmt_name(w->in_.avFormat) + " to " +
                                          av_get_pix_fmt_name(pix));
  }
  {
    std::lock_guard<std::mutex> lk(w->statsMu_);
    w->stats_.encoder = codec->name;
    w->stats_.pixelFormat = av_get_pix_fmt_name(pix);
  }
  return w;
}

VideoWriter::~VideoWriter() {
  for (auto& t : tracks_) {
    swr_free(&t.swr);
    if (t.fifo) av_audio_fifo_free(t.fifo);
  }
  if (!finished_ && out_) {
    // an unfinished output is not a file anyone should see: close and remove
    if (out_->pb) avio_closep(&out_->pb);
    ::unlink(opts_.path.c_str());
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
  pkt->stream_index = outIndex;
  int ret = av_interleaved_write_frame(out_.get(), pkt);
  if (ret < 0) throwAvError(ret, "writing '" + opts_.path + "' failed", "WRITE");
}

void VideoWriter::writeVideoPackets() {
  for (;;) {
    int ret = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throwAvError(ret, "encoding failed", "ENCODE");
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
  if (lastPts_ != INT64_MIN) lastDuration_ = pts - lastPts_;
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
  int ret = avcodec_send_frame(enc_.get(), f);
  if (ret < 0) throwAvError(ret, "encoding failed", "ENCODE");
  writeVideoPackets();
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.framesWritten++;
  }
  // audio up to the current frame only: what is written cannot be trimmed later
  if (!tracks_.empty()) pumpAudio(lastPts_ * av_q2d(enc_->time_base), false);
}

void VideoWriter::finish() {
  if (finished_) return;
  int ret = avcodec_send_frame(enc_.get(), nullptr);
  if (ret < 0 && ret != AVERROR_EOF) throwAvError(ret, "flushing the encoder", "ENCODE");
  writeVideoPackets();
  const double videoEnd = lastPts_ == INT64_MIN ? 0 : (lastPts_ + lastDuration_) * av_q2d(enc_->time_base);
  if (!tracks_.empty()) pumpAudio(videoEnd, true);
  ret = av_write_trailer(out_.get());
  if (ret < 0) throwAvError(ret, "writing the trailer of '" + opts_.path + "'", "WRITE");
  if (out_->pb) {
    avio_flush(out_->pb);
    if (out_->pb->error < 0) throwAvError(out_->pb->error, "writing '" + opts_.path + "' failed", "WRITE");
    const int64_t size = avio_size(out_->pb);
    ret = avio_closep(&out_->pb);
    if (ret < 0) throwAvError(ret, "closing '" + opts_.path + "' failed", "WRITE");
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.bytes = size;
  }
  finished_ = true;
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.videoDuration = videoEnd;
}

// ---- audio ----

void VideoWriter::openAudio() {
  const AudioSpec& a = opts_.audio;
  if (a.mode == "none" || a.source.source.empty()) return;
  audioIn_ = openInput(a.source);
  AVFormatContext* ic = audioIn_.ctx.get();
  AVFormatContext* oc = out_.get();
  std::string done;
  for (unsigned i = 0; i < ic->nb_streams; i++) {
    AVStream* ist = ic->streams[i];
    if (ist->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
      ist->discard = AVDISCARD_ALL;
      continue;
    }
    const bool canCopy = avformat_query_codec(oc->oformat, ist->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 1;
    if (a.mode == "copy" && !canCopy)
      throw Error("INVALID_ARGUMENT", std::string("container '") + opts_.container + "' cannot hold " +
                                          avcodec_get_name(ist->codecpar->codec_id) +
                                          " audio as is; use audio mode 'encode' or 'auto'");
    AudioTrack t;
    t.inIndex = static_cast<int>(i);
    t.inStream = ist;
    t.encode = a.mode == "encode" || (a.mode == "auto" && !canCopy);
    AVStream* ost = avformat_new_stream(oc, nullptr);
    if (!ost) throw Error("ENOMEM", "avformat_new_stream failed");
    t.outIndex = ost->index;
    if (!t.encode) {
      int ret = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
      if (ret < 0) throwAvError(ret, "avcodec_parameters_copy", "ENCODE");
      ost->codecpar->codec_tag = 0;
      ost->time_base = ist->time_base;
    } else {
      const AVCodec* dc = avcodec_find_decoder(ist->codecpar->codec_id);
      if (!dc)
        throw Error("UNSUPPORTED_CODEC",
                    std::string("no decoder for ") + avcodec_get_name(ist->codecpar->codec_id) + " audio");
      t.dec.reset(avcodec_alloc_context3(dc));
      avcodec_parameters_to_context(t.dec.get(), ist->codecpar);
      t.dec->pkt_timebase = ist->time_base;
      int ret = avcodec_open2(t.dec.get(), dc, nullptr);
      if (ret < 0) throwAvError(ret, "cannot open the audio decoder", "DECODE");
      const bool webm = opts_.container == "webm";
      const AVCodec* ec = avcodec_find_encoder_by_name(webm ? "libopus" : "aac");
      if (!ec) throw Error("UNSUPPORTED_CODEC", webm ? "no libopus encoder" : "no aac encoder");
      t.enc.reset(avcodec_alloc_context3(ec));
      AVCodecContext* ae = t.enc.get();
      int rate = t.dec->sample_rate;
      if (ec->supported_samplerates) {
        bool ok = false;
        for (const int* r = ec->supported_samplerates; *r; r++) ok = ok || *r == rate;
        if (!ok) rate = 48000;
      }
      ae->sample_rate = rate;
      ae->sample_fmt = ec->sample_fmts ? ec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
      if (t.dec->ch_layout.nb_channels > 2 && webm) av_channel_layout_default(&ae->ch_layout, 2);
      else if (t.dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&ae->ch_layout, t.dec->ch_layout.nb_channels);
      else av_channel_layout_copy(&ae->ch_layout, &t.dec->ch_layout);
      ae->bit_rate = webm ? 96000 : 128000;
      ae->time_base = {1, rate};
      if (oc->oformat->flags & AVFMT_GLOBALHEADER) ae->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
      ret = avcodec_open2(ae, ec, nullptr);
      if (ret < 0) throwAvError(ret, "cannot open the audio encoder", "ENCODE");
      ret = avcodec_parameters_from_context(ost->codecpar, ae);
      if (ret < 0) throwAvError(ret, "avcodec_parameters_from_context", "ENCODE");
      ost->time_base = ae->time_base;
      AVChannelLayout inLayout;
      if (t.dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&inLayout, t.dec->ch_layout.nb_channels);
      else av_channel_layout_copy(&inLayout, &t.dec->ch_layout);
      ret = swr_alloc_set_opts2(&t.swr, &ae->ch_layout, ae->sample_fmt, ae->sample_rate, &inLayout, t.dec->sample_fmt,
                                t.dec->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&inLayout);
      if (ret < 0 || swr_init(t.swr) < 0) throw Error("ENCODE", "cannot set up audio resampling");
      t.fifo = av_audio_fifo_alloc(ae->sample_fmt, ae->ch_layout.nb_channels, 1024);
      t.nextPts = AV_NOPTS_VALUE;
    }
    tracks_.push_back(std::move(t));
    done = tracks_.back().encode ? "encode" : "copy";
  }
  std::lock_guard<std::mutex> lk(statsMu_);
  stats_.audioMode = tracks_.empty() ? "none" : done;
  if (!tracks_.empty())
    stats_.audioCodec =
        tracks_[0].encode ? tracks_[0].enc->codec->name : avcodec_get_name(tracks_[0].inStream->codecpar->codec_id);
}

void VideoWriter::pumpAudio(double until, bool final) {
  AVFormatContext* ic = audioIn_.ctx.get();
  const double shift = opts_.audio.shift;
  const double startAt = opts_.audio.start;
  auto trackFor = [&](int in) -> AudioTrack* {
    for (auto& t : tracks_)
      if (t.inIndex == in) return &t;
    return nullptr;
  };
  auto encodeFifo = [&](AudioTrack& t, bool drain, int64_t maxPts) {
    AVCodecContext* ae = t.enc.get();
    const int fs = ae->frame_size > 0 ? ae->frame_size : 1024;
    for (;;) {
      int avail = av_audio_fifo_size(t.fifo);
      if (avail <= 0 || (avail < fs && !drain)) break;
      int n = std::min(avail, fs);
      if (maxPts != AV_NOPTS_VALUE && t.nextPts + n > maxPts)
        n = static_cast<int>(std::max<int64_t>(0, maxPts - t.nextPts));
      if (n <= 0) {
        av_audio_fifo_drain(t.fifo, avail);
        break;
      }
      AVFrame* af = aframe_.get();
      av_frame_unref(af);
      af->nb_samples = n;
      af->format = ae->sample_fmt;
      af->sample_rate = ae->sample_rate;
      av_channel_layout_copy(&af->ch_layout, &ae->ch_layout);
      int ret = av_frame_get_buffer(af, 0);
      if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
      av_audio_fifo_read(t.fifo, reinterpret_cast<void**>(af->data), n);
      af->pts = t.nextPts;
      t.nextPts += n;
      ret = avcodec_send_frame(ae, af);
      if (ret < 0) throwAvError(ret, "audio encoding failed", "ENCODE");
      for (;;) {
        ret = avcodec_receive_packet(ae, apkt_.get());
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
        if (ret < 0) throwAvError(ret, "audio encoding failed", "ENCODE");
        av_packet_rescale_ts(apkt_.get(), ae->time_base, out_->streams[t.outIndex]->time_base);
        muxPacket(apkt_.get(), t.outIndex);
        std::lock_guard<std::mutex> lk(statsMu_);
        stats_.audioPackets++;
      }
    }
  };
  auto decodeInto = [&](AudioTrack& t, AVPacket* p, int64_t maxPts) {
    int ret = avcodec_send_packet(t.dec.get(), p);
    if (ret < 0 && ret != AVERROR_EOF) return;  // a bad audio packet is skipped, as ffmpeg does
    AVFrame* df = av_frame_alloc();
    while (avcodec_receive_frame(t.dec.get(), df) == 0) {
      if (t.nextPts == AV_NOPTS_VALUE) {
        int64_t ts = df->best_effort_timestamp != AV_NOPTS_VALUE ? df->best_effort_timestamp : 0;
        double sec = ts * av_q2d(t.inStream->time_base) + shift;
        t.nextPts = std::llround(std::max(0.0, sec) * t.enc->sample_rate);
      }
      const int outMax = swr_get_out_samples(t.swr, df->nb_samples);
      uint8_t** buf = nullptr;
      av_samples_alloc_array_and_samples(&buf, nullptr, t.enc->ch_layout.nb_channels, outMax, t.enc->sample_fmt, 0);
      int got = swr_convert(t.swr, buf, outMax, const_cast<const uint8_t**>(df->extended_data), df->nb_samples);
      if (got > 0) av_audio_fifo_write(t.fifo, reinterpret_cast<void**>(buf), got);
      if (buf) av_freep(&buf[0]);
      av_freep(&buf);
      av_frame_unref(df);
      encodeFifo(t, false, maxPts);
    }
    av_frame_free(&df);
  };

  for (;;) {
    if (audioEof_) break;
    if (!havePending_) {
      int ret = av_read_frame(ic, apkt_.get());
      if (ret < 0) {
        audioEof_ = true;
        break;
      }
      havePending_ = true;
    }
    AVPacket* p = apkt_.get();
    AudioTrack* t = trackFor(p->stream_index);
    if (!t) {
      av_packet_unref(p);
      havePending_ = false;
      continue;
    }
    const AVRational itb = t->inStream->time_base;
    const int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
    const double srcTime = ts == AV_NOPTS_VALUE ? 0 : ts * av_q2d(itb);
    const double outTime = srcTime + shift;
    if (outTime >= until) {
      if (final) {  // past the end of the video: the rest is trimmed
        av_packet_unref(p);
        havePending_ = false;
        audioEof_ = true;
      }
      break;  // keep it for a later horizon
    }
    havePending_ = false;
    // drop audio that ends before the start; a packet ending exactly there is
    // kept (AAC's priming packet at negative pts, as `ffmpeg -c:a copy` keeps it)
    if (srcTime + (p->duration > 0 ? p->duration * av_q2d(itb) : 0) < startAt - 1e-9) {
      av_packet_unref(p);
      continue;
    }
    if (!t->encode) {
      const int64_t off = av_rescale_q(std::llround(shift * AV_TIME_BASE), AV_TIME_BASE_Q, itb);
      if (p->pts != AV_NOPTS_VALUE) p->pts += off;
      if (p->dts != AV_NOPTS_VALUE) p->dts += off;
      const double end = outTime + (p->duration > 0 ? p->duration * av_q2d(itb) : 0);
      av_packet_rescale_ts(p, itb, out_->streams[t->outIndex]->time_base);
      t->lastEnd = std::max(t->lastEnd, end);
      muxPacket(p, t->outIndex);
      std::lock_guard<std::mutex> lk(statsMu_);
      stats_.audioPackets++;
    } else {
      const int64_t maxPts = final ? std::llround(until * t->enc->sample_rate) : AV_NOPTS_VALUE;
      decodeInto(*t, p, maxPts);
      av_packet_unref(p);
    }
  }
  if (final) {
    for (auto& t : tracks_) {
      if (!t.encode) continue;
      const int64_t maxPts = std::llround(until * t.enc->sample_rate);
      decodeInto(t, nullptr, maxPts);
      // resampler tail
      const int outMax = swr_get_out_samples(t.swr, 0);
      if (outMax > 0) {
        uint8_t** buf = nullptr;
        av_samples_alloc_array_and_samples(&buf, nullptr, t.enc->ch_layout.nb_channels, outMax, t.enc->sample_fmt, 0);
        int got = swr_convert(t.swr, buf, outMax, nullptr, 0);
        if (got > 0) av_audio_fifo_write(t.fifo, reinterpret_cast<void**>(buf), got);
        if (buf) av_freep(&buf[0]);
        av_freep(&buf);
      }
      if (t.nextPts == AV_NOPTS_VALUE) t.nextPts = 0;
      encodeFifo(t, true, maxPts);
      avcodec_send_frame(t.enc.get(), nullptr);
      for (;;) {
        int ret = avcodec_receive_packet(t.enc.get(), apkt_.get());
        if (ret < 0) break;
        av_packet_rescale_ts(apkt_.get(), t.enc->time_base, out_->streams[t.outIndex]->time_base);
        muxPacket(apkt_.get(), t.outIndex);
      }
      t.lastEnd = t.nextPts / double(t.enc->sample_rate);
    }
    double ad = 0;
    for (auto& t : tracks_) ad = std::max(ad, t.lastEnd);
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.audioDuration = ad;
  }
}

}  // namespace avcv
