#include "remux.h"

#include <algorithm>

#include "error.h"
#include "ffptr.h"
#include "video_writer.h"

extern "C" {
#include <libavutil/time.h>
}

namespace avcv {

namespace {

// One remux job: the source (reopened on a reconnect or a loop), the output
// and the running timestamp state.
class Remuxer {
 public:
  Remuxer(const RemuxOptions& o, RemuxControl& ctl) : o_(o), ctl_(ctl), pkt_(av_packet_alloc()) {
    if (!pkt_) throw Error("ENOMEM", "av_packet_alloc failed");
    io_ = o.input;
    io_.cancel = ctl.reading;
    io_.live.needVideo = true;  // an audio-only live source waits openTimeout to say so
    guard_.interrupted = ctl.cancelled;
  }

  RemuxResult run() {
    in_ = openInput(io_);
    mapStreams();
    openOutput();
    start_ = av_gettime_relative();
    for (;;) {
      if (ctl_.cancelled->load()) throw Error("ABORTED", "the remux was cancelled", AVERROR_EXIT);
      if (ctl_.stopped.load()) break;
      if (io_.live.enabled) in_.guard->armDeadline(io_.live.stallTimeout);
      int ret = av_read_frame(in_.ctx.get(), pkt_.get());
      const bool stalled = io_.live.enabled && in_.guard->timedOut.load();
      in_.guard->disarm();
      if (ret < 0) {
        if (ctl_.cancelled->load()) throw Error("ABORTED", "the remux was cancelled", AVERROR_EXIT);
        if (ctl_.stopped.load()) break;
        if (!restart(ret, stalled)) break;
        continue;
      }
      if (!take(pkt_.get())) break;  // the duration is reached
    }
    finish();
    return result_;
  }

 private:
  struct Map {
    int out = -1;
    AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
    AVCodecID codec = AV_CODEC_ID_NONE;
    int64_t lastDts = INT64_MIN;  // output time base
  };

