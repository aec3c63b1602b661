#include "device.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "error.h"
#include "image.h"
#include "log.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace avcv {
namespace {

std::mutex devMu;
std::map<int, AVBufferRef*> devices;  // one CUDA context per device index, shared by every reader/writer

using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);

bool hasCudaConfig(const AVCodec* codec) {
  for (int i = 0;; i++) {
    const AVCodecHWConfig* cfg = avcodec_get_hw_config(codec, i);
    if (!cfg) return false;
    if (cfg->device_type == AV_HWDEVICE_TYPE_CUDA && (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX))
      return true;
  }
}

// A decoder of `id` with a CUDA hw config, not a hardware wrapper (cuvid):
// libav's own decoder with its nvdec hwaccel, as for every other codec.
const AVCodec* cudaDecoder(AVCodecID id) {
  const AVCodec* d = avcodec_find_decoder(id);
  if (d && hasCudaConfig(d)) return d;
  void* it = nullptr;
  while (const AVCodec* c = av_codec_iterate(&it))
    if (av_codec_is_decoder(c) && c->id == id && !(c->capabilities & AV_CODEC_CAP_HARDWARE) && hasCudaConfig(c))
      return c;
  return nullptr;
}

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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool encoderExists(const char* name) { return avcodec_find_encoder_by_name(name) != nullptr; }

// NVENC sessions that opened (or cannot ever open) per encoder and device
// index. A GPU without NVENC engines (H100, A100) refuses every session with
// NV_ENC_ERR_UNSUPPORTED_DEVICE; a failure for another reason (all sessions
// of a consumer GPU in use) is not kept, so the next writer tries again.
std::mutex nvencMu;
std::map<std::pair<std::string, int>, std::string> nvencSeen;  // "" = opens

std::string firstAvailable(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (encoderExists(n)) return n;
  return "";
}

}  // namespace

void parseDevice(const std::string& s, std::string* type, int* index) {
  *index = 0;
  if (s == "cpu" || s == "auto" || s == "cuda") {
    *type = s;
    return;
  }
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.find_first_not_of("0123456789", 5) == std::string::npos) {
    *type = "cuda";
    *index = std::stoi(s.substr(5));
    return;
  }
  throw Error("INVALID_ARGUMENT", "device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got '" + s + "'");
}

CudaInfo probeCuda(int index) {
  CudaInfo info;
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) {
    info.reason = "no CUDA driver (libcuda.so.1 not found)";
    return info;
  }
  auto init = reinterpret_cast<CuInit>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CuDeviceGetCount>(dlsym(lib, "cuDeviceGetCount"));
  auto get = reinterpret_cast<CuDeviceGet>(dlsym(lib, "cuDeviceGet"));
  auto name = reinterpret_cast<CuDeviceGetName>(dlsym(lib, "cuDeviceGetName"));
  if (!init || !count || !get || !name || init(0) != 0) {
    info.reason = "the CUDA driver did not initialise (cuInit failed)";
    dlclose(lib);
    return info;
  }
  int n = 0;
  if (count(&n) != 0 || n <= 0) {
    info.reason = "the CUDA driver reports no GPU";
    dlclose(lib);
    return info;
  }
  info.deviceCount = n;
  for (int i = 0; i < n; i++) {
    int dev = 0;
    char buf[256] = {0};
    if (get(&dev, i) == 0 && name(buf, sizeof buf, dev) == 0) info.names.push_back(buf);
    else info.names.push_back("");
  }
  dlclose(lib);
  if (index >= n) {
    info.reason = "no CUDA device " + std::to_string(index) + " (" + std::to_string(n) + " present)";
    return info;
  }
  std::string why;
  AVBufferRef* ctx = cudaDevice(index, &why);
  if (!ctx) {
    info.reason = why;
    return info;
  }
  av_buffer_unref(&ctx);
  info.available = true;
  return info;
}

AVBufferRef* cudaDevice(int index, std::string* reason) {
  std::lock_guard<std::mutex> lk(devMu);
  auto it = devices.find(index);
  if (it == devices.end()) {
    if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD) && !dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
      *reason = "no CUDA driver (libcuda.so.1 not found)";
      return nullptr;
    }
    AVBufferRef* ctx = nullptr;
    const std::string dev = std::to_string(index);
    int ret = av_hwdevice_ctx_create(&ctx, AV_HWDEVICE_TYPE_CUDA, dev.c_str(), nullptr, 0);
    if (ret < 0) {
      *reason = "cannot open CUDA device " + dev + ": " + avErrorString(ret);
      return nullptr;
    }
    it = devices.emplace(index, ctx).first;
  }
  return av_buffer_ref(it->second);
}

