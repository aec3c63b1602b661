#include "filter_graph.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <regex>

#include "error.h"
#include "image.h"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
}

namespace avcv {
namespace {

// Filters whose purpose is to open files, URLs, plugins, models or sockets.
const char* const kOpeningFilters[] = {
    "movie",
    "amovie",
    "subtitles",
    "ass",
    "sendcmd",
    "asendcmd",
    "zmq",
    "azmq",
    "frei0r",
    "frei0r_src",
    "ladspa",
    "lv2",
    "ocr",
    "lensfun",
    "lut3d",
    "lut1d",
    "program_opencl",
    "openclsrc",
    "dnn_processing",
    "dnn_detect",
    "dnn_classify",
    "sr",
    "derain",
    "arnndn",
    "libvmaf",
    "vidstabdetect",
    "vidstabtransform",
    "cover_rect",
    "find_rect",
    "removelogo",
    "signature",
    "nnedi",
    "sofalizer",
    "libplacebo",
};

// Filters that turn each frame into one frame from that frame alone (their
// expressions may use the frame's time, never a frame count: see usesCount).
const char* const kPerFrameFilters[] = {
    "null",
    "copy",
    "hflip",
    "vflip",
    "transpose",
    "crop",
    "scale",
    "format",
    "pad",
    "eq",
    "negate",
    "hue",
    "colorchannelmixer",
    "lut",
    "lutrgb",
    "lutyuv",
    "curves",
    "unsharp",
    "boxblur",
    "gblur",
    "avgblur",
    "smartblur",
    "drawbox",
    "drawgrid",
    "colorspace",
    "setsar",
    "setdar",
    "edgedetect",
    "convolution",
    "colorlevels",
    "vibrance",
    "rotate",
    "sobel",
    "prewitt",
    "scharr",
    "colorbalance",
    "colorkey",
    "chromakey",
    "lumakey",
    "swapuv",
    "gradfun",
    "deband",
    "colorcontrast",
    "colortemperature",
    "monochrome",
    "exposure",
    "huesaturation",
    "scale2ref",
    "fillborders",
    "pixscope",
    "zscale",
    "setrange",
    "setparams",
    "fieldorder",
};

bool inList(const std::string& name, const char* const* list, size_t n) {
  return std::any_of(list, list + n, [&](const char* s) { return name == s; });
}

std::string take(char* s) {
  std::string out = s ? s : "";
  av_free(s);
  return out;
}

void skipSpace(const char** p) {
  while (**p && std::strchr(" \n\t\r", **p)) ++*p;
}

void skipLabels(const char** p, const std::string& desc) {
  skipSpace(p);
  while (**p == '[') {
    ++*p;
    take(av_get_token(p, "]"));
    if (**p != ']') throw Error("INVALID_FILTER", "filter graph '" + desc + "': a label lacks its closing ']'");
    ++*p;
    skipSpace(p);
  }
}

// String options whose values name files, directories, URLs, models or shaders.
bool fileLike(const AVOption* o) {
  if (o->type != AV_OPT_TYPE_STRING) return false;
  static const std::regex re("file|path|dir|model|shader|addr|url|dump|weights|db", std::regex::icase);
  return std::regex_search(o->name, re);
}

// The option `key` of the filter class, or any option sharing its field
// (sendcmd's "f" is "filename"), names something to open.
bool opensSomething(const AVClass* cls, const std::string& key) {
  const void* obj = &cls;
  const AVOption* found = av_opt_find(const_cast<void*>(obj), key.c_str(), nullptr, 0, 0);
  if (!found || found->type == AV_OPT_TYPE_CONST) return false;
  for (const AVOption* o = nullptr; (o = av_opt_next(obj, o));)
    if (o->offset == found->offset && o->type != AV_OPT_TYPE_CONST && fileLike(o)) return true;
  return false;
}

// The option names a filter's argument string sets, resolved as libavfilter's
// process_options does (positional values take the options in order).
std::vector<std::string> optionKeys(const AVFilter* f, const std::string& args) {
  std::vector<std::string> keys;
  const AVClass* cls = f->priv_class;
  if (!cls) return keys;
  const void* obj = &cls;
  const AVOption* o = nullptr;
  int offset = -1;
  const char* a = args.c_str();
  while (*a) {
    const char* shorthand = nullptr;
    o = av_opt_next(obj, o);
    if (o) {
      if (o->type == AV_OPT_TYPE_CONST || o->offset == offset) continue;
      offset = o->offset;
      shorthand = o->name;
    }
    char *key = nullptr, *value = nullptr;
    if (av_opt_get_key_value(&a, "=", ":", shorthand ? AV_OPT_FLAG_IMPLICIT_KEY : 0, &key, &value) < 0) break;
    av_free(value);
    if (*a) a++;
    if (key) {
      keys.push_back(take(key));
      while ((o = av_opt_next(obj, o))) {}
    } else if (shorthand) {
      keys.emplace_back(shorthand);
    }
  }
  return keys;
}

const char* mediaName(AVMediaType t) { return t == AVMEDIA_TYPE_VIDEO ? "video" : "audio"; }

std::string layoutText(const AVChannelLayout& l) {
  char buf[128];
  if (av_channel_layout_describe(&l, buf, sizeof buf) < 0) return "";
  return buf;
}

}  // namespace

std::vector<GraphFilter> parseGraphFilters(const std::string& desc) {
  std::vector<GraphFilter> out;
  const char* p = desc.c_str();
  skipSpace(&p);
  if (std::strncmp(p, "sws_flags=", 10) == 0) {
    p = std::strchr(p, ';');
    if (!p) throw Error("INVALID_FILTER", "filter graph '" + desc + "': sws_flags without a ';' after it");
    p++;
  }
  while (true) {
    skipLabels(&p, desc);
    if (!*p) break;
    GraphFilter g;
    g.name = take(av_get_token(&p, "=,;["));
    if (*p == '=') {
      p++;
      g.args = take(av_get_token(&p, "[],;"));
    }
    const size_t at = g.name.find('@');
    if (at != std::string::npos) g.name.resize(at);
    if (g.name.empty()) throw Error("INVALID_FILTER", "filter graph '" + desc + "': a filter without a name");
    out.push_back(std::move(g));
    skipLabels(&p, desc);
    if (*p == ',' || *p == ';') {
      p++;
      continue;
    }
    if (*p) throw Error("INVALID_FILTER", "filter graph '" + desc + "': cannot parse the text at '" + p + "'");
  }
  if (out.empty()) throw Error("INVALID_FILTER", "filter graph '" + desc + "' names no filter");
  return out;
}

void checkGraphSafety(const std::string& desc, const std::string& where) {
  for (const GraphFilter& g : parseGraphFilters(desc)) {
    const auto refuse = [&](const std::string& why) {
      throw Error("NESTED_INPUT_BLOCKED", where + ": the filter '" + g.name + "' " + why +
                                              "; set allowNestedInputs to allow it (trusted graphs only)");
    };
    if (inList(g.name, kOpeningFilters, std::size(kOpeningFilters))) refuse("opens files, URLs or plugins");
    const AVFilter* f = avfilter_get_by_name(g.name.c_str());
    if (!f) continue;  // libavfilter names it when the graph is built
    for (const std::string& key : optionKeys(f, g.args))
      if (opensSomething(f->priv_class, key)) refuse("opens a file through its option '" + key + "'");
  }
}

std::string whyNotPerFrame(const std::string& desc) {
  static const std::regex count("(^|[^A-Za-z0-9_])(n|N|frame|selected_n)([^A-Za-z0-9_]|$)");
  for (const GraphFilter& g : parseGraphFilters(desc)) {
    if (!inList(g.name, kPerFrameFilters, std::size(kPerFrameFilters)))
      return "'" + g.name + "' may carry state from frame to frame (or change the frame count)";
    if (std::regex_search(g.args, count)) return "'" + g.name + "=" + g.args + "' uses a frame count";
  }
  return "";
}

FilterPad videoPad(const AVFrame* f, AVRational tb, AVRational frameRate) {
  FilterPad p;
  p.type = AVMEDIA_TYPE_VIDEO;
  p.format = f->format;
  p.width = f->width;
  p.height = f->height;
  p.sar = f->sample_aspect_ratio;
  p.timeBase = tb;
  p.frameRate = frameRate;
  return p;
}

void fillVideoFrame(AVFrame* f, const uint8_t* data, const ImageDesc& d, int64_t pts) {
  av_frame_unref(f);
  f->format = d.avFormat;
  f->width = d.width;
  f->height = d.height;
  int ret = av_frame_get_buffer(f, 0);
  if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
  for (int i = 0; i < d.planes; i++)
    av_image_copy_plane(f->data[i], f->linesize[i], data + d.offset[i], d.linesize[i],
                        d.planeWidth[i] * d.planeElemBytes[i], d.planeHeight[i]);
  f->pts = pts;
}

void fillAudioFrame(AVFrame* f, const uint8_t* data, int samples, const FilterPad& pad, int64_t pts) {
  av_frame_unref(f);
  f->format = pad.format;
  f->sample_rate = pad.sampleRate;
  f->nb_samples = samples;
  if (av_channel_layout_from_string(&f->ch_layout, pad.channelLayout.c_str()) < 0)
    av_channel_layout_default(&f->ch_layout, pad.channels);
  int ret = av_frame_get_buffer(f, 0);
  if (ret < 0) throwAvError(ret, "av_frame_get_buffer", "ENOMEM");
  const AVSampleFormat fmt = static_cast<AVSampleFormat>(pad.format);
  const int bps = av_get_bytes_per_sample(fmt);
  if (av_sample_fmt_is_planar(fmt)) {
    for (int c = 0; c < pad.channels; c++)
      std::memcpy(f->extended_data[c], data + size_t(c) * samples * bps, size_t(samples) * bps);
  } else {
    std::memcpy(f->data[0], data, size_t(samples) * pad.channels * bps);
  }
  f->pts = pts;
}

std::vector<uint8_t> packFrame(const AVFrame* f, AVMediaType type) {
  std::vector<uint8_t> out;
  if (type == AVMEDIA_TYPE_VIDEO) {
    const AVPixelFormat fmt = static_cast<AVPixelFormat>(f->format);
    const int size = av_image_get_buffer_size(fmt, f->width, f->height, 1);
    if (size < 0) throwAvError(size, "av_image_get_buffer_size", "INTERNAL");
    out.resize(static_cast<size_t>(size));
    int ret = av_image_copy_to_buffer(out.data(), size, f->data, f->linesize, fmt, f->width, f->height, 1);
    if (ret < 0) throwAvError(ret, "av_image_copy_to_buffer", "INTERNAL");
    return out;
  }
  const AVSampleFormat fmt = static_cast<AVSampleFormat>(f->format);
  const int ch = f->ch_layout.nb_channels;
  const size_t plane = size_t(f->nb_samples) * av_get_bytes_per_sample(fmt) * (av_sample_fmt_is_planar(fmt) ? 1 : ch);
  const int planes = av_sample_fmt_is_planar(fmt) ? ch : 1;
  out.resize(plane * planes);
  for (int c = 0; c < planes; c++) std::memcpy(out.data() + c * plane, f->extended_data[c], plane);
  return out;
}

FilterGraph::FilterGraph(const std::string& desc, std::vector<FilterPad> inputs, int outputs, FilterGraphOptions opts)
    : desc_(desc),
      opts_(std::move(opts)),
      inputs_(std::move(inputs)),
      outputs_(static_cast<size_t>(outputs)),
      log_(std::make_unique<LogCatcher>(opts_.keepInfo ? AV_LOG_INFO : AV_LOG_ERROR)) {
  if (!opts_.allowNestedInputs) checkGraphSafety(desc_, opts_.where);
  else parseGraphFilters(desc_);  // syntax errors name the graph either way
  opts_.head.resize(inputs_.size());
  opts_.tail.resize(outputs_.size());
  build();
}

FilterGraph::~FilterGraph() = default;

void FilterGraph::fail(int ret, const std::string& what) const {
  const std::string logged = log_->recentErrors();
  throw Error("INVALID_FILTER",
              opts_.where + " '" + desc_ + "': " + what + ": " + avErrorString(ret) +
                  (logged.empty() ? "" : " (libav: " + logged + ")"),
              ret);
}

AVFilterContext* FilterGraph::chain(AVFilterContext* from, int* pad,
                                    const std::vector<std::pair<std::string, std::string>>& fs,
                                    const std::string& prefix) {
  for (size_t k = 0; k < fs.size(); k++) {
    const AVFilter* f = avfilter_get_by_name(fs[k].first.c_str());
    if (!f) throw Error("INTERNAL", "this libav build has no '" + fs[k].first + "' filter");
    AVFilterContext* c = nullptr;
    const std::string name = prefix + std::to_string(k) + "_" + fs[k].first;
    int ret = avfilter_graph_create_filter(&c, f, name.c_str(), fs[k].second.c_str(), nullptr, graph_.get());
    if (ret < 0) fail(ret, "cannot create " + fs[k].first + "=" + fs[k].second);
    if ((ret = avfilter_link(from, *pad, c, 0)) < 0) fail(ret, "cannot link " + fs[k].first);
    from = c;
    *pad = 0;
  }
  return from;
}

AVFilterContext* FilterGraph::makeSource(int i) {
  const FilterPad& p = inputs_[i];
  const bool video = p.type == AVMEDIA_TYPE_VIDEO;
  std::string args;
  if (video) {
    args = "video_size=" + std::to_string(p.width) + "x" + std::to_string(p.height) +
           ":pix_fmt=" + std::to_string(p.format) + ":time_base=" + std::to_string(p.timeBase.num) + "/" +
           std::to_string(p.timeBase.den) + ":pixel_aspect=" + std::to_string(std::max(0, p.sar.num)) + "/" +
           std::to_string(std::max(1, p.sar.den));
    if (p.frameRate.num > 0 && p.frameRate.den > 0)
      args += ":frame_rate=" + std::to_string(p.frameRate.num) + "/" + std::to_string(p.frameRate.den);
  } else {
    args = "time_base=" + std::to_string(p.timeBase.num) + "/" + std::to_string(p.timeBase.den) +
           ":sample_rate=" + std::to_string(p.sampleRate) +
           ":sample_fmt=" + av_get_sample_fmt_name(AVSampleFormat(p.format)) + ":channel_layout=" + p.channelLayout;
  }
  AVFilterContext* src = nullptr;
  const std::string name = "in" + std::to_string(i);
  int ret = avfilter_graph_create_filter(&src, avfilter_get_by_name(video ? "buffer" : "abuffer"), name.c_str(),
                                         args.c_str(), nullptr, graph_.get());
  if (ret < 0) fail(ret, "cannot create the source for input " + std::to_string(i) + " (" + args + ")");
  src_.push_back(src);
  int pad = 0;
  return chain(src, &pad, opts_.head[i], name + "_head");
}

// The graph's open pads in the order the string names them: by filter
// (filters are created in string order), then by pad.
std::vector<FilterGraph::OpenPad> FilterGraph::openPads(AVFilterInOut* list) const {
  std::vector<OpenPad> pads;
  for (AVFilterInOut* p = list; p; p = p->next) {
    unsigned k = 0;
    while (k < graph_->nb_filters && graph_->filters[k] != p->filter_ctx) k++;
    pads.push_back({p->filter_ctx, p->pad_idx, k});
  }
  std::sort(pads.begin(), pads.end(),
            [](const OpenPad& a, const OpenPad& b) { return a.order != b.order ? a.order < b.order : a.pad < b.pad; });
  return pads;
}

void FilterGraph::linkInput(int i, const OpenPad& p) {
  AVFilterContext* last = makeSource(i);
  const AVMediaType type = avfilter_pad_get_type(p.filter->input_pads, p.pad);
  if (type != inputs_[i].type)
    throw Error("INVALID_FILTER", opts_.where + " '" + desc_ + "': input " + std::to_string(i) + " is " +
                                      mediaName(inputs_[i].type) + " but the graph's input pad " + std::to_string(i) +
                                      " is " + mediaName(type));
  const int ret = avfilter_link(last, 0, p.filter, p.pad);
  if (ret < 0) fail(ret, "cannot link input " + std::to_string(i));
}

void FilterGraph::linkOutput(int i, const OpenPad& p) {
  const AVMediaType type = avfilter_pad_get_type(p.filter->output_pads, p.pad);
  outputs_[i].type = type;
  const auto& tail = opts_.tail[i];
  if (!tail.empty() && (tail[0].first == "aformat") != (type == AVMEDIA_TYPE_AUDIO))
    throw Error("INVALID_FILTER", opts_.where + " '" + desc_ + "': output " + std::to_string(i) + " is " +
                                      mediaName(type) + " but a " + (type == AVMEDIA_TYPE_AUDIO ? "video" : "audio") +
                                      " format was asked for it");
  int pad = p.pad;
  AVFilterContext* last = chain(p.filter, &pad, tail, "out" + std::to_string(i) + "_tail");
  AVFilterContext* sink = nullptr;
  const std::string name = "out" + std::to_string(i);
  int ret = avfilter_graph_create_filter(
      &sink, avfilter_get_by_name(type == AVMEDIA_TYPE_VIDEO ? "buffersink" : "abuffersink"), name.c_str(), nullptr,
      nullptr, graph_.get());
  if (ret < 0) fail(ret, "cannot create the sink for output " + std::to_string(i));
  if ((ret = avfilter_link(last, pad, sink, 0)) < 0) fail(ret, "cannot link output " + std::to_string(i));
  sink_.push_back(sink);
}

void FilterGraph::build() {
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) throw Error("ENOMEM", "avfilter_graph_alloc failed");
  log_->watch(graph_.get());
  graph_->nb_threads = opts_.threads;
  av_opt_set(graph_.get(), "scale_sws_opts", opts_.swsFlags.c_str(), 0);
  src_.clear();
  sink_.clear();
  AVFilterInOut *ins = nullptr, *outs = nullptr;
  int ret = avfilter_graph_parse2(graph_.get(), desc_.c_str(), &ins, &outs);
  struct InOutFreer {
    AVFilterInOut** a;
    AVFilterInOut** b;
    ~InOutFreer() {
      avfilter_inout_free(a);
      avfilter_inout_free(b);
    }
  } freer{&ins, &outs};
  if (ret < 0) fail(ret, "cannot parse the graph");
  const std::vector<OpenPad> in = openPads(ins), out = openPads(outs);
  if (in.size() != inputs_.size() || out.size() != outputs_.size())
    throw Error("INVALID_FILTER", opts_.where + " '" + desc_ + "' has " + std::to_string(in.size()) +
                                      " open input(s) and " + std::to_string(out.size()) + " open output(s); " +
                                      std::to_string(inputCount()) + " and " + std::to_string(outputCount()) +
                                      " are needed");
  for (size_t i = 0; i < in.size(); i++) linkInput(static_cast<int>(i), in[i]);
  for (size_t i = 0; i < out.size(); i++) linkOutput(static_cast<int>(i), out[i]);
  if ((ret = avfilter_graph_config(graph_.get(), nullptr)) < 0) fail(ret, "cannot configure the graph");
  for (size_t k = 0; k < sink_.size(); k++) {
    FilterPad& o = outputs_[k];
    const AVFilterContext* s = sink_[k];
    o.format = av_buffersink_get_format(s);
    o.timeBase = av_buffersink_get_time_base(s);
    if (o.type == AVMEDIA_TYPE_VIDEO) {
      o.width = av_buffersink_get_w(s);
      o.height = av_buffersink_get_h(s);
      o.sar = av_buffersink_get_sample_aspect_ratio(s);
      o.frameRate = av_buffersink_get_frame_rate(s);
    } else {
      o.sampleRate = av_buffersink_get_sample_rate(s);
      AVChannelLayout l{};
      if (av_buffersink_get_ch_layout(s, &l) >= 0) {
        o.channels = l.nb_channels;
        o.channelLayout = layoutText(l);
        av_channel_layout_uninit(&l);
      }
    }
  }
}