  // Every audio and video stream goes out; one the container cannot hold is
  // an error (never a silently lost track). Data and subtitles are left.
  void mapStreams() {
    out_ = newOutput(o_.container, o_.path);
    AVFormatContext* oc = out_.get();
    const AVOutputFormat* ofmt = oc->oformat;
    AVFormatContext* ic = in_.ctx.get();
    map_.assign(ic->nb_streams, Map());
    // video first, then audio, each in the source's order (an FLV makes its
    // streams in the order their packets come)
    std::vector<unsigned> order;
    for (AVMediaType want : {AVMEDIA_TYPE_VIDEO, AVMEDIA_TYPE_AUDIO})
      for (unsigned i = 0; i < ic->nb_streams; i++)
        if (ic->streams[i]->codecpar->codec_type == want) order.push_back(i);
    for (unsigned i : order) {
      const AVStream* is = ic->streams[i];
      const AVMediaType t = is->codecpar->codec_type;
      if (t == AVMEDIA_TYPE_VIDEO && (is->disposition & AV_DISPOSITION_ATTACHED_PIC)) continue;
      const char* kind = t == AVMEDIA_TYPE_VIDEO ? "video" : "audio";
      const char* name = avcodec_get_name(is->codecpar->codec_id);
      if (avformat_query_codec(ofmt, is->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 0)
        throw Error("UNSUPPORTED_CODEC", "container '" + o_.container + "' cannot hold the source's " + kind + " (" +
                                             name + ") without re-encoding: choose another container or transform it");
      AVStream* os = addStreamLike(oc, is);
      map_[i] = Map{os->index, t, is->codecpar->codec_id, INT64_MIN};
      if (t == AVMEDIA_TYPE_VIDEO && video_ < 0) video_ = os->index;
      result_.streams.push_back(std::string(kind) + " " + name);
    }
    if (oc->nb_streams == 0) throw Error("NO_VIDEO_STREAM", "'" + io_.source + "' has no audio or video stream");
  }

  void openOutput() { openOutputIo(out_.get(), o_.path, o_.protocols, guard_, o_.openTimeout, nullptr); }

  // The source ended or failed: loop it, reconnect it, or end (false).
  bool restart(int err, bool stalled) {
    const LiveOptions& live = io_.live;
    if (err == AVERROR_EOF && o_.loop && !live.enabled) {
      if (result_.packets == 0) throw Error("INVALID_DATA", "'" + io_.source + "' has no packets to loop");
      in_.ctx.reset();
      in_ = openInput(io_);
      remapStreams(in_.ctx.get(), "the source changed between loops");
      result_.loops++;
      rebase();
      return true;
    }
    if (!live.enabled) {
      if (err == AVERROR_EOF) return false;
      throwAvError(err, "reading '" + io_.source + "' failed", "INVALID_DATA");
    }
    const std::string why = stalled              ? "no packet for " + fmtSeconds(live.stallTimeout)
                            : err == AVERROR_EOF ? "the stream ended"
                                                 : avErrorString(err);
    // A live source that ends or is lost for good ends the recording: what
    // was recorded is finished and kept, and the result says why it ended.
    if (live.attempts == 0) {
      if (err != AVERROR_EOF) result_.disconnected = "'" + io_.source + "' stopped (" + why + ")";
      return false;
    }
    in_.ctx.reset();
    try {
      reopenLive(
          io_, why, nullptr, [] {},
          [&](OpenedInput&& fresh) {
            remapStreams(fresh.ctx.get(), "the stream changed across the reconnect");
            in_ = std::move(fresh);
          });
    } catch (const Error& e) {
      if (e.code() != "DISCONNECTED") throw;
      result_.disconnected = e.what();
      return false;
    }
    result_.reconnects++;
    ctl_.reconnects.store(result_.reconnects);
    rebase();
    return true;
  }

  // The new input's streams matched to the output's by type and codec, in
  // order: an FLV (RTMP) makes its streams in the order their first packets
  // come, so after a reconnect the audio can be stream 0 where the video was.
  // An output stream with no match is an error; an extra input stream is left.
  void remapStreams(const AVFormatContext* ic, const char* what) {
    std::vector<Map> fresh(ic->nb_streams, Map());
    for (const Map& m : map_) {
      if (m.out < 0) continue;
      bool found = false;
      for (unsigned i = 0; !found && i < ic->nb_streams; i++) {
        const AVCodecParameters* par = ic->streams[i]->codecpar;
        if (fresh[i].out < 0 && par->codec_type == m.type && par->codec_id == m.codec) {
          fresh[i] = m;
          found = true;
        }
      }
      if (!found)
        throw Error("INVALID_DATA", std::string(what) + ": it has no " + av_get_media_type_string(m.type) +
                                        " stream (" + avcodec_get_name(m.codec) + ") for the output's");
    }
    map_ = std::move(fresh);
  }

  // A new connection or loop continues where the output ended.
  void rebase() {
    offset_ = end_;
    base_ = AV_NOPTS_VALUE;
    needKey_ = true;
  }

  // One packet from the source: rebased, cut to duration, paced, muxed.
  // False once the duration is reached.
  bool take(AVPacket* p) {
    const Map m = p->stream_index < static_cast<int>(map_.size()) ? map_[p->stream_index] : Map();
    if (m.out < 0 || p->dts == AV_NOPTS_VALUE) return drop(p);
    const AVStream* is = in_.ctx->streams[p->stream_index];
    const bool video = m.out == video_;
    if (needKey_) {
      // the output starts (and a reconnect or loop restarts) at a video keyframe
      if (video_ >= 0 && !(video && (p->flags & AV_PKT_FLAG_KEY))) return drop(p);
      needKey_ = false;
    }
    // the first keyframe's presentation time is the output's 0 (or where a
    // reconnect or a loop continues it)
    const int64_t tsUs = av_rescale_q(p->pts != AV_NOPTS_VALUE ? p->pts : p->dts, is->time_base, AV_TIME_BASE_Q);
    if (base_ == AV_NOPTS_VALUE) base_ = tsUs;
    const int64_t shiftUs = offset_ - base_;
    const int64_t outUs = tsUs + shiftUs;
    const int64_t durUs = p->duration > 0 ? av_rescale_q(p->duration, is->time_base, AV_TIME_BASE_Q) : 0;
    if (outUs + durUs < 0) return drop(p);  // audio wholly before the first keyframe
    // the end, as the CLI's -t with -c copy: video by decode time (a frame
    // shown before the end may need one shown after it), audio by its time
    const int64_t cutUs = video ? av_rescale_q(p->dts, is->time_base, AV_TIME_BASE_Q) + shiftUs : outUs;
    if (o_.duration > 0 && cutUs >= static_cast<int64_t>(o_.duration * 1e6)) {
      drop(p);
      // video past the end ends the job; audio past it waits for the video
      return !(video || video_ < 0);
    }
    const int64_t shift = av_rescale_q(shiftUs, AV_TIME_BASE_Q, is->time_base);
    if (p->pts != AV_NOPTS_VALUE) p->pts += shift;
    p->dts += shift;
    if (o_.realtime) pace(av_rescale_q(p->dts, is->time_base, AV_TIME_BASE_Q));
    AVStream* os = out_->streams[m.out];
    av_packet_rescale_ts(p, is->time_base, os->time_base);
    Map& mm = map_[p->stream_index];
    if (p->dts <= mm.lastDts) return drop(p);  // overlaps what went out before a reconnect
    mm.lastDts = p->dts;
    end_ = std::max(end_, outUs + durUs);
    p->stream_index = m.out;
    p->pos = -1;
    guard_.armDeadline(o_.stallTimeout);
    int ret = av_interleaved_write_frame(out_.get(), p);
    guard_.disarm();
    if (ret < 0) {
      if (ctl_.cancelled->load()) throw Error("ABORTED", "the remux was cancelled", AVERROR_EXIT);
      throwAvError(ret, "writing '" + o_.path + "' failed", isNetworkUrl(o_.path) ? "DISCONNECTED" : "WRITE");
    }
    result_.packets++;
    ctl_.packets.store(result_.packets);
    ctl_.seconds.store(std::max(ctl_.seconds.load(), outUs / 1e6));
    return true;
  }

  bool drop(AVPacket* p) {
    av_packet_unref(p);
    result_.dropped++;
    return true;
  }

  // Waits until the packet's output time has come, counted from the start.
  void pace(int64_t outUs) {
    for (;;) {
      const int64_t wait = start_ + outUs - av_gettime_relative();
      if (wait <= 0) return;
      if (ctl_.cancelled->load()) throw Error("ABORTED", "the remux was cancelled", AVERROR_EXIT);
      if (ctl_.stopped.load()) return;
      av_usleep(static_cast<unsigned>(std::min<int64_t>(wait, 50000)));
    }
  }

  void finish() {
    result_.bytes = closeOutput(out_.get(), o_.path, guard_, o_.stallTimeout);
    result_.duration = end_ / 1e6;
  }

  const RemuxOptions& o_;
  RemuxControl& ctl_;
  InputOptions io_;
  OpenedInput in_;
  InputGuard guard_;  // the output's interrupt state: outlives out_
  OutputContextPtr out_;
  PacketPtr pkt_;
  std::vector<Map> map_;  // by input stream index
  int video_ = -1;        // the output's first video stream
  bool needKey_ = true;
  int64_t base_ = AV_NOPTS_VALUE;  // the first dts of this connection or loop, microseconds
  int64_t offset_ = 0;             // where it goes in the output, microseconds
  int64_t end_ = 0;                // the output's end so far, microseconds
  int64_t start_ = 0;              // wall clock at the start (realtime)
  RemuxResult result_;
};

}  // namespace

RemuxResult remux(const RemuxOptions& opts, RemuxControl& ctl) {
  Remuxer r(opts, ctl);
  return r.run();
}

}  // namespace avcv
