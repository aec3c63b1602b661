#include "audio_mux.h"

#include <algorithm>
#include <cmath>

#include "error.h"

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace avcv {
namespace {

// Interleaved or planar sample buffers of one block, freed with it.
struct Samples {
  uint8_t** data = nullptr;
  Samples(int channels, int samples, AVSampleFormat fmt) {
    if (av_samples_alloc_array_and_samples(&data, nullptr, channels, samples, fmt, 0) < 0)
      throw Error("ENOMEM", "av_samples_alloc_array_and_samples failed");
  }
  ~Samples() {
    if (data) av_freep(&data[0]);
    av_freep(&data);
  }
  Samples(const Samples&) = delete;
  Samples& operator=(const Samples&) = delete;
};

void layoutOf(const AVCodecContext* dec, AVChannelLayout* out) {
  if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(out, dec->ch_layout.nb_channels);
  else av_channel_layout_copy(out, &dec->ch_layout);
}

}  // namespace

AudioMux::AudioMux(const AudioSpec& spec, const std::string& container, AVFormatContext* oc, MuxFn mux)
    : spec_(spec), mux_(std::move(mux)), pkt_(av_packet_alloc()), frame_(av_frame_alloc()), decoded_(av_frame_alloc()) {
  if (!pkt_ || !frame_ || !decoded_) throw Error("ENOMEM", "allocation failed");
  if (spec.mode == "none" || spec.source.source.empty()) return;
  in_ = openInput(spec.source);
  AVFormatContext* ic = in_.ctx.get();
  const int best = spec.bestOnly ? av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) : -1;
  for (unsigned i = 0; i < ic->nb_streams; i++) {
    AVStream* ist = ic->streams[i];
    if (ist->codecpar->codec_type != AVMEDIA_TYPE_AUDIO || (spec.bestOnly && static_cast<int>(i) != best)) {
      ist->discard = AVDISCARD_ALL;
      continue;
    }
    const bool canCopy = avformat_query_codec(oc->oformat, ist->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 1;
    if (spec.mode == "copy" && !spec.filter.empty())
      throw Error("INVALID_ARGUMENT", "an audio filter needs the audio re-encoded; use audio mode 'encode' or 'auto'");
    if (spec.mode == "copy" && !canCopy)
      throw Error("INVALID_ARGUMENT", "container '" + container + "' cannot hold " +
                                          avcodec_get_name(ist->codecpar->codec_id) +
                                          " audio as is; use audio mode 'encode' or 'auto'");
    Track t;
    t.inIndex = static_cast<int>(i);
    t.inStream = ist;
    t.encode = spec.mode == "encode" || (spec.mode == "auto" && (!canCopy || !spec.filter.empty()));
    AVStream* ost = avformat_new_stream(oc, nullptr);
    if (!ost) throw Error("ENOMEM", "avformat_new_stream failed");
    t.outIndex = ost->index;
    t.outStream = ost;
    if (t.encode) {
      openEncoding(t, ost, container == "webm", oc->oformat->flags & AVFMT_GLOBALHEADER);
    } else {
      int ret = avcodec_parameters_copy(ost->codecpar, ist->codecpar);
      if (ret < 0) throwAvError(ret, "avcodec_parameters_copy", "ENCODE");
      ost->codecpar->codec_tag = 0;
      ost->time_base = ist->time_base;
    }
    tracks_.push_back(std::move(t));
  }
}

void AudioMux::openEncoding(Track& t, AVStream* ost, bool webm, bool globalHeader) {
  AVStream* ist = t.inStream;
  const AVCodec* dc = avcodec_find_decoder(ist->codecpar->codec_id);
  if (!dc)
    throw Error("UNSUPPORTED_CODEC",
                std::string("no decoder for ") + avcodec_get_name(ist->codecpar->codec_id) + " audio");
  t.dec.reset(avcodec_alloc_context3(dc));
  if (!t.dec) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  avcodec_parameters_to_context(t.dec.get(), ist->codecpar);
  t.dec->pkt_timebase = ist->time_base;
  int ret = avcodec_open2(t.dec.get(), dc, nullptr);
  if (ret < 0) throwAvError(ret, "cannot open the audio decoder", "DECODE");
  const AVCodec* ec = avcodec_find_encoder_by_name(webm ? "libopus" : "aac");
  if (!ec) throw Error("UNSUPPORTED_CODEC", webm ? "no libopus encoder" : "no aac encoder");
  t.enc.reset(avcodec_alloc_context3(ec));
  if (!t.enc) throw Error("ENOMEM", "avcodec_alloc_context3 failed");
  AVCodecContext* ae = t.enc.get();
  int rate = t.dec->sample_rate;
  if (ec->supported_samplerates) {
    bool ok = false;
    for (const int* r = ec->supported_samplerates; *r; r++) ok = ok || *r == rate;
    if (!ok) rate = 48000;
  }
  ae->sample_rate = rate;
  ae->sample_fmt = ec->sample_fmts ? ec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  AVChannelLayout inLayout;  // what the resampler takes: the decoder's audio, or the graph's
  layoutOf(t.dec.get(), &inLayout);
  AVSampleFormat inFormat = t.dec->sample_fmt;
  int inRate = t.dec->sample_rate;
  if (!spec_.filter.empty()) {
    openGraph(t, &inLayout);
    inFormat = static_cast<AVSampleFormat>(t.graph->output(0).format);
    inRate = t.graph->output(0).sampleRate;
  }
  if (spec_.channels > 0) av_channel_layout_default(&ae->ch_layout, spec_.channels);
  else if (inLayout.nb_channels > 2 && webm) av_channel_layout_default(&ae->ch_layout, 2);
  else av_channel_layout_copy(&ae->ch_layout, &inLayout);
  ae->bit_rate = spec_.bitrate > 0 ? spec_.bitrate : webm ? 96000 : 128000;
  ae->time_base = {1, rate};
  if (globalHeader) ae->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  ret = avcodec_open2(ae, ec, nullptr);
  if (ret < 0) throwAvError(ret, "cannot open the audio encoder", "ENCODE");
  ret = avcodec_parameters_from_context(ost->codecpar, ae);
  if (ret < 0) throwAvError(ret, "avcodec_parameters_from_context", "ENCODE");
  ost->time_base = ae->time_base;
  SwrContext* swr = nullptr;
  ret = swr_alloc_set_opts2(&swr, &ae->ch_layout, ae->sample_fmt, ae->sample_rate, &inLayout, inFormat, inRate, 0,
                            nullptr);
  av_channel_layout_uninit(&inLayout);
  t.swr.reset(swr);
  if (ret < 0 || swr_init(swr) < 0) throw Error("ENCODE", "cannot set up audio resampling");
  t.fifo.reset(av_audio_fifo_alloc(ae->sample_fmt, ae->ch_layout.nb_channels, 1024));
  if (!t.fifo) throw Error("ENOMEM", "av_audio_fifo_alloc failed");
  t.nextPts = AV_NOPTS_VALUE;
}

std::string AudioMux::mode() const {
  if (tracks_.empty()) return "none";
  return tracks_.back().encode ? "encode" : "copy";
}

std::string AudioMux::codec() const {
  if (tracks_.empty()) return "";
  const Track& t = tracks_[0];
  return t.encode ? t.enc->codec->name : avcodec_get_name(t.inStream->codecpar->codec_id);
}

double AudioMux::duration() const { return duration_; }

AudioMux::Track* AudioMux::trackFor(int in) {
  for (auto& t : tracks_)
    if (t.inIndex == in) return &t;
  return nullptr;
}

// The next packet of a track to write before `until` (in pkt_), or false:
// the input ended, or the next packet lies beyond the horizon (kept for a
// later call; dropped when `final`).
bool AudioMux::takePacket(double until, bool final, Track** track, double* outTime) {
  AVFormatContext* ic = in_.ctx.get();
  for (;;) {
    if (eof_) return false;
    if (!pending_) {
      if (av_read_frame(ic, pkt_.get()) < 0) {
        eof_ = true;
        return false;
      }
      pending_ = true;
    }
    AVPacket* p = pkt_.get();
    Track* t = trackFor(p->stream_index);
    if (!t) {
      av_packet_unref(p);
      pending_ = false;
      continue;
    }
    const AVRational itb = t->inStream->time_base;
    const int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
    const double srcTime = ts == AV_NOPTS_VALUE ? 0 : ts * av_q2d(itb);
    if (srcTime + spec_.shift >= until) {
      if (final) {  // past the end of the video: the rest is trimmed
        av_packet_unref(p);
        pending_ = false;
        eof_ = true;
      }
      return false;
    }
    pending_ = false;
    // drop audio that ends before the start; a packet ending exactly there is
    // kept (AAC's priming packet at negative pts, as `ffmpeg -c:a copy` keeps it)
    if (srcTime + (p->duration > 0 ? p->duration * av_q2d(itb) : 0) < spec_.start - 1e-9) {
      av_packet_unref(p);
      continue;
    }
    *track = t;
    *outTime = srcTime + spec_.shift;
    return true;
  }
}

void AudioMux::pump(double until, bool final) {
  Track* t = nullptr;
  double outTime = 0;
  while (takePacket(until, final, &t, &outTime)) {
    AVPacket* p = pkt_.get();
    if (!t->encode) {
      copyPacket(*t, p, outTime);
    } else {
      decodeInto(*t, p, final ? std::llround(until * t->enc->sample_rate) : AV_NOPTS_VALUE);
      av_packet_unref(p);
    }
  }
  if (!final) return;
  for (auto& tr : tracks_)
    if (tr.encode) drain(tr, until);
  duration_ = 0;
  for (auto& tr : tracks_) duration_ = std::max(duration_, tr.lastEnd);
}

void AudioMux::copyPacket(Track& t, AVPacket* p, double outTime) {
  const AVRational itb = t.inStream->time_base;
  const int64_t off = av_rescale_q(std::llround(spec_.shift * AV_TIME_BASE), AV_TIME_BASE_Q, itb);
  if (p->pts != AV_NOPTS_VALUE) p->pts += off;
  if (p->dts != AV_NOPTS_VALUE) p->dts += off;
  t.lastEnd = std::max(t.lastEnd, outTime + (p->duration > 0 ? p->duration * av_q2d(itb) : 0));
  av_packet_rescale_ts(p, itb, t.outStream->time_base);
  mux_(p, t.outIndex);
}

// The graph for a track, fed as the CLI feeds -af: the decoder's format,
// rate and layout, timestamps in 1/sample_rate.
void AudioMux::openGraph(Track& t, AVChannelLayout* outLayout) {
  FilterPad in;
  in.type = AVMEDIA_TYPE_AUDIO;
  in.format = t.dec->sample_fmt;
  in.sampleRate = t.dec->sample_rate;
  in.timeBase = {1, t.dec->sample_rate};
  char desc[128];
  av_channel_layout_describe(outLayout, desc, sizeof desc);
  in.channelLayout = desc;
  in.channels = outLayout->nb_channels;
  FilterGraphOptions go;
  go.where = "audioFilter";
  go.allowNestedInputs = spec_.source.allowNestedInputs;
  // the encoder's sample format and rate end the graph, as the CLI's -af ... -ar does
  // (libavfilter converts where the CLI's graph does; the resampler after it copies)
  const AVCodecContext* ae = t.enc.get();
  go.tail = {{{"aformat", std::string("sample_fmts=") + av_get_sample_fmt_name(ae->sample_fmt) +
                              ":sample_rates=" + std::to_string(ae->sample_rate)}}};
  t.graph = std::make_unique<FilterGraph>(spec_.filter, std::vector<FilterPad>{in}, 1, go);
  t.filtered.reset(av_frame_alloc());
  if (!t.filtered) throw Error("ENOMEM", "allocation failed");
  av_channel_layout_uninit(outLayout);
  if (av_channel_layout_from_string(outLayout, t.graph->output(0).channelLayout.c_str()) < 0)
    av_channel_layout_default(outLayout, t.graph->output(0).channels);
}

void AudioMux::decodeInto(Track& t, AVPacket* p, int64_t maxPts) {
  int ret = avcodec_send_packet(t.dec.get(), p);
  if (ret < 0 && ret != AVERROR_EOF) return;  // a bad audio packet is skipped, as ffmpeg does
  AVFrame* df = decoded_.get();
  const AVRational srTb{1, t.dec->sample_rate};
  while (avcodec_receive_frame(t.dec.get(), df) == 0) {
    if (!t.graph) {
      take(t, df, t.inStream->time_base, maxPts);
      continue;
    }
    const int64_t ts = df->best_effort_timestamp;
    df->pts = ts == AV_NOPTS_VALUE ? ts : av_rescale_q(ts, t.inStream->time_base, srTb);
    t.graph->push(df);
    av_frame_unref(df);
    while (t.graph->pull(t.filtered.get())) take(t, t.filtered.get(), t.graph->output(0).timeBase, maxPts);
  }
  if (!p && t.graph) {  // the end: what the graph still holds (loudnorm's last frames)
    t.graph->push(nullptr);
    while (t.graph->pull(t.filtered.get())) take(t, t.filtered.get(), t.graph->output(0).timeBase, maxPts);
  }
}

void AudioMux::take(Track& t, AVFrame* f, AVRational tb, int64_t maxPts) {
  if (t.nextPts == AV_NOPTS_VALUE) {
    // a graph's frames carry pts (in its time base); a decoder's, best-effort timestamps
    const int64_t ts0 = t.graph ? f->pts : f->best_effort_timestamp;
    const int64_t ts = ts0 != AV_NOPTS_VALUE ? ts0 : 0;
    const double sec = ts * av_q2d(tb) + spec_.shift;
    t.nextPts = std::llround(std::max(0.0, sec) * t.enc->sample_rate);
  }
  resampleInto(t, const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
  av_frame_unref(f);
  encodeFifo(t, false, maxPts);
}

// Resamples `samples` input samples (none: the resampler's tail) into the FIFO.
void AudioMux::resampleInto(Track& t, const uint8_t** data, int samples) {
  const int outMax = swr_get_out_samples(t.swr.get(), samples);
  if (outMax <= 0) return;
  Samples buf(t.enc->ch_layout.nb_channels, outMax, t.enc->sample_fmt);
  const int got = swr_convert(t.swr.get(), buf.data, outMax, data, samples);
  if (got > 0 && av_audio_fifo_write(t.fifo.get(), reinterpret_cast<void**>(buf.data), got) < got)
    throw Error("ENOMEM", "av_audio_fifo_write failed");
}

// Encodes whole encoder frames from the FIFO (`drain`: the partial last one
// too), never past maxPts samples.
void AudioMux::encodeFifo(Track& t, bool drain, int64_t maxPts) {
  AVCodecContext* ae = t.enc.get();
  const int fs = ae->frame_size > 0 ? ae->frame_size : 1024;
  for (;;) {
    const int avail = av_audio_fifo_size(t.fifo.get());
    if (avail <= 0 || (avail < fs && !drain)) break;
    int n = std::min(avail, fs);
    if (maxPts != AV_NOPTS_VALUE && t.nextPts + n > maxPts)
      n = static_cast<int>(std::max<int64_t>(0, maxPts - t.nextPts));
    if (n <= 0) {
      av_audio_fifo_drain(t.fifo.get(), avail);
      break;
    }
    AVFrame* af = frame_.get();
    av_frame_unref(af);
    af->nb_samples = n;
    af->format = ae->sample_fmt;
    af->sample_rate = ae->sample_rate;
    av_channel_layout_copy(&af->ch_layout, &ae->ch_layout);
    int ret = av_frame_get_buffer(af, 0);
    if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
    av_audio_fifo_read(t.fifo.get(), reinterpret_cast<void**>(af->data), n);
    af->pts = t.nextPts;
    t.nextPts += n;
    ret = avcodec_send_frame(ae, af);
    if (ret < 0) throwAvError(ret, "audio encoding failed", "ENCODE");
    for (;;) {
      ret = avcodec_receive_packet(ae, pkt_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
      if (ret < 0) throwAvError(ret, "audio encoding failed", "ENCODE");
      av_packet_rescale_ts(pkt_.get(), ae->time_base, t.outStream->time_base);
      mux_(pkt_.get(), t.outIndex);
    }
  }
}

// The end of an encoded track: the decoder's and resampler's tails, the
// FIFO's last partial frame, the encoder's delayed packets.
void AudioMux::drain(Track& t, double until) {
  const int64_t maxPts = std::llround(until * t.enc->sample_rate);
  decodeInto(t, nullptr, maxPts);
  resampleInto(t, nullptr, 0);
  if (t.nextPts == AV_NOPTS_VALUE) t.nextPts = 0;
  encodeFifo(t, true, maxPts);
  avcodec_send_frame(t.enc.get(), nullptr);
  while (avcodec_receive_packet(t.enc.get(), pkt_.get()) >= 0) {
    av_packet_rescale_ts(pkt_.get(), t.enc->time_base, t.outStream->time_base);
    mux_(pkt_.get(), t.outIndex);
  }
  t.lastEnd = t.nextPts / double(t.enc->sample_rate);
}

void AudioMux::rebind(AVFormatContext* oc) {
  for (Track& t : tracks_) t.outStream = oc->streams[t.outIndex];
}

}  // namespace avcv
