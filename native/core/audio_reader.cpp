#include "audio_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>

extern "C" {
#include <libavutil/samplefmt.h>
}

namespace avcv {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// The layout swresample is given for a frame or codec: its own, or libav's
// default for its channel count where the order is unspecified (as the CLI's
// aresample does).
void usableLayout(const AVChannelLayout* in, AVChannelLayout* out) {
  av_channel_layout_uninit(out);
  if (in->order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(out, in->nb_channels);
  else av_channel_layout_copy(out, in);
}

}  // namespace

std::unique_ptr<AudioReader> AudioReader::open(const AudioReaderOptions& opts,
                                               std::shared_ptr<std::atomic<bool>> cancel) {
  std::unique_ptr<AudioReader> r(new AudioReader());
  r->opts_ = opts;
  r->opts_.input.cancel = nullptr;
  r->cancel_ = std::move(cancel);
  InputOptions io = opts.input;
  io.cancel = r->cancel_;
  r->input_ = openInput(io, r->log_.get());
  r->openStream();
  r->openDecoder();
  r->log_->watch(r->dec_.get());
  r->pkt_.reset(av_packet_alloc());
  r->decoded_.reset(av_frame_alloc());
  r->frame_.reset(av_frame_alloc());
  if (!r->pkt_ || !r->decoded_ || !r->frame_) throw Error("ENOMEM", "allocation failed");
  r->planOutput();
  return r;
}

AudioReader::~AudioReader() {
  av_channel_layout_uninit(&swrInLayout_);
  av_channel_layout_uninit(&srcLayout_);
  av_channel_layout_uninit(&outLayout_);
}

void AudioReader::openStream() {
  AVFormatContext* ctx = input_.ctx.get();
  streamIndex_ = selectStream(ctx, AVMEDIA_TYPE_AUDIO, opts_.stream, opts_.input.source);
  st_ = ctx->streams[streamIndex_];
  container_ = probeContext(ctx);
  indexedAtOpen_ = avformat_index_get_entries_count(st_);
}

void AudioReader::openDecoder() {
  const AVCodecParameters* par = st_->codecpar;
  const std::string& src = opts_.input.source;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec)
    throw Error("UNSUPPORTED_CODEC", "no decoder for codec '" + stream().codec + "' in '" + src + "'",
                AVERROR_DECODER_NOT_FOUND);
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  int ret = avcodec_parameters_to_context(dec_.get(), par);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_to_context", "DECODE");
  // frames carry the stream's timestamps, and libavcodec trims the priming
  // and padding samples the container marks (skip_samples), as for the CLI
  dec_->pkt_timebase = st_->time_base;
  ret = avcodec_open2(dec_.get(), codec, nullptr);
  if (ret < 0) throwAvError(ret, "cannot open the " + stream().codec + " decoder for '" + src + "'", "DECODE");
}

// The source's format is the first decoded frame's (what the CLI's filter
// graph is configured from); without one, the codec's.
void AudioReader::planOutput() {
  pending_ = nextFrame();
  const AVFrame* f = frame_.get();
  if (pending_) {
    // with a graph: the source's rate (the graph's is resampled back), the graph's channels and format
    srcRate_ = graph_ ? graph_->input(0).sampleRate : f->sample_rate;
    usableLayout(&f->ch_layout, &srcLayout_);
    srcFormat_ = f->format;
    const bool timed = graph_ ? f->pts != AV_NOPTS_VALUE : f->best_effort_timestamp != AV_NOPTS_VALUE;
    if (timed) startTime_ = frameSeconds(f);
  } else {
    ended_ = true;
    srcRate_ = dec_->sample_rate;
    usableLayout(&dec_->ch_layout, &srcLayout_);
    srcFormat_ = dec_->sample_fmt;
  }
  if (!pending_ && st_->start_time != AV_NOPTS_VALUE)
    startTime_ = static_cast<double>(st_->start_time) * st_->time_base.num / st_->time_base.den;
  if (srcRate_ <= 0 || srcLayout_.nb_channels <= 0)
    throw Error("DECODE", "'" + opts_.input.source + "': the audio stream has no sample rate or channel count");
  outRate_ = opts_.sampleRate > 0 ? opts_.sampleRate : srcRate_;
  if (opts_.channels > 0) av_channel_layout_default(&outLayout_, opts_.channels);  // as ffmpeg -ac N
  else av_channel_layout_copy(&outLayout_, &srcLayout_);
  outFormat_ = opts_.s16 ? (opts_.planar ? AV_SAMPLE_FMT_S16P : AV_SAMPLE_FMT_S16)
                         : (opts_.planar ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT);
  firstSample_ = sampleAt(opts_.start);
  lastSample_ = opts_.end >= 0 ? std::max(firstSample_, sampleAt(opts_.end)) : -1;
}

