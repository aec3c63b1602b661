// Random access on VideoReader: the frame index (packet scan or decode scan),
// seeking to the packet a frame needs, and finding the frame by its tag.
#include <algorithm>

#include "error.h"
#include "video_reader.h"

namespace avcv {

IndexEntry VideoReader::entryOf(const AVPacket* p) {
  IndexEntry e;
  e.pts = p->pts;
  e.dts = p->dts;
  e.pos = p->pos;
  e.key = p->flags & AV_PKT_FLAG_KEY;
  e.discard = p->flags & AV_PKT_FLAG_DISCARD;
  e.corrupt = p->flags & AV_PKT_FLAG_CORRUPT;
  return e;
}

// Every packet of the stream from the start, without decoding.
std::vector<IndexEntry> VideoReader::scanPackets(bool* errors) {
  AVFormatContext* ctx = input_.ctx.get();
  std::vector<IndexEntry> packets;
  PacketPtr pkt(av_packet_alloc());
  int failures = 0;
  for (const PacketPtr& p : pending_)  // read at open by probeNvdec: the stream's first packets
    if (p->stream_index == streamIndex_) packets.push_back(entryOf(p.get()));
  pending_.clear();
  for (;;) {
    if (cancel_->load()) throw Error("ABORTED", "indexing was interrupted", AVERROR_EXIT);
    int ret = av_read_frame(ctx, pkt.get());
    if (ret == AVERROR_EXIT) throw Error("ABORTED", "indexing was interrupted", ret);
    if (ret == AVERROR_EOF || (ret < 0 && ctx->pb && avio_feof(ctx->pb))) break;
    if (ret < 0) {
      *errors = true;
      if (++failures > 64) throwAvError(ret, "indexing '" + opts_.input.source + "' failed", "DEMUX");
      continue;
    }
    if (pkt->stream_index == streamIndex_) packets.push_back(entryOf(pkt.get()));
    av_packet_unref(pkt.get());
  }
  if (ctx->pb && ctx->pb->error && ctx->pb->error != AVERROR_EOF) *errors = true;
  return packets;
}

// Sequential decoding of the whole stream on a reader of its own (a fresh
// open, as sequential reading starts), recording every packet and the tag,
// pts and key flag of every frame it yields.
FrameIndex VideoReader::decodeScan(std::string reason) {
  ReaderOptions so = opts_;
  so.rawFrames = true;
  so.filter.clear();          // the index describes decoded frames
  so.corruptIsError = false;  // the index lists what decodes; errors surface when frames are read
  so.width = so.height = 0;
  so.crop = Rect{};
  so.autorotate = false;
  so.format = PixFmt::BGR24;
  so.layout = Layout::HWC;
  std::unique_ptr<VideoReader> scanner = openWith(so, cancel_);
  std::vector<IndexEntry> packets;
  scanner->record_ = &packets;
  std::vector<DecodedFrame> frames;
  FramePtr f(av_frame_alloc());
  FrameMeta m;
  // Frames decoded after damage (until a clean keyframe) are marked: frame
  // threads do not conceal damage the same way twice.
  bool damage = false;
  int64_t seenErrors = 0;
  for (;;) {
    try {
      if (!scanner->nextDecoded(f.get(), &m)) break;
    } catch (const Error& e) {
      if (e.code() == "DECODE" && frames.empty()) break;  // nothing decodes: an index of no frames
      throw;
    }
    const ReaderStats st = scanner->stats();
    const int64_t errors = st.decodeErrors;  // (a packet flagged corrupt that decodes cleanly conceals nothing)
    const bool corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
    if (f->key_frame && !corrupt && errors == seenErrors) damage = false;
    if (corrupt || errors != seenErrors) damage = true;
    seenErrors = errors;
    frames.push_back({f->reordered_opaque, m.pts, f->key_frame != 0, damage});
    av_frame_unref(f.get());
  }
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.framesDecoded += scanner->stats().framesDecoded;
  }
  return buildDecodedIndex(std::move(packets), std::move(frames), defaultDuration_, std::move(reason));
}

// Why these packets cannot say what decoding yields ("" when they can); marks their segments.
std::string VideoReader::whyDecode(std::vector<IndexEntry>* packets, bool scanErrors) const {
  markSegments(packets);
  const bool generated = input_.ctx->iformat->flags & AVFMT_NOTIMESTAMPS;
  return needsDecoding(*packets, generated, scanErrors);
}

