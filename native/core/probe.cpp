#include "probe.h"

#include <cmath>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace avcv {
namespace {

std::map<std::string, std::string> dictToMap(const AVDictionary* d) {
  std::map<std::string, std::string> out;
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX))) out[e->key] = e->value;
  return out;
}

// ffprobe omits what is unknown or unspecified; "" here, null in JS
std::string named(const char* s, bool specified = true) { return s && specified ? s : ""; }

}  // namespace

StreamProbe probeStream(AVFormatContext* ctx, int index) {
  const AVStream* st = ctx->streams[index];
  const AVCodecParameters* par = st->codecpar;
  StreamProbe s;
  s.index = st->index;
  switch (par->codec_type) {
    case AVMEDIA_TYPE_VIDEO: s.type = "video"; break;
    case AVMEDIA_TYPE_AUDIO: s.type = "audio"; break;
    case AVMEDIA_TYPE_SUBTITLE: s.type = "subtitle"; break;
    case AVMEDIA_TYPE_DATA: s.type = "data"; break;
    case AVMEDIA_TYPE_ATTACHMENT: s.type = "attachment"; break;
    default: s.type = "";
  }
  const AVCodecDescriptor* cd = avcodec_descriptor_get(par->codec_id);
  s.codec = cd ? cd->name : "";
  s.codecLongName = cd && cd->long_name ? cd->long_name : "";
  const char* prof = avcodec_profile_name(par->codec_id, par->profile);
  // as ffprobe: the profile's name, else its number when it is known
  s.profile = prof ? prof : (par->profile != FF_PROFILE_UNKNOWN ? std::to_string(par->profile) : "");
  s.bitRate = par->bit_rate;
  s.timeBase = {st->time_base.num, st->time_base.den};
  if (st->start_time != AV_NOPTS_VALUE) {
    s.hasStartTime = true;
    s.startTime = st->start_time * av_q2d(st->time_base);
  }
  if (st->duration != AV_NOPTS_VALUE) {
    s.hasDuration = true;
    s.duration = st->duration * av_q2d(st->time_base);
  }
  s.nbFrames = st->nb_frames;
  s.tags = dictToMap(st->metadata);

  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    s.width = par->width;
    s.height = par->height;
    const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(par->format));
    s.pixelFormat = pd ? pd->name : "";
    s.bitDepth = pd ? pd->comp[0].depth : 0;
    s.colorRange = named(av_color_range_name(par->color_range), par->color_range != AVCOL_RANGE_UNSPECIFIED);
    s.colorSpace = named(av_color_space_name(par->color_space), par->color_space != AVCOL_SPC_UNSPECIFIED);
    s.colorPrimaries =
        named(av_color_primaries_name(par->color_primaries), par->color_primaries != AVCOL_PRI_UNSPECIFIED);
    s.colorTransfer = named(av_color_transfer_name(par->color_trc), par->color_trc != AVCOL_TRC_UNSPECIFIED);
    s.avgFrameRate = {st->avg_frame_rate.num, st->avg_frame_rate.den};
    s.baseFrameRate = {st->r_frame_rate.num, st->r_frame_rate.den};
    // as ffprobe: the stream's SAR (e.g. Matroska display size) before the codec's
    AVRational sar = av_guess_sample_aspect_ratio(ctx, const_cast<AVStream*>(st), nullptr);
    s.sampleAspectRatio = {sar.num, sar.den};
    const uint8_t* dm = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
    if (dm) {
      double r = av_display_rotation_get(reinterpret_cast<const int32_t*>(dm));
      if (!std::isnan(r)) {
        s.hasRotation = true;
        s.rotation = r;
      }
    }
    if (st->nb_frames > 0) {
      s.frameCount = st->nb_frames;
      s.frameCountExact = true;
    } else {
      double dur =
          s.hasDuration ? s.duration : (ctx->duration != AV_NOPTS_VALUE ? ctx->duration / double(AV_TIME_BASE) : 0);
      AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
      if (dur > 0 && fr.num > 0 && fr.den > 0) s.frameCount = llround(dur * av_q2d(fr));
    }
  } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
    s.sampleRate = par->sample_rate;
    s.channels = par->ch_layout.nb_channels;
    char buf[128] = {0};
    if (par->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC &&
        av_channel_layout_describe(&par->ch_layout, buf, sizeof buf) > 0)
      s.channelLayout = buf;
    const char* sf = av_get_sample_fmt_name(static_cast<AVSampleFormat>(par->format));
    s.sampleFormat = named(sf);
  }
  return s;
}

ProbeResult probeContext(AVFormatContext* ctx) {
  ProbeResult r;
  r.formatName = ctx->iformat->name;
  r.formatLongName = ctx->iformat->long_name ? ctx->iformat->long_name : "";
  if (ctx->duration != AV_NOPTS_VALUE) {
    r.hasDuration = true;
    r.duration = ctx->duration / double(AV_TIME_BASE);
  }
  if (ctx->start_time != AV_NOPTS_VALUE) {
    r.hasStartTime = true;
    r.startTime = ctx->start_time / double(AV_TIME_BASE);
  }
  r.bitRate = ctx->bit_rate;
  r.size = ctx->pb ? avio_size(ctx->pb) : -1;
  r.tags = dictToMap(ctx->metadata);
  for (unsigned i = 0; i < ctx->nb_streams; i++) r.streams.push_back(probeStream(ctx, static_cast<int>(i)));
  return r;
}

ProbeResult probe(const InputOptions& opts) {
  OpenedInput in = openInput(opts);
  return probeContext(in.ctx.get());
}

}  // namespace avcv
