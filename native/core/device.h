// The device and encoder policy, in one place: which device decoding and
// encoding run on (CUDA: what initialises here, and why not when it does not;
// the NVIDIA driver is loaded at run time, so one build serves machines with
// and without a GPU), which encoder a codec name means on which device and
// how each encoder family reads rate control, NVDEC set-up, the download of
// CUDA frames and the CUDA scaler.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
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

// ---- decoding ----

// The decoder avcv opens for codec `id` on `device`: avcodec_find_decoder's
// choice, except on a device other than 'cpu' when that one has no CUDA hw
// config but another decoder of the codec has one and a CUDA device is
// usable (AV1: libdav1d is found first, the native "av1" decoder is the one
// with av1_nvdec). nullptr when the build has no decoder for `id`.
const AVCodec* findDecoder(AVCodecID id, const std::string& device);

// Sets up NVDEC on a decoder about to be opened when `device` asks for it:
// 'cuda' must get it (else Error NO_DEVICE), 'auto' falls back to the CPU
// and says why. `codecName` names the stream's codec in messages.
DeviceChoice attachNvdec(AVCodecContext* dec, const std::string& device, const std::string& codecName);

// A CUDA frame downloaded into `dst`, with its props: into dst's own buffers
// when they fit and nothing else holds them (see keepBuffers), else new ones.
void downloadFrame(AVFrame* dst, const AVFrame* cuda);
// Keeps f's buffers, and drops everything else it holds, when they have this
// format and size and no other reference (true); else unreferences f (false).
bool keepBuffers(AVFrame* f, int format, int width, int height);

// ---- encoding ----

// The best available encoder for a codec name ('h264', 'hevc', 'vp9', 'av1',
// ...), an OpenCV fourcc or an encoder name; "" when none is known.
std::string resolveEncoder(const std::string& name);
// The NVENC encoder for the same codec as `encoder` ("" when NVENC has none
// for it, or this build lacks it).
std::string nvencFor(const std::string& encoder);
// An NVENC encoder (libav marks them by their wrapper, "nvenc").
bool isNvenc(const AVCodec* codec);

// True when `encoder` (an *_nvenc) opens a session on CUDA device `index`;
// else false with the reason (libav's words: "unsupported device" on a GPU
// without NVENC engines, such as an H100). Kept per process once known.
bool nvencOpens(const std::string& encoder, int index, std::string* reason);

// The encoder a writer uses for `codecName` on `device`: the NVENC one on a
// usable GPU ('cuda' must get it, 'auto' falls back with the reason), else
// the CPU one. Throws Error UNSUPPORTED_CODEC / NO_DEVICE.
struct EncoderChoice {
  std::string encoder;
  DeviceChoice device;
};
EncoderChoice chooseEncoder(const std::string& codecName, const std::string& device);

// What a caller asks of an encoder, in the same words for every encoder.
struct EncoderRequest {
  int crf = -1;
  int64_t bitrate = 0;
  std::string rateControl;  // "" | cq | vbr | cbr
  std::string preset, tune, profile;
  std::map<std::string, std::string> codecOptions;
};
// Sets rate control on `enc` as its family reads it (x264/x265 crf, ABR and
// VBV CBR; vp9 constant quality without a cap; NVENC rc and cq) and returns
// the options for avcodec_open2 (the caller frees them).
AVDictionary* encoderSettings(AVCodecContext* enc, const AVCodec* codec, const EncoderRequest& r);

struct Capabilities {
  std::vector<std::string> hwDeviceTypes;  // types libav was built with
  CudaInfo cuda;
  std::vector<std::string> nvdecCodecs;    // codecs whose decoder has a CUDA hw config
  std::vector<std::string> nvencEncoders;  // *_nvenc encoders in this build
  std::vector<std::string> nvencUsable;    // those that open a session on CUDA device 0
  std::string nvencReason;                 // why one in nvencEncoders is not usable ("" when all are)
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