const FrameIndex& VideoReader::index() {
  if (index_) return *index_;
  bool errors = false;
  std::vector<IndexEntry> packets = scanPackets(&errors);
  std::string reason = whyDecode(&packets, errors);
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.indexScans++;
  }
  if (reason.empty()) adoptIndex(buildFrameIndex(std::move(packets), defaultDuration_));
  else adoptIndex(decodeScan(std::move(reason)));  // its own packets are the ones the frames' tags count
  if (index_->display.empty()) {                   // nothing to index where frames were promised: say why, once
    const std::string why = noFrameReason();
    if (!why.empty()) {
      index_.reset();
      throw Error("DECODE", "'" + opts_.input.source + "' " + why);
    }
  }
  return *index_;
}

void VideoReader::loadIndex(std::vector<IndexEntry> packets, std::vector<DecodedFrame> frames, bool haveFrames) {
  if (haveFrames) {
    adoptIndex(buildDecodedIndex(std::move(packets), std::move(frames), defaultDuration_,
                                 "the saved index was built by decoding"));
    return;
  }
  if (!whyDecode(&packets, false).empty()) return;  // packets cannot say: build it on first use
  adoptIndex(buildFrameIndex(std::move(packets), defaultDuration_));
}

void VideoReader::adoptIndex(FrameIndex ix) {
  index_ = std::make_unique<FrameIndex>(std::move(ix));
  const int32_t n = static_cast<int32_t>(index_->packets.size());
  byPos_.clear();
  std::unordered_map<int64_t, int> uses;
  for (int32_t i = 0; i < n; i++)
    if (index_->packets[i].pos >= 0) uses[index_->packets[i].pos]++;
  for (int32_t i = 0; i < n; i++) {
    const int64_t pos = index_->packets[i].pos;
    if (pos >= 0 && uses[pos] == 1) byPos_[pos] = i;
  }
  ptsToPacket_.clear();
  for (int32_t i = 0; i < n; i++) {
    const IndexEntry& e = index_->packets[i];
    if (e.pos < 0 || uses[e.pos] > 1) ptsToPacket_.push_back({e.pts != kNoPts ? e.pts : e.dts, i});
  }
  std::sort(ptsToPacket_.begin(), ptsToPacket_.end());
  raValid_ = false;  // the next access seeks
}

// The index packet a demuxed packet is: by its byte position where that is
// unique (raw streams and AVI regenerate or lack timestamps after a seek),
// else by pts (then dts). -1 when it is not in the index.
int32_t VideoReader::packetIndexOf(const AVPacket* p) const {
  if (!index_) return -1;
  if (p->pos >= 0) {
    auto it = byPos_.find(p->pos);
    if (it != byPos_.end()) return it->second;
  }
  const int64_t pp = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
  if (pp == AV_NOPTS_VALUE) return -1;
  auto it = std::lower_bound(ptsToPacket_.begin(), ptsToPacket_.end(), std::make_pair(pp, INT32_MIN));
  int32_t found = -1;
  for (auto j = it; j != ptsToPacket_.end() && j->first == pp; ++j) {
    const IndexEntry& e = index_->packets[j->second];
    if (p->pos >= 0 && e.pos == p->pos) return j->second;
    if (found < 0 && e.dts == p->dts) found = j->second;
  }
  return found;
}

void VideoReader::resetDecoder() {
  avcodec_flush_buffers(dec_.get());
  flushed_ = false;
  done_ = false;
  postFlushErrors_ = 0;
  seeked_ = true;
  raEof_ = false;
  raLastSent_ = -1;
  raLastRank_ = -1;
  raTainted_ = false;
}

// A fresh open of the same input: the last way back to the start for
// demuxers that cannot seek (SWF, some raw streams).
void VideoReader::reopen() {
  InputOptions io = opts_.input;
  io.cancel = cancel_;
  OpenedInput in = openInput(io, log_.get());
  AVFormatContext* ctx = in.ctx.get();
  if (streamIndex_ >= static_cast<int>(ctx->nb_streams) ||
      ctx->streams[streamIndex_]->codecpar->codec_id != st_->codecpar->codec_id)
    throw Error("SEEK", "'" + opts_.input.source + "' changed while it was read");
  for (unsigned i = 0; i < ctx->nb_streams; i++)
    if (static_cast<int>(i) != streamIndex_) ctx->streams[i]->discard = AVDISCARD_ALL;
  log_->unwatch(input_.ctx.get());
  pending_.clear();
  input_ = std::move(in);
  st_ = ctx->streams[streamIndex_];
}

