// Hardware devices (CUDA): what initialises here, and why not when it does
// not. The NVIDIA driver is loaded at run time, so one build serves machines
// with and without a GPU.
#pragma once
#include <string>
#include <vector>

#include <memory>

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
}

struct AVFilterGraph;
struct AVFilterContext;

namespace avcv {

struct DeviceChoice {
  std::string requested;  // cpu | cuda | cuda:N | auto
  std::string type = "cpu";
  int index = 0;
  std::string fallbackReason;  // why 'auto' stayed on the CPU
};

struct CudaInfo {
  bool available = false;
  std::string reason;  // when not available
  int deviceCount = 0;
  std::vector<std::string> names;
};

// Probes the CUDA driver and device `index` (dlopen libcuda.so.1, then
// av_hwdevice_ctx_create). Never throws.
CudaInfo probeCuda(int index);

// A new reference to a CUDA device context for `index` (shared per index for
// the process), or nullptr with `reason` set.
AVBufferRef* cudaDevice(int index, std::string* reason);

// Parses 'cpu' | 'cuda' | 'cuda:N' | 'auto'; throws INVALID_ARGUMENT.
void parseDevice(const std::string& s, std::string* type, int* index);

struct Capabilities {
  std::vector<std::string> hwDeviceTypes;  // types libav was built with
  CudaInfo cuda;
  std::vector<std::string> nvdecCodecs;    // codecs whose decoder has a CUDA hw config
  std::vector<std::string> nvencEncoders;  // *_nvenc encoders in this build
  bool scaleCuda = false;
};
Capabilities capabilities();

// scale_cuda's interp_algo for swscale flags ("nearest", "bilinear",
// "bicubic", "lanczos"), or "" when scale_cuda has no equivalent (area,
// spline, gauss, fast_bilinear): those scale on the CPU.
std::string cudaInterp(int swsFlags);

// True when this libav build has the scale_cuda filter.
bool hasScaleCuda();

// Resizes CUDA frames on the GPU (buffer -> scale_cuda -> buffersink), so
// that a large decoded frame is downloaded at its output size. The graph is
// rebuilt when the input size or frame pool changes. Throws avcv::Error.
class CudaScaler {
 public:
  CudaScaler(int outW, int outH, std::string interp);
  ~CudaScaler();
  // `out` receives the scaled CUDA frame (unreferenced first).
  void scale(AVFrame* in, AVFrame* out);

 private:
  void setup(const AVFrame* in);
  struct GraphFreer {
    void operator()(AVFilterGraph* g) const;
  };
  int outW_, outH_;
  std::string interp_;
  std::unique_ptr<AVFilterGraph, GraphFreer> graph_;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  int inW_ = -1, inH_ = -1;
  const void* inPool_ = nullptr;  // the input hw_frames_ctx the graph was built for
};

}  // namespace avcv