std::string AudioReader::decoderName() const { return dec_ && dec_->codec ? dec_->codec->name : ""; }

std::string AudioReader::sourceSampleFormat() const {
  const char* n = av_get_sample_fmt_name(static_cast<AVSampleFormat>(srcFormat_));
  return n ? n : "";
}

std::string AudioReader::layoutName(const AVChannelLayout* l) {
  char buf[128];
  if (av_channel_layout_describe(l, buf, sizeof buf) < 0) return "";
  return buf;
}

AudioStats AudioReader::stats() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  return stats_;
}

int64_t AudioReader::sampleAt(double seconds) const {
  const double s = std::round((seconds - startTime_) * outRate_);
  return s > 0 ? static_cast<int64_t>(s) : 0;
}

// ---- decoding ----

bool AudioReader::nextFrame() {
  av_frame_unref(frame_.get());
  if (!opts_.filter.empty()) return filterFrame();
  if (!decodeFrame()) return false;
  av_frame_move_ref(frame_.get(), decoded_.get());
  return true;
}

void AudioReader::buildGraph(const AVFrame* f) {
  FilterPad in;
  in.type = AVMEDIA_TYPE_AUDIO;
  in.format = f->format;
  in.sampleRate = f->sample_rate;
  in.timeBase = {1, f->sample_rate};
  AVChannelLayout l{};
  usableLayout(&f->ch_layout, &l);
  in.channelLayout = layoutName(&l);
  in.channels = l.nb_channels;
  av_channel_layout_uninit(&l);
  FilterGraphOptions go;
  go.where = "filter";
  go.allowNestedInputs = opts_.input.allowNestedInputs;
  // The output format ends the graph, as the CLI's -af ... -ar -ac -f does:
  // libavfilter then converts where the CLI's graph converts (before atempo,
  // whose input takes any rate), and the resampler after it has nothing to do.
  const AVSampleFormat fmt = opts_.s16 ? (opts_.planar ? AV_SAMPLE_FMT_S16P : AV_SAMPLE_FMT_S16)
                                       : (opts_.planar ? AV_SAMPLE_FMT_FLTP : AV_SAMPLE_FMT_FLT);
  std::string args = std::string("sample_fmts=") + av_get_sample_fmt_name(fmt) +
                     ":sample_rates=" + std::to_string(opts_.sampleRate > 0 ? opts_.sampleRate : f->sample_rate);
  if (opts_.channels > 0) {
    AVChannelLayout want{};
    av_channel_layout_default(&want, opts_.channels);
    args += ":channel_layouts=" + layoutName(&want);
    av_channel_layout_uninit(&want);
  }
  go.tail = {{{"aformat", args}}};
  go.keepInfo = opts_.keepFilterLog;
  graph_.reset();
  graph_ = std::make_unique<FilterGraph>(opts_.filter, std::vector<FilterPad>{in}, 1, go);
}

bool AudioReader::filterFrame() {
  for (;;) {
    if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    bool ended = false;
    if (graph_ && graph_->pull(frame_.get(), 0, &ended)) return true;
    if (ended || graphFlushed_) return false;
    if (!decodeFrame()) {
      if (!graph_) return false;
      graph_->push(nullptr);
      graphFlushed_ = true;
      continue;
    }
    AVFrame* d = decoded_.get();
    if (!graph_ || graph_->differs(d)) buildGraph(d);
    // as the CLI feeds -af: timestamps in 1/sample_rate
    const int64_t ts = d->best_effort_timestamp;
    d->pts = ts == AV_NOPTS_VALUE ? ts : av_rescale_q(ts, st_->time_base, AVRational{1, d->sample_rate});
    graph_->push(d);
    av_frame_unref(d);
  }
}

std::string AudioReader::finishFilter() { return graph_ ? graph_->finish() : ""; }

std::string measureWithFilter(AudioReaderOptions opts, std::shared_ptr<std::atomic<bool>> cancel) {
  opts.keepFilterLog = true;
  opts.start = 0;
  opts.end = -1;
  std::unique_ptr<AudioReader> r = AudioReader::open(opts, std::move(cancel));
  std::vector<uint8_t> buf(static_cast<size_t>(opts.chunkSamples) * r->channels() * r->bytesPerSample());
  AudioChunkMeta meta;
  while (r->next(buf.data(), &meta) > 0) {}
  return r->finishFilter();
}