// One way of getting to packet k; succeeds when the stream's first packet
// after it is a keyframe at or before packet k (or a discarded pre-roll
// keyframe), or, from a fresh open, any packet at or before k. That packet is
// sent to the decoder here.
bool VideoReader::seekAttempt(int attempt, int32_t k) {
  AVFormatContext* ctx = input_.ctx.get();
  const IndexEntry& e = index_->packets[k];
  const IndexEntry& first = index_->packets[0];
  auto ts = [](const IndexEntry& x, bool dts) {
    const int64_t v = dts ? x.dts : x.pts;
    return v != kNoPts ? v : (x.dts != kNoPts ? x.dts : x.pts);
  };
  int ret = 0;
  pending_.clear();  // packets from before the seek
  switch (attempt) {
    case 0: ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, ts(e, false), ts(e, false), 0); break;  // mp4, mkv
    case 1: ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, ts(e, true), ts(e, true), 0); break;    // mpegts
    case 2:
      if (e.pos < 0 || (ctx->iformat->flags & AVFMT_NO_BYTE_SEEK)) return false;
      ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, e.pos, e.pos, AVSEEK_FLAG_BYTE);
      break;
    case 3: {  // the start, by timestamp or byte 0
      const int64_t t = std::min(ts(first, false), ts(first, true));
      ret = t == kNoPts ? -1 : avformat_seek_file(ctx, streamIndex_, INT64_MIN, t, t, 0);
      if (ret < 0 && !(ctx->iformat->flags & AVFMT_NO_BYTE_SEEK))
        ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, 0, 0, AVSEEK_FLAG_BYTE);
      break;
    }
    default: reopen();
  }
  if (ret < 0) return false;
  resetDecoder();
  const bool fresh = attempt >= 4;
  for (int reads = 0; reads < 100000; reads++) {
    ret = av_read_frame(ctx = input_.ctx.get(), pkt_.get());
    if (ret == AVERROR_EXIT) throw Error("ABORTED", "reading was interrupted", ret);
    if (ret < 0) return false;
    if (pkt_->stream_index != streamIndex_) {
      av_packet_unref(pkt_.get());
      continue;
    }
    const int32_t idx = packetIndexOf(pkt_.get());
    const bool key = pkt_->flags & AV_PKT_FLAG_KEY;
    const bool ok = idx >= 0 ? idx <= k && (key || fresh) : key && (pkt_->flags & AV_PKT_FLAG_DISCARD);
    if (ok) {
      raSeekKey_ = idx >= 0 ? idx : k;
      raLastSent_ = idx;
      dec_->reordered_opaque = idx;
      const int r = avcodec_send_packet(dec_.get(), pkt_.get());
      if (r < 0 && r != AVERROR(EAGAIN)) noteDecodeError(r);
    }
    av_packet_unref(pkt_.get());
    return ok;
  }
  return false;
}

void VideoReader::seekToPacket(int32_t k) {
  // with clock restarts timestamps are ambiguous: seek by byte position
  const int first = index_->discontinuous ? 2 : 0;
  for (int attempt = first; attempt < 5; attempt++) {
    if (seekAttempt(attempt, k)) {
      raValid_ = true;
      return;
    }
  }
  raValid_ = false;
  throw Error("SEEK", "cannot seek to packet " + std::to_string(k) + " of '" + opts_.input.source + "'");
}

Error VideoReader::notReproducible(int64_t i) const {
  return Error("CORRUPT", "frame " + std::to_string(i) + " of '" + opts_.input.source +
                              "' is decoded from damaged data, which frame-threaded decoding does not conceal the "
                              "same way twice; open the reader with threads: 1 to read it exactly");
}