std::string FilterGraph::finish() {
  // a filter leaves its graph before its uninit prints: watch each by itself
  std::vector<const void*> filters;
  if (graph_)
    for (unsigned i = 0; i < graph_->nb_filters; i++) filters.push_back(graph_->filters[i]);
  for (const void* f : filters) log_->watch(f);
  const void* g = graph_.get();
  graph_.reset();
  for (const void* f : filters) log_->unwatch(f);  // their memory is libav's again
  log_->unwatch(g);
  src_.clear();
  sink_.clear();
  return log_->text();
}

bool FilterGraph::differs(const AVFrame* f, int input) const {
  const FilterPad& p = inputs_[input];
  if (p.type != AVMEDIA_TYPE_VIDEO) return f->format != p.format || f->sample_rate != p.sampleRate;
  return f->width != p.width || f->height != p.height || f->format != p.format;
}

void FilterGraph::push(AVFrame* f, int input) {
  if (!graph_) throw Error("CLOSED", opts_.where + " '" + desc_ + "' is finished");
  int ret = f ? av_buffersrc_add_frame_flags(src_[input], f, AV_BUFFERSRC_FLAG_KEEP_REF)
              : av_buffersrc_add_frame(src_[input], nullptr);
  if (ret < 0 && ret != AVERROR_EOF) fail(ret, "cannot feed input " + std::to_string(input));
}

bool FilterGraph::pull(AVFrame* out, int output, bool* ended) {
  if (!graph_) throw Error("CLOSED", opts_.where + " '" + desc_ + "' is finished");
  if (ended) *ended = false;
  av_frame_unref(out);
  const int ret = av_buffersink_get_frame(sink_[output], out);
  if (ret >= 0) return true;
  if (ret == AVERROR_EOF) {
    if (ended) *ended = true;
    return false;
  }
  if (ret == AVERROR(EAGAIN)) return false;
  fail(ret, "filtering failed");
}

}  // namespace avcv