double AudioReader::frameSeconds(const AVFrame* f) const {
  if (graph_) {
    const AVRational tb = graph_->output(0).timeBase;
    return f->pts == AV_NOPTS_VALUE ? 0 : static_cast<double>(f->pts) * tb.num / tb.den;
  }
  const int64_t pts = f->best_effort_timestamp;
  return pts == AV_NOPTS_VALUE ? 0 : static_cast<double>(pts) * st_->time_base.num / st_->time_base.den;
}

bool AudioReader::decodeFrame() {
  if (decoderDone_) return false;
  AVCodecContext* dec = dec_.get();
  for (;;) {
    if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    int ret = avcodec_receive_frame(dec, decoded_.get());
    if (ret == 0) {
      {
        std::lock_guard<std::mutex> lk(statsMu_);
        stats_.framesDecoded++;
      }
      checkCorrupt(decoded_.get());
      return true;
    }
    if (ret == AVERROR_EOF) break;
    if (ret != AVERROR(EAGAIN)) {
      noteDecodeError(ret);
      if (flushed_ && ++postFlushErrors_ > 64) break;
      continue;
    }
    if (!readAndSend()) break;
  }
  decoderDone_ = true;
  endOfStream();
  return false;
}

bool AudioReader::readAndSend() {
  if (flushed_) return false;
  AVFormatContext* ctx = input_.ctx.get();
  int ret = av_read_frame(ctx, pkt_.get());
  if (ret == AVERROR(EAGAIN)) return true;
  if (ret == AVERROR_EXIT || cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
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
    checkTruncation();
    flushed_ = true;
    ret = avcodec_send_packet(dec_.get(), nullptr);
    if (ret < 0 && ret != AVERROR_EOF) noteDecodeError(ret);
    return true;
  }
  consecutiveDemuxErrors_ = 0;
  if (pkt_->stream_index != streamIndex_) {
    av_packet_unref(pkt_.get());
    return true;
  }
  streamPackets_++;
  const bool corrupt = pkt_->flags & AV_PKT_FLAG_CORRUPT;
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.packetsRead++;
    if (corrupt) stats_.corruptPackets++;
  }
  if (corrupt && opts_.corruptIsError) {
    av_packet_unref(pkt_.get());
    if (ctx->pb && avio_feof(ctx->pb)) {  // a partial last packet: the file is cut
      checkTruncation();
      throw Error("TRUNCATED",
                  "'" + opts_.input.source + "' ends inside packet " + str(streamPackets_ - 1) + " (truncated file?)",
                  AVERROR_EOF);
    }
    throw Error("CORRUPT", "packet " + str(streamPackets_ - 1) + " of '" + opts_.input.source + "' is corrupt",
                AVERROR_INVALIDDATA);
  }
  ret = avcodec_send_packet(dec_.get(), pkt_.get());
  av_packet_unref(pkt_.get());
  if (ret < 0 && ret != AVERROR(EAGAIN)) noteDecodeError(ret);
  return true;
}

void AudioReader::noteDecodeError(int ret) {
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.decodeErrors++;
    stats_.lastError = avErrorString(ret);
  }
  if (opts_.corruptIsError) throwAvError(ret, "decoding '" + opts_.input.source + "' failed", "DECODE");
}

void AudioReader::checkCorrupt(const AVFrame* f) {
  if (!(f->flags & AV_FRAME_FLAG_CORRUPT) && !f->decode_error_flags) return;
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.corruptFrames++;
  }
  if (opts_.corruptIsError)
    throw Error("CORRUPT", "an audio frame of '" + opts_.input.source + "' decoded with errors", AVERROR_INVALIDDATA);
}