bool nvencOpens(const std::string& encoder, int index, std::string* reason) {
  const auto key = std::make_pair(encoder, index);
  std::lock_guard<std::mutex> lk(nvencMu);
  auto it = nvencSeen.find(key);
  if (it != nvencSeen.end()) {
    *reason = it->second;
    return reason->empty();
  }
  const AVCodec* codec = avcodec_find_encoder_by_name(encoder.c_str());
  if (!codec) {
    *reason = "no " + encoder + " in this libav build";
    return false;
  }
  std::string why;
  AVBufferRef* dev = cudaDevice(index, &why);
  if (!dev) {
    *reason = why;
    return false;
  }
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  if (!enc) {
    av_buffer_unref(&dev);
    *reason = "avcodec_alloc_context3 failed";
    return false;
  }
  // a small session on the same device as the writers': the NVENC engine
  // answers for any size it supports
  enc->width = 640;
  enc->height = 360;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = AVRational{1, 25};
  enc->framerate = AVRational{25, 1};
  enc->hw_device_ctx = dev;  // taken by the context
  LogCatcher log;
  log.watch(enc);
  const int ret = avcodec_open2(enc, codec, nullptr);
  log.unwatch(enc);
  avcodec_free_context(&enc);
  if (ret >= 0) {
    nvencSeen[key] = "";
    reason->clear();
    return true;
  }
  const std::string said = log.recentErrors();
  *reason = encoder + " cannot open a session on CUDA device " + std::to_string(index) + ": " +
            (said.empty() ? avErrorString(ret) : said);
  if (said.find("unsupported device") != std::string::npos || said.find("No capable devices") != std::string::npos)
    nvencSeen[key] = *reason;  // this GPU has no NVENC: it will not get one
  return false;
}

Capabilities capabilities() {
  Capabilities c;
  for (AVHWDeviceType t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE); t != AV_HWDEVICE_TYPE_NONE;
       t = av_hwdevice_iterate_types(t))
    c.hwDeviceTypes.push_back(av_hwdevice_get_type_name(t));
  c.cuda = probeCuda(0);
  for (AVCodecID id : {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AV1, AV_CODEC_ID_VP9, AV_CODEC_ID_VP8,
                       AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MJPEG}) {
    if (cudaDecoder(id)) c.nvdecCodecs.push_back(avcodec_get_name(id));
  }
  for (const char* e : {"h264_nvenc", "hevc_nvenc", "av1_nvenc"}) {
    if (!avcodec_find_encoder_by_name(e)) continue;
    c.nvencEncoders.push_back(e);
    std::string why;
    if (!c.cuda.available) continue;
    if (nvencOpens(e, 0, &why)) c.nvencUsable.push_back(e);
    else if (c.nvencReason.empty()) c.nvencReason = why;
  }
  if (!c.cuda.available && !c.nvencEncoders.empty()) c.nvencReason = c.cuda.reason;
  c.scaleCuda = avfilter_get_by_name("scale_cuda") != nullptr;
  return c;
}

std::string cudaInterp(int swsFlags) {
  // the algorithm bits (SWS_FAST_BILINEAR 0x1 to SWS_SPLINE 0x400);
  // SWS_FULL_CHR_H_INT, SWS_ACCURATE_RND etc. sit above them
  for (const auto& i : interpolations())
    if (i.swsFlags == (swsFlags & 0x7ff)) return i.cuda;
  return "";
}

bool hasScaleCuda() { return avfilter_get_by_name("scale_cuda") != nullptr; }

void CudaScaler::GraphFreer::operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }

CudaScaler::CudaScaler(int outW, int outH, std::string interp) : outW_(outW), outH_(outH), interp_(std::move(interp)) {}
CudaScaler::~CudaScaler() = default;

