// libavfilter graphs from a user's graph string: the safety check (filters
// that open files or URLs), the per-frame test (can a frame be filtered
// alone, for random access), and FilterGraph, which builds buffer sources ->
// the user's graph -> optional tail filters -> buffer sinks the way the ffmpeg
// CLI's -vf/-af/-filter_complex does, and moves frames through it.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "image.h"
#include "log.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavutil/frame.h>
#include <libavutil/rational.h>
}

namespace avcv {

// One filter of a graph string, as libavfilter's parser splits it.
struct GraphFilter {
  std::string name;  // "scale" (an "@id" suffix removed)
  std::string args;  // "640:-2:flags=lanczos", quotes and escapes of the graph level removed
};

// The filters of a graph string, in order (a leading "sws_flags=...;" is
// skipped). Throws Error("INVALID_FILTER") for text libavfilter could not
// parse either (an unterminated label).
std::vector<GraphFilter> parseGraphFilters(const std::string& desc);

// Throws Error("NESTED_INPUT_BLOCKED") when the graph names a filter that
// opens files, URLs, plugins or sockets (movie, subtitles, sendcmd, lut3d,
// zmq, frei0r, ...) or sets a filter's file-like option (drawtext's
// fontfile/textfile, psnr's stats_file, ...), by name or by position.
// Checked before libavfilter initialises anything: filters open their files
// while the graph string is parsed.
void checkGraphSafety(const std::string& desc, const std::string& where);

// "" when every filter of the graph turns one frame into one frame without
// state carried between frames (hflip, crop, scale, eq, ...), so that a frame
// filtered alone equals the same frame filtered in sequence; otherwise why
// not ("'fps' carries state from frame to frame").
std::string whyNotPerFrame(const std::string& desc);

// A buffer source's parameters, or a sink's once the graph is configured.
struct FilterPad {
  AVMediaType type = AVMEDIA_TYPE_VIDEO;
  int format = -1;  // AVPixelFormat or AVSampleFormat
  int width = 0, height = 0;
  AVRational sar{0, 1};
  AVRational frameRate{0, 1};
  AVRational timeBase{1, 1};
  int sampleRate = 0;
  int channels = 0;
  std::string channelLayout;  // av_channel_layout_describe's text
};

struct FilterGraphOptions {
  std::string where = "filter";  // names the option in errors ("filter", "videoFilter")
  bool allowNestedInputs = false;
  int threads = 0;                         // 0: libavfilter's default
  std::string swsFlags = "flags=bicubic";  // for the scale filters libavfilter inserts (the CLI's default)
  // Filters put in front of input i (e.g. the CLI's autorotate transpose):
  // {name, args} pairs; and after output i (e.g. format=bgr24).
  std::vector<std::vector<std::pair<std::string, std::string>>> head, tail;
  // Keep what the filters log at info level (finish() returns it): loudnorm's
  // print_format=json measurements are written when the graph is freed.
  bool keepInfo = false;
};

class FilterGraph {
 public:
  // Builds and configures the graph. Throws Error("INVALID_FILTER") naming
  // the filter with libav's message, Error("NESTED_INPUT_BLOCKED").
  FilterGraph(const std::string& desc, std::vector<FilterPad> inputs, int outputs, FilterGraphOptions opts);
  ~FilterGraph();
  FilterGraph(const FilterGraph&) = delete;
  FilterGraph& operator=(const FilterGraph&) = delete;

  // Feeds a frame to input i (the frame keeps its reference); nullptr: the
  // end of that input.
  void push(AVFrame* f, int input = 0);
  // The next frame of output i into `out`: true; false when the graph needs
  // more input or (then *ended is set) has nothing more to give.
  bool pull(AVFrame* out, int output = 0, bool* ended = nullptr);

  const FilterPad& input(int i) const { return inputs_[i]; }
  const FilterPad& output(int i) const { return outputs_[i]; }
  int inputCount() const { return static_cast<int>(inputs_.size()); }
  int outputCount() const { return static_cast<int>(outputs_.size()); }
  const std::string& description() const { return desc_; }
  // True when a frame with these properties needs a new graph (the CLI's
  // reconfiguration when the size or format changes mid-stream).
  bool differs(const AVFrame* f, int input = 0) const;
  // Frees the graph (filters print their summaries) and returns what they
  // logged (options.keepInfo). The graph takes no frames after it.
  std::string finish();

 private:
  struct GraphFreer {
    void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
  };
  struct OpenPad {
    AVFilterContext* filter;
    int pad;
    unsigned order;  // the filter's place in the graph (string order)
  };
  void build();
  std::vector<OpenPad> openPads(AVFilterInOut* list) const;
  void linkInput(int i, const OpenPad& p);
  void linkOutput(int i, const OpenPad& p);
  AVFilterContext* makeSource(int i);
  // Links `filters` one after the other from (from, *pad); the last one's output 0 is returned (*pad = 0).
  AVFilterContext* chain(AVFilterContext* from, int* pad,
                         const std::vector<std::pair<std::string, std::string>>& filters, const std::string& prefix);
  [[noreturn]] void fail(int ret, const std::string& what) const;

  std::string desc_;
  FilterGraphOptions opts_;
  std::vector<FilterPad> inputs_, outputs_;
  std::unique_ptr<LogCatcher> log_;  // before graph_: the graph logs while it is freed
  std::unique_ptr<AVFilterGraph, GraphFreer> graph_;
  std::vector<AVFilterContext*> src_, sink_;
};

// A FilterPad describing a decoded video frame in a stream of time base tb.
FilterPad videoPad(const AVFrame* f, AVRational tb, AVRational frameRate);

// Frames from tightly packed caller memory (copied into libav buffers, so the
// graph may keep them): an image of `desc`, or `samples` samples per channel
// of `pad`'s audio (interleaved, or planar one plane after the other).
void fillVideoFrame(AVFrame* f, const uint8_t* data, const ImageDesc& desc, int64_t pts);
void fillAudioFrame(AVFrame* f, const uint8_t* data, int samples, const FilterPad& pad, int64_t pts);
// A frame's samples or pixels, tightly packed (the inverse of the above).
std::vector<uint8_t> packFrame(const AVFrame* f, AVMediaType type);

}  // namespace avcv