// Truncated: an I/O error, or the file ends before what the container
// promised (the demuxer's index at open, else the header's packet count, else
// what a local file's own bytes say).
void AudioReader::checkTruncation() {
  AVFormatContext* ctx = input_.ctx.get();
  const bool ioError = ctx->pb && ctx->pb->error && ctx->pb->error != AVERROR_EOF;
  const int64_t fileSize = ctx->pb ? avio_size(ctx->pb) : -1;
  bool cut = false;
  std::string promise;
  if (indexedAtOpen_ > 0 && fileSize > 0) {
    const AVIndexEntry* last = avformat_index_get_entry(st_, indexedAtOpen_ - 1);
    cut = last && last->pos + last->size > fileSize;
    promise = "its index places packets beyond the end of the file";
  } else if (st_->nb_frames > 0) {
    cut = streamPackets_ < st_->nb_frames;
    promise = "its header promises " + str(st_->nb_frames);
  }
  const char* proto = avio_find_protocol_name(opts_.input.source.c_str());
  if (!cut && proto && std::strcmp(proto, "file") == 0) {
    promise = truncationEvidence(opts_.input.source, ctx->iformat->name, fileSize);
    cut = !promise.empty();
  }
  if (!cut && !ioError) return;
  const std::string msg = "'" + opts_.input.source + "' ended after " + str(streamPackets_) + " packets of stream " +
                          str(streamIndex_) +
                          (ioError ? ": " + avErrorString(ctx->pb->error) : " (" + promise + "): truncated file?");
  {
    std::lock_guard<std::mutex> lk(statsMu_);
    stats_.truncated = true;
    stats_.lastError = msg;
  }
  if (opts_.corruptIsError) throw Error("TRUNCATED", msg, AVERROR_EOF);
}

// A stream whose every packet failed is undecodable, not "corrupt frames
// skipped"; one that declares content and gives nothing is broken.
void AudioReader::endOfStream() {
  std::lock_guard<std::mutex> lk(statsMu_);
  if (stats_.framesDecoded > 0) return;
  const std::string logged = log_->lastError();
  const std::string tail = logged.empty() ? "" : " (libav: " + logged + ")";
  if (stats_.decodeErrors > 0)
    throw Error("DECODE", "'" + opts_.input.source + "' decoded no audio frame: " + str(stats_.decodeErrors) +
                              " decode error(s), the last: " + stats_.lastError + tail);
  const bool declares = st_->nb_frames > 0 || st_->duration > 0;
  if (declares || !logged.empty())
    throw Error("DECODE", "'" + opts_.input.source + "' gave no audio frame although its stream declares " +
                              (declares ? "content" : "nothing") + ": " + str(stats_.packetsRead) + " packet(s) read" +
                              tail);
}

// ---- resampling ----