void CudaScaler::setup(const AVFrame* in) {
  graph_.reset();
  src_ = sink_ = nullptr;
  if (!in->hw_frames_ctx) throw Error("INTERNAL", "a CUDA frame without a frame pool");
  const AVFilter* buffer = avfilter_get_by_name("buffer");
  const AVFilter* scale = avfilter_get_by_name("scale_cuda");
  const AVFilter* sink = avfilter_get_by_name("buffersink");
  if (!buffer || !scale || !sink) throw Error("UNSUPPORTED", "this libav build has no scale_cuda filter");
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) throw Error("ENOMEM", "avfilter_graph_alloc failed");
  const std::string srcArgs = "video_size=" + std::to_string(in->width) + "x" + std::to_string(in->height) +
                              ":pix_fmt=" + av_get_pix_fmt_name(AV_PIX_FMT_CUDA) + ":time_base=1/1:pixel_aspect=1/1";
  int ret = avfilter_graph_create_filter(&src_, buffer, "in", srcArgs.c_str(), nullptr, graph_.get());
  if (ret < 0) throwAvError(ret, "scale_cuda graph: buffer source", "INTERNAL");
  AVBufferSrcParameters* par = av_buffersrc_parameters_alloc();
  if (!par) throw Error("ENOMEM", "av_buffersrc_parameters_alloc failed");
  par->hw_frames_ctx = in->hw_frames_ctx;  // referenced by the source, not taken
  ret = av_buffersrc_parameters_set(src_, par);
  av_free(par);
  if (ret < 0) throwAvError(ret, "scale_cuda graph: frame pool", "INTERNAL");
  AVFilterContext* sc = nullptr;
  const std::string scArgs = "w=" + std::to_string(outW_) + ":h=" + std::to_string(outH_) + ":interp_algo=" + interp_;
  ret = avfilter_graph_create_filter(&sc, scale, "scale", scArgs.c_str(), nullptr, graph_.get());
  if (ret < 0) throwAvError(ret, "scale_cuda graph: scale_cuda=" + scArgs, "INTERNAL");
  ret = avfilter_graph_create_filter(&sink_, sink, "out", nullptr, nullptr, graph_.get());
  if (ret < 0) throwAvError(ret, "scale_cuda graph: buffer sink", "INTERNAL");
  if ((ret = avfilter_link(src_, 0, sc, 0)) < 0 || (ret = avfilter_link(sc, 0, sink_, 0)) < 0)
    throwAvError(ret, "scale_cuda graph: linking", "INTERNAL");
  ret = avfilter_graph_config(graph_.get(), nullptr);
  if (ret < 0) throwAvError(ret, "scale_cuda graph: configuring", "INTERNAL");
  inW_ = in->width;
  inH_ = in->height;
  inPool_ = in->hw_frames_ctx->data;
}

void CudaScaler::scale(AVFrame* in, AVFrame* out) {
  if (!graph_ || in->width != inW_ || in->height != inH_ || !in->hw_frames_ctx || in->hw_frames_ctx->data != inPool_)
    setup(in);
  av_frame_unref(out);
  int ret = av_buffersrc_add_frame_flags(src_, in, AV_BUFFERSRC_FLAG_KEEP_REF);
  if (ret < 0) throwAvError(ret, "scale_cuda: feeding a frame", "INTERNAL");
  ret = av_buffersink_get_frame(sink_, out);
  if (ret < 0) throwAvError(ret, "scale_cuda: no scaled frame", "INTERNAL");
}

// ---- decoding ----

const AVCodec* findDecoder(AVCodecID id, const std::string& device) {
  const AVCodec* def = avcodec_find_decoder(id);
  std::string type;
  int index = 0;
  parseDevice(device, &type, &index);
  if (type == "cpu" || (def && hasCudaConfig(def))) return def;
  const AVCodec* hw = cudaDecoder(id);
  if (!hw) return def;
  std::string reason;
  AVBufferRef* ctx = cudaDevice(index, &reason);
  if (!ctx) return def;  // attachNvdec says why (or throws NO_DEVICE for 'cuda')
  av_buffer_unref(&ctx);
  return hw;
}

