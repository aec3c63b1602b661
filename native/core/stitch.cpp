#include "stitch.h"

#include <algorithm>
#include <cstring>

#include "error.h"
#include "ffptr.h"

extern "C" {
#include <libavcodec/bsf.h>
}

namespace avcv {

namespace {

bool sameStream(const AVCodecParameters* a, const AVCodecParameters* b) {
  return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height && a->format == b->format &&
         a->extradata_size == b->extradata_size &&
         (a->extradata_size == 0 || std::memcmp(a->extradata, b->extradata, a->extradata_size) == 0);
}

struct BsfCloser {
  void operator()(AVBSFContext* c) const { av_bsf_free(&c); }
};

class Stitcher {
 public:
  Stitcher(const StitchOptions& o, StitchControl& ctl) : o_(o), ctl_(ctl), pkt_(av_packet_alloc()) {
    if (!pkt_) throw Error("ENOMEM", "av_packet_alloc failed");
    if (o.pieces.empty()) throw Error("INVALID_ARGUMENT", "no pieces to stitch");
    if (o.starts.size() != o.pieces.size()) throw Error("INVALID_ARGUMENT", "one start per piece");
    guard_.interrupted = ctl.cancelled;
  }

  StitchResult run() {
    OpenedInput first = openPiece(0);
    openOutput(first.ctx.get());
    for (size_t i = 0; i < o_.pieces.size(); i++) {
      OpenedInput in = i == 0 ? std::move(first) : openPiece(i);
      copyPiece(i, in.ctx.get());
    }
    if (bsf_) drainBsf();
    finish();
    return r_;
  }