void VideoReader::frameAt(int64_t i, uint8_t* dst, FrameMeta* meta) {
  checkSeekable();
  const FrameIndex& ix = index();
  const int64_t n = static_cast<int64_t>(ix.display.size());
  if (i < 0 || i >= n)
    throw Error("INVALID_ARGUMENT",
                "frame " + std::to_string(i) + " does not exist (" + std::to_string(n) + " frames)");
  if (!ix.unusable.empty())
    throw Error("INDEX", "'" + opts_.input.source + "' cannot be read at random: " + ix.unusable);
  const bool frameThreads = dec_->active_thread_type & FF_THREAD_FRAME;
  if (frameThreads && ix.decoded && ix.frames[i].damaged) throw notReproducible(i);
  const int32_t target = static_cast<int32_t>(i);
  int32_t k = ix.startKey[i];
  // continue decoding when the target is ahead and this run started early enough
  bool seek = !(raValid_ && !raEof_ && target > raLastRank_ && raSeekKey_ <= k && k <= raLastSent_);
  const int32_t np = static_cast<int32_t>(ix.packets.size());
  bool damaged = false;  // the target came out of a run over damaged data
  for (;;) {             // retries from earlier keyframes when a start point does not yield the frame
    if (seek) seekToPacket(k);
    damaged = false;
    const Got got = decodeUntil([&](const AVFrame* f) {
      if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags) raTainted_ = true;
      const int64_t tag = f->reordered_opaque;
      const int32_t rank = tag >= 0 && tag < np ? ix.rankOf[tag] : -1;
      if (rank < 0) return Want::Skip;  // a picture the index does not show (e.g. a broken leading one)
      raLastRank_ = rank;
      if (rank == target && raTainted_ && frameThreads) {
        damaged = true;
        return Want::Stop;
      }
      return rank == target ? Want::Take : rank > target ? Want::Stop : Want::Skip;
    });
    if (got == Got::Frame) {
      if (graph_) filterCurrent(i);
      emitCurrent(dst, meta, i);
      // the frame's timestamps as sequential reading reports them
      meta->pts = ix.pts[i];
      meta->rawTime = seconds(ix.pts[i]);
      meta->time = seconds(ix.continuousPts[i]);
      return;
    }
    raValid_ = false;
    if (damaged) {
      if (!seek) {  // damage earlier in a continued run: try the frame's own start point
        seek = true;
        continue;
      }
      throw notReproducible(i);
    }
    // Not produced from keyframe k (e.g. an open-GOP recovery point that
    // needs the GOP before it): start one keyframe earlier.
    if (got == Got::End) raEof_ = true;
    if (k == 0) break;
    auto it = std::lower_bound(ix.keys.begin(), ix.keys.end(), k);
    k = it == ix.keys.begin() ? 0 : *(--it);
    seek = true;
  }
  throw Error("SEEK", "frame " + std::to_string(i) + " of '" + opts_.input.source +
                          "' could not be decoded from any keyframe before it");
}

void VideoReader::frameAtPts(int64_t target, int64_t index, uint8_t* dst, FrameMeta* meta) {
  checkSeekable();
  AVFormatContext* ctx = input_.ctx.get();
  // continue when the target is ahead by less than ~2 s of frames, else seek
  const int64_t near = defaultDuration_ > 0 ? defaultDuration_ * 60 : 0;
  if (!raValid_ || raEof_ || target <= lastPts_ || target - lastPts_ > near) {
    pending_.clear();
    int ret = avformat_seek_file(ctx, streamIndex_, INT64_MIN, target, target, 0);
    if (ret < 0) ret = av_seek_frame(ctx, streamIndex_, target, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) throwAvError(ret, "seeking in '" + opts_.input.source + "' failed", "SEEK");
    resetDecoder();
    lastPts_ = INT64_MIN;
    raValid_ = true;
  }
  const Got got = decodeUntil([&](const AVFrame* f) {
    const int64_t pts = f->best_effort_timestamp;
    if (pts != AV_NOPTS_VALUE) lastPts_ = pts;
    return pts != AV_NOPTS_VALUE && pts >= target ? Want::Take : Want::Skip;
  });
  if (got != Got::Frame) {
    raValid_ = false;
    raEof_ = true;
    throw Error("SEEK", "the stream ended before pts " + std::to_string(target) + " of '" + opts_.input.source + "'");
  }
  if (graph_) filterCurrent(index);
  emitCurrent(dst, meta, index);
  meta->time = meta->rawTime;  // approximate mode knows no continuous timeline: the stream's own
}

}  // namespace avcv