DeviceChoice attachNvdec(AVCodecContext* dec, const std::string& device, const std::string& codecName) {
  DeviceChoice choice;
  choice.requested = device;
  std::string type;
  int index = 0;
  parseDevice(device, &type, &index);
  if (type == "cpu") return choice;
  std::string reason;
  AVBufferRef* hw = nullptr;
  if (hasCudaConfig(dec->codec)) {
    hw = cudaDevice(index, &reason);
  } else if (cudaDecoder(dec->codec_id)) {
    // findDecoder kept the CPU decoder: no usable CUDA device; say why
    AVBufferRef* probe = cudaDevice(index, &reason);
    if (probe) {
      av_buffer_unref(&probe);
      reason = "decoder '" + std::string(dec->codec->name) + "' has no NVDEC (open it through findDecoder)";
    }
  } else {
    reason = "NVDEC cannot decode " + codecName + " in this libav build";
  }
  if (hw) {
    dec->hw_device_ctx = hw;
    dec->get_format = pickCuda;
    choice.type = "cuda";
    choice.index = index;
  } else if (type == "cuda") {
    throw Error("NO_DEVICE", "device '" + device + "' is not usable: " + reason);
  } else {
    choice.fallbackReason = reason;
  }
  return choice;
}

bool keepBuffers(AVFrame* f, int format, int width, int height) {
  bool keep = f->buf[0] && f->format == format && f->width == width && f->height == height;
  for (int i = 0; keep && i < AV_NUM_DATA_POINTERS && f->buf[i]; i++) keep = av_buffer_get_ref_count(f->buf[i]) == 1;
  if (!keep || f->extended_data != f->data) {
    av_frame_unref(f);
    return false;
  }
  // the same buffers in a bare frame: the last frame's side data and
  // metadata go (av_frame_copy_props adds to what a frame holds)
  AVFrame* bare = av_frame_alloc();
  if (!bare) {
    av_frame_unref(f);
    return false;
  }
  bare->format = format;
  bare->width = width;
  bare->height = height;
  for (int i = 0; i < AV_NUM_DATA_POINTERS; i++) {
    bare->data[i] = f->data[i];
    bare->linesize[i] = f->linesize[i];
    if (f->buf[i]) {
      bare->buf[i] = f->buf[i];  // moved
      f->buf[i] = nullptr;
    }
  }
  av_frame_unref(f);
  av_frame_move_ref(f, bare);
  av_frame_free(&bare);
  return true;
}

void downloadFrame(AVFrame* dst, const AVFrame* cuda) {
  // into the last download's memory when nothing else holds it: a fresh
  // 12 MB buffer per 4K frame is page faults and a trim per frame
  const auto* pool =
      cuda->hw_frames_ctx ? reinterpret_cast<const AVHWFramesContext*>(cuda->hw_frames_ctx->data) : nullptr;
  if (pool) keepBuffers(dst, pool->sw_format, cuda->width, cuda->height);  // else it unreferences dst
  else av_frame_unref(dst);
  int ret = av_hwframe_transfer_data(dst, cuda, 0);
  if (ret < 0) throwAvError(ret, "downloading a CUDA frame failed", "DECODE");
  av_frame_copy_props(dst, cuda);
}

// ---- encoding ----

std::string resolveEncoder(const std::string& name) {
  const std::string n = lower(name);
  // short codec names and fourccs pick the best CPU encoder available
  if (n == "h264" || n == "avc" || n == "avc1" || n == "x264") return firstAvailable({"libx264", "libopenh264"});
  if (n == "hevc" || n == "h265" || n == "hvc1" || n == "hev1" || n == "x265") return firstAvailable({"libx265"});
  if (n == "vp9" || n == "vp90" || n == "vp09") return firstAvailable({"libvpx-vp9"});
  if (n == "vp8" || n == "vp80") return firstAvailable({"libvpx"});
  if (n == "av1" || n == "av01") return firstAvailable({"libsvtav1", "libaom-av1", "librav1e"});
  if (n == "mp4v" || n == "xvid" || n == "divx" || n == "fmp4" || n == "dx50") return firstAvailable({"mpeg4"});
  if (n == "mjpg" || n == "mjpeg") return firstAvailable({"mjpeg"});
  if (n == "ffv1") return "ffv1";
  const AVCodec* c = avcodec_find_encoder_by_name(name.c_str());
  return c && c->type == AVMEDIA_TYPE_VIDEO ? name : "";
}