 private:
  OpenedInput openPiece(size_t i) {
    InputOptions io;
    io.source = o_.pieces[i];
    io.cancel = ctl_.cancelled;
    OpenedInput in = openInput(io);
    AVFormatContext* ic = in.ctx.get();
    if (ic->nb_streams != 1 || ic->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
      throw Error("INVALID_DATA", "piece " + std::to_string(i) + " ('" + io.source + "') is not one video stream");
    if (i > 0 && !sameStream(ic->streams[0]->codecpar, first_))
      throw Error("INVALID_DATA", "piece " + std::to_string(i) +
                                      " was encoded differently from the first (codec, size, pixel format or headers): "
                                      "the pieces cannot be joined without re-encoding");
    return in;
  }

  void openOutput(AVFormatContext* first) {
    const WriterOptions& o = o_.out;
    out_ = newOutput(o.container, o.path);
    AVFormatContext* oc = out_.get();
    const AVOutputFormat* ofmt = oc->oformat;
    const AVStream* is = first->streams[0];
    int ret = avcodec_parameters_copy(firstPar_.get(), is->codecpar);
    if (ret < 0) throwAvError(ret, "avcodec_parameters_copy", "ENOMEM");
    first_ = firstPar_.get();
    vst_ = addStreamLike(oc, is);
    // the single pass's time base and rates (a NUT piece refines its time base)
    tb_ = o.timeBase.num > 0 ? AVRational{o.timeBase.num, o.timeBase.den} : is->time_base;
    vst_->time_base = tb_;
    if (o.fps.num > 0) vst_->avg_frame_rate = vst_->r_frame_rate = AVRational{o.fps.num, o.fps.den};
    r_.codec = avcodec_get_name(is->codecpar->codec_id);
    // a container without global headers needs them in the keyframes, as an
    // encoder writing for it would put them (the pieces have them apart)
    if (!(ofmt->flags & AVFMT_GLOBALHEADER) && is->codecpar->extradata_size > 0) {
      const AVBitStreamFilter* f = av_bsf_get_by_name("dump_extra");
      AVBSFContext* c = nullptr;
      if (!f || av_bsf_alloc(f, &c) < 0) throw Error("ENOMEM", "cannot make the dump_extra filter");
      bsf_.reset(c);
      avcodec_parameters_copy(c->par_in, is->codecpar);
      c->time_base_in = tb_;
      ret = av_bsf_init(c);
      if (ret < 0) throwAvError(ret, "dump_extra", "INTERNAL");
    }
    audio_ = std::make_unique<AudioMux>(o.audio, o.container, oc, [this](AVPacket* p, int index) {
      mux(p, index);
      r_.audioPackets++;
    });
    r_.audioMode = audio_->mode();
    r_.audioCodec = audio_->codec();
    for (const auto& kv : o.metadata) av_dict_set(&oc->metadata, kv.first.c_str(), kv.second.c_str(), 0);
    openWriterOutput(oc, o, guard_, 0);
  }

  // A piece's packets in decode order, moved to start at starts[i]. A
  // demuxer that reorders (NUT) leaves the first packets' decode times
  // unset until it knows the delay: they are buffered with the next two
  // that have one, and given the encoder's, a frame step apart before them.
  void copyPiece(size_t i, AVFormatContext* ic) {
    const AVStream* is = ic->streams[0];
    std::vector<PacketPtr> head;
    size_t known = 0;  // head packets with a decode time
    bool started = false;
    for (;;) {
      if (ctl_.cancelled->load()) throw Error("ABORTED", "the stitch was cancelled", AVERROR_EXIT);
      AVPacket* p = pkt_.get();
      const int ret = av_read_frame(ic, p);
      if (ret < 0 && ret != AVERROR_EOF)
        throwAvError(ret, "reading piece " + std::to_string(i) + " ('" + o_.pieces[i] + "')", "INVALID_DATA");
      if (ret == 0) {
        av_packet_rescale_ts(p, is->time_base, tb_);
        if (p->pts == AV_NOPTS_VALUE) p->pts = p->dts;
        if (p->pts == AV_NOPTS_VALUE)
          throw Error("INVALID_DATA", "piece " + std::to_string(i) + " has a packet without a timestamp");
      }
      if (started) {
        if (ret == AVERROR_EOF) return;
        put(i, p);
        continue;
      }
      if (ret == 0) {
        if (p->dts != AV_NOPTS_VALUE) known++;
        PacketPtr h(av_packet_alloc());  // the few packets of a piece's head only
        if (!h) throw Error("ENOMEM", "av_packet_alloc failed");
        av_packet_move_ref(h.get(), p);
        head.push_back(std::move(h));
        if (known < 2) continue;
      }
      if (head.empty()) return;
      startPiece(i, head);
      started = true;
      for (auto& h : head) put(i, h.get());
      head.clear();
      if (ret == AVERROR_EOF) return;
    }
  }

  // The piece's shift to starts[i], and decode times for its first packets.
  void startPiece(size_t i, std::vector<PacketPtr>& head) {
    int64_t minPts = INT64_MAX;
    for (auto& h : head) minPts = std::min(minPts, h->pts);
    delta_ = o_.starts[i] - minPts;
    size_t unknown = 0;
    while (unknown < head.size() && head[unknown]->dts == AV_NOPTS_VALUE) unknown++;
    if (unknown == 0) return;
    // the step between the first two known decode times (consecutive
    // frames), else between the two earliest presentation times
    int64_t anchor = 0, step = 0;
    std::vector<int64_t> known;
    for (auto& h : head)
      if (h->dts != AV_NOPTS_VALUE) known.push_back(h->dts);
    if (known.size() >= 2) {
      anchor = known[0];
      step = known[1] - known[0];
    } else {
      std::vector<int64_t> pts;
      for (auto& h : head) pts.push_back(h->pts);
      std::sort(pts.begin(), pts.end());
      anchor = known.empty() ? pts[0] : known[0];
      step = pts.size() >= 2 ? pts[1] - pts[0] : 1;
    }
    if (step <= 0) step = 1;
    for (size_t j = 0; j < unknown; j++) head[j]->dts = anchor - static_cast<int64_t>(unknown - j) * step;
  }

  void put(size_t i, AVPacket* p) {
    p->pts += delta_;
    if (p->dts != AV_NOPTS_VALUE) p->dts += delta_;
    else p->dts = p->pts;  // a piece without reordering
    const double at = p->dts * av_q2d(tb_);
    av_packet_rescale_ts(p, tb_, vst_->time_base);  // the muxer's own (Matroska: milliseconds)
    // a piece's first decode times (before its first frame's, for
    // reordering) must come after the previous piece's last
    if (lastDts_ != INT64_MIN && p->dts <= lastDts_) {
      p->dts = lastDts_ + 1;
      if (p->pts < p->dts)
        throw Error("INVALID_DATA", "piece " + std::to_string(i) + " overlaps the one before it in time");
    }
    lastDts_ = p->dts;
    p->stream_index = vst_->index;
    p->pos = -1;
    video(p);
    r_.packets++;
    ctl_.packets.store(r_.packets);
    if (!audio_->empty()) audio_->pump(at, false);
  }

  void video(AVPacket* p) {
    if (!bsf_) return mux(p, vst_->index);
    int ret = av_bsf_send_packet(bsf_.get(), p);
    if (ret < 0) throwAvError(ret, "dump_extra", "INTERNAL");
    receiveBsf();
  }
  void receiveBsf() {
    for (;;) {
      int ret = av_bsf_receive_packet(bsf_.get(), pkt_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret < 0) throwAvError(ret, "dump_extra", "INTERNAL");
      mux(pkt_.get(), vst_->index);
    }
  }
  void drainBsf() {
    av_bsf_send_packet(bsf_.get(), nullptr);
    receiveBsf();
  }

  void mux(AVPacket* p, int index) {
    p->stream_index = index;
    int ret = av_interleaved_write_frame(out_.get(), p);
    if (ret < 0) {
      if (ctl_.cancelled->load()) throw Error("ABORTED", "the stitch was cancelled", AVERROR_EXIT);
      throwAvError(ret, "writing '" + o_.out.path + "' failed", "WRITE");
    }
  }

  void finish() {
    if (!audio_->empty()) audio_->pump(o_.end, true);
    r_.bytes = closeOutput(out_.get(), o_.out.path, guard_, 0);
    r_.videoDuration = o_.end;
    r_.audioDuration = audio_->duration();
  }

  struct ParFree {
    void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
  };

  const StitchOptions& o_;
  StitchControl& ctl_;
  InputGuard guard_;  // the output's interrupt state: outlives out_
  OutputContextPtr out_;
  std::unique_ptr<AudioMux> audio_;
  std::unique_ptr<AVBSFContext, BsfCloser> bsf_;
  std::unique_ptr<AVCodecParameters, ParFree> firstPar_{avcodec_parameters_alloc()};
  const AVCodecParameters* first_ = nullptr;
  AVStream* vst_ = nullptr;
  PacketPtr pkt_;
  int64_t lastDts_ = INT64_MIN;
  int64_t delta_ = 0;    // the current piece's shift to its start
  AVRational tb_{1, 1};  // the video's time base (starts, the pieces' timestamps once read)
  StitchResult r_;
};

}  // namespace

StitchResult stitch(const StitchOptions& opts, StitchControl& ctl) {
  Stitcher s(opts, ctl);
  return s.run();
}

}  // namespace avcv
