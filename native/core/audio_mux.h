// The source's audio beside an encoded video: each audio stream of the
// source is copied (when the container takes its codec) or decoded,
// resampled and encoded (AAC; Opus for webm), shifted and trimmed with the
// video, and handed to the writer's muxer up to a time horizon so that it
// interleaves with the video. Owns the audio input, decoders, resamplers,
// FIFOs and encoders.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ffptr.h"
#include "filter_graph.h"
#include "input.h"

namespace avcv {

struct AudioSpec {
  std::string mode = "none";  // none | copy | encode | auto
  InputOptions source;
  double shift = 0;  // seconds added to source audio timestamps
  double start = 0;  // source audio before this (source seconds) is dropped
  // A libavfilter graph for each re-encoded track ('' = none): decoded audio
  // goes through it, then back to the source's sample rate for the encoder.
  // Needs mode encode or auto (which then encodes).
  std::string filter;
  // Only the source's best audio stream (av_find_best_stream), not every one.
  bool bestOnly = false;
  int64_t bitrate = 0;  // encoded tracks: bits per second (0: 128k AAC, 96k Opus)
  int channels = 0;     // encoded tracks: the default layout of this many channels (0: the source's)
};

class AudioMux {
 public:
  // Writes one packet into the output (the writer's interleaving muxer).
  using MuxFn = std::function<void(AVPacket* pkt, int outIndex)>;

  // Opens the source and adds an output stream to `oc` per audio stream (none
  // when the spec's mode is "none" or it names no source). Throws avcv::Error.
  AudioMux(const AudioSpec& spec, const std::string& container, AVFormatContext* oc, MuxFn mux);
  AudioMux(const AudioMux&) = delete;
  AudioMux& operator=(const AudioMux&) = delete;

  bool empty() const { return tracks_.empty(); }
  std::string mode() const;   // what is done: none | copy | encode
  std::string codec() const;  // the first track's output codec ("" for none)
  // Muxes the audio whose output time is before `until` seconds. `final`:
  // what lies beyond is trimmed and the encoders are drained.
  void pump(double until, bool final);
  double duration() const;  // seconds of audio written (after a final pump)
  // The writer's output was replaced (a reconnect): the same streams, at the
  // same indices, in a new context.
  void rebind(AVFormatContext* oc);

 private:
  struct Track {
    int inIndex = -1;
    int outIndex = -1;
    AVStream* inStream = nullptr;
    AVStream* outStream = nullptr;
    bool encode = false;
    CodecContextPtr dec, enc;
    SwrPtr swr;
    AudioFifoPtr fifo;
    std::unique_ptr<FilterGraph> graph;  // spec.filter
    FramePtr filtered;
    int64_t nextPts = 0;
    double lastEnd = 0;
  };
  void openEncoding(Track& t, AVStream* ost, bool webm, bool globalHeader);
  Track* trackFor(int inIndex);
  bool takePacket(double until, bool final, Track** track, double* outTime);
  void copyPacket(Track& t, AVPacket* p, double outTime);
  void decodeInto(Track& t, AVPacket* p, int64_t maxPts);  // p nullptr: the decoder's (and graph's) tail
  void openGraph(Track& t, AVChannelLayout* outLayout);
  void take(Track& t, AVFrame* f, AVRational tb, int64_t maxPts);  // a decoded or filtered frame -> FIFO -> encoder
  void resampleInto(Track& t, const uint8_t** data, int samples);
  void encodeFifo(Track& t, bool drain, int64_t maxPts);
  void drain(Track& t, double until);

  AudioSpec spec_;
  MuxFn mux_;
  OpenedInput in_;
  std::vector<Track> tracks_;
  bool eof_ = false;
  bool pending_ = false;  // pkt_ holds a packet beyond the current horizon
  PacketPtr pkt_;
  FramePtr frame_, decoded_;
  double duration_ = 0;
};

}  // namespace avcv