// Plain swr_alloc_set_opts2 + swr_init with swresample's defaults: what the
// CLI's auto-inserted aresample filter sets up (its aresample_swr_opts are
// empty unless -af/-swr options are given).
void AudioReader::openResampler(const AVFrame* f) {
  usableLayout(&f->ch_layout, &swrInLayout_);
  swrInRate_ = f->sample_rate;
  swrInFormat_ = f->format;
  SwrContext* s = nullptr;
  int ret = swr_alloc_set_opts2(&s, &outLayout_, outFormat_, outRate_, &swrInLayout_,
                                static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
  swr_.reset(s);
  if (ret >= 0) ret = swr_init(s);
  if (ret < 0) throwAvError(ret, "cannot set up resampling of '" + opts_.input.source + "'", "CONVERT");
}

bool AudioReader::formatChanged(const AVFrame* f) const {
  AVChannelLayout l{};
  usableLayout(&f->ch_layout, &l);
  const bool same = av_channel_layout_compare(&l, &swrInLayout_) == 0;
  av_channel_layout_uninit(&l);
  return !same || f->sample_rate != swrInRate_ || f->format != swrInFormat_;
}

int AudioReader::convert(uint8_t* const* planes, int offset, int count, const uint8_t* const* in, int inCount) {
  uint8_t* out[AV_NUM_DATA_POINTERS];
  const int bps = bytesPerSample();
  if (opts_.planar) {
    for (int c = 0; c < channels(); c++) out[c] = planes[c] + static_cast<size_t>(offset) * bps;
  } else {
    out[0] = planes[0] + static_cast<size_t>(offset) * bps * channels();
  }
  const int n = swr_convert(swr_.get(), out, count, const_cast<const uint8_t**>(in), inCount);
  if (n < 0) throwAvError(n, "resampling '" + opts_.input.source + "' failed", "CONVERT");
  return n;
}

int AudioReader::pull(uint8_t* const* planes, int count) {
  const uint8_t* dummy[AV_NUM_DATA_POINTERS] = {};
  int got = 0;
  while (got < count && !ended_) {
    if (cancel_->load()) throw Error("ABORTED", "reading was interrupted", AVERROR_EXIT);
    if (draining_) {  // the resampler's tail: at the end, or before a new format
      const int n = swr_ ? convert(planes, got, count - got, nullptr, 0) : 0;
      got += n;
      if (n > 0) continue;
      draining_ = false;
      swr_.reset();
      if (!pending_) ended_ = true;
    } else if (pending_) {
      if (swr_ && formatChanged(frame_.get())) {
        draining_ = true;
        continue;
      }
      if (!swr_) openResampler(frame_.get());
      got += convert(planes, got, count - got, const_cast<const uint8_t* const*>(frame_->extended_data),
                     frame_->nb_samples);
      av_frame_unref(frame_.get());
      pending_ = false;
    } else {
      // what the resampler holds (a non-null input of 0 samples: not a flush)
      const int n = swr_ ? convert(planes, got, count - got, dummy, 0) : 0;
      got += n;
      if (n > 0) continue;
      pending_ = nextFrame();
      if (!pending_) draining_ = true;
    }
  }
  produced_ += got;
  return got;
}

void AudioReader::skipTo(int64_t sample) {
  const int block = 4096;
  if (produced_ >= sample) return;
  scratch_.resize(static_cast<size_t>(block) * channels() * bytesPerSample());
  std::vector<uint8_t*> planes(channels());
  for (int c = 0; c < channels(); c++)
    planes[c] = scratch_.data() + (opts_.planar ? static_cast<size_t>(c) * block * bytesPerSample() : 0);
  while (produced_ < sample) {
    const int n = pull(planes.data(), static_cast<int>(std::min<int64_t>(block, sample - produced_)));
    if (n == 0) break;
  }
}

int64_t AudioReader::next(uint8_t* dst, AudioChunkMeta* meta) {
  if (!started_) {
    skipTo(firstSample_);
    started_ = true;
  }
  int64_t want = opts_.chunkSamples;
  if (lastSample_ >= 0) want = std::min(want, lastSample_ - produced_);
  if (want <= 0) return 0;
  const int bps = bytesPerSample();
  const int ch = channels();
  std::vector<uint8_t*> planes(ch);
  for (int c = 0; c < ch; c++) planes[c] = dst + (opts_.planar ? static_cast<size_t>(c) * want * bps : 0);
  meta->index = produced_;
  const int n = pull(planes.data(), static_cast<int>(want));
  if (opts_.planar && n < want)  // a short chunk: its planes follow one another
    for (int c = 1; c < ch; c++) std::memmove(dst + static_cast<size_t>(c) * n * bps, planes[c], size_t(n) * bps);
  meta->samples = n;
  meta->pts = static_cast<int64_t>(std::llround(startTime_ * outRate_)) + meta->index;
  meta->time = startTime_ + static_cast<double>(meta->index) / outRate_;
  return n;
}

void AudioReader::readRange(int64_t first, int64_t last, int64_t maxValues, AudioBlock* out) {
  if (first < produced_) throw Error("INTERNAL", "readRange: the reader is past the range's start");
  if (last >= 0 && last < first) last = first;
  const int ch = channels();
  const int bps = bytesPerSample();
  const int nPlanes = opts_.planar ? ch : 1;
  const size_t perSample = static_cast<size_t>(bps) * (opts_.planar ? 1 : ch);
  skipTo(first);
  out->planes.assign(nPlanes, {});
  out->meta.index = produced_;
  const int block = 65536;
  int64_t total = 0;
  std::vector<uint8_t*> planes(ch);
  for (;;) {
    int64_t want = block;
    if (last >= 0) want = std::min(want, last - produced_);
    if (want <= 0) break;
    if ((total + want) * ch > maxValues) want = maxValues / ch - total + 1;  // one over: tells "too many"
    for (int p = 0; p < nPlanes; p++) {
      out->planes[p].resize(static_cast<size_t>(total + want) * perSample);
      planes[p] = out->planes[p].data() + static_cast<size_t>(total) * perSample;
    }
    if (!opts_.planar)
      for (int c = 1; c < ch; c++) planes[c] = planes[0];
    const int n = pull(planes.data(), static_cast<int>(want));
    total += n;
    if (total * ch > maxValues)
      throw Error("INVALID_ARGUMENT", "the range holds more than maxSamples (" + str(maxValues) +
                                          " samples across all channels); raise maxSamples or read in chunks");
    if (n < want) break;
  }
  for (auto& p : out->planes) p.resize(static_cast<size_t>(total) * perSample);
  out->meta.samples = total;
  out->meta.pts = static_cast<int64_t>(std::llround(startTime_ * outRate_)) + out->meta.index;
  out->meta.time = startTime_ + static_cast<double>(out->meta.index) / outRate_;
}

}  // namespace avcv
