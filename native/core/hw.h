// Hardware devices (CUDA): what initialises here, and why not when it does
// not. The NVIDIA driver is loaded at run time, so one build serves machines
// with and without a GPU.
#pragma once
#include <string>
#include <vector>

extern "C" {
#include <libavutil/buffer.h>
}

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

}  // namespace avcv
