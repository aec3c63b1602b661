#include "hw.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "error.h"

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

Capabilities capabilities() {
  Capabilities c;
  for (AVHWDeviceType t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE); t != AV_HWDEVICE_TYPE_NONE;
       t = av_hwdevice_iterate_types(t))
    c.hwDeviceTypes.push_back(av_hwdevice_get_type_name(t));
  c.cuda = probeCuda(0);
  for (AVCodecID id : {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AV1, AV_CODEC_ID_VP9, AV_CODEC_ID_VP8,
                       AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MJPEG}) {
    const AVCodec* d = avcodec_find_decoder(id);
    if (!d) continue;
    for (int i = 0;; i++) {
      const AVCodecHWConfig* cfg = avcodec_get_hw_config(d, i);
      if (!cfg) break;
      if (cfg->device_type == AV_HWDEVICE_TYPE_CUDA && (cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) {
        c.nvdecCodecs.push_back(avcodec_get_name(id));
        break;
      }
    }
  }
  for (const char* e : {"h264_nvenc", "hevc_nvenc", "av1_nvenc"})
    if (avcodec_find_encoder_by_name(e)) c.nvencEncoders.push_back(e);
  c.scaleCuda = avfilter_get_by_name("scale_cuda") != nullptr;
  return c;
}

std::string cudaInterp(int swsFlags) {
  switch (swsFlags & 0xff) {  // the algorithm bits; SWS_ACCURATE_RND etc. sit above them
    case SWS_POINT: return "nearest";
    case SWS_BILINEAR: return "bilinear";
    case SWS_BICUBIC: return "bicubic";
    case SWS_LANCZOS: return "lanczos";
    default: return "";
  }
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

}  // namespace avcv