bool isNvenc(const AVCodec* codec) {
  return codec && codec->wrapper_name && std::strcmp(codec->wrapper_name, "nvenc") == 0;
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

EncoderChoice chooseEncoder(const std::string& codecName, const std::string& device) {
  EncoderChoice c;
  c.device.requested = device;
  c.encoder = resolveEncoder(codecName);
  if (c.encoder.empty())
    throw Error("UNSUPPORTED_CODEC", "no video encoder for codec '" + codecName + "' in this libav build");
  std::string type;
  int index = 0;
  parseDevice(device, &type, &index);
  if (isNvenc(avcodec_find_encoder_by_name(c.encoder.c_str()))) {
    // an NVENC encoder by name: a GPU that has NVENC, whatever `device` says
    std::string why;
    if (!nvencOpens(c.encoder, type == "cuda" ? index : 0, &why))
      throw Error("NO_DEVICE", "encoder '" + c.encoder + "' is not usable: " + why);
    c.device.type = "cuda";
    c.device.index = type == "cuda" ? index : 0;
    return c;
  }
  if (type == "cpu") return c;
  const std::string nvenc = nvencFor(c.encoder);
  std::string reason;
  if (nvenc.empty()) {
    reason = "NVENC has no encoder for '" + codecName + "' in this build (it encodes h264, hevc and av1)";
  } else {
    const CudaInfo cuda = probeCuda(index);
    if (!cuda.available) reason = cuda.reason.empty() ? "CUDA is not usable" : cuda.reason;
    else nvencOpens(nvenc, index, &reason);
  }
  if (reason.empty()) {
    c.encoder = nvenc;
    c.device.type = "cuda";
    c.device.index = index;
  } else if (type == "auto") {
    c.device.fallbackReason = reason;
  } else {
    throw Error("NO_DEVICE", "device '" + device + "' is not usable: " + reason);
  }
  return c;
}

AVDictionary* encoderSettings(AVCodecContext* enc, const AVCodec* codec, const EncoderRequest& r) {
  if (r.bitrate > 0) {
    enc->bit_rate = r.bitrate;
  } else if (std::strcmp(codec->name, "libopenh264") == 0 && enc->width > 0 && enc->height > 0) {
    // OpenH264 (codec 'h264' in the LGPL prebuild) has no constant-quality
    // mode, and libavcodec's wrapper targets 2 Mb/s at every size: starved
    // at 1080p and up, wasteful on small frames. 0.1 bit per pixel and frame
    // instead (1080p30 6.2 Mb/s, 720p30 2.8 Mb/s, 480p30 1.0 Mb/s), the
    // frame rate capped at 60
    const double fps = enc->framerate.num > 0 && enc->framerate.den > 0 ? av_q2d(enc->framerate) : 25.0;
    enc->bit_rate = std::llround(0.1 * enc->width * enc->height * std::min(fps, 60.0));
  }
  if (r.rateControl == "cbr") {
    // a 1-second VBV at the bitrate, min = max = target: what x264/x265 and
    // the other libav encoders read as constant bitrate
    enc->rc_max_rate = enc->rc_min_rate = r.bitrate;
    enc->rc_buffer_size = static_cast<int>(std::min<int64_t>(r.bitrate, INT32_MAX));
  }
  AVDictionary* dict = nullptr;
  if (!r.preset.empty()) av_dict_set(&dict, "preset", r.preset.c_str(), 0);
  if (!r.tune.empty()) av_dict_set(&dict, "tune", r.tune.c_str(), 0);
  if (!r.profile.empty()) av_dict_set(&dict, "profile", r.profile.c_str(), 0);
  if (isNvenc(codec)) {
    // NVENC has no crf: its constant-quality mode is rc=vbr with cq (and no
    // bitrate target); vbr/cbr are its rc modes of the same names
    if (r.rateControl == "cbr") av_dict_set(&dict, "rc", "cbr", 0);
    else if (!r.rateControl.empty() || r.crf >= 0) av_dict_set(&dict, "rc", "vbr", 0);
    if (r.crf >= 0) av_dict_set(&dict, "cq", std::to_string(r.crf).c_str(), 0);
  } else if (r.crf >= 0) {
    av_dict_set(&dict, "crf", std::to_string(r.crf).c_str(), 0);
  }
  if (r.rateControl == "cq" && std::strcmp(codec->name, "libvpx-vp9") == 0)
    enc->bit_rate = 0;  // vp9's constant quality
  for (const auto& kv : r.codecOptions) av_dict_set(&dict, kv.first.c_str(), kv.second.c_str(), 0);
  return dict;
}

}  // namespace avcv
