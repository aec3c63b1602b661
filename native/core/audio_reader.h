// Sequential audio decoding into caller memory: demux -> decode -> (the
// frame stage, where a filter graph will go) -> one swresample pass
// (sample rate + channel layout + sample format + interleaved/planar) straight
// into the caller's buffer. Sample positions are counted on the output: sample
// i of the stream lies at startTime() + i / sampleRate().
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "error.h"
#include "ffptr.h"
#include "filter_graph.h"
#include "input.h"
#include "log.h"
#include "probe.h"

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace avcv {

struct AudioReaderOptions {
  InputOptions input;
  int stream = -1;          // -1: libav's best audio stream
  int sampleRate = 0;       // output rate, 0 = the source's
  int channels = 0;         // output channels, 0 = the source's (its layout); else libav's default layout for N
  bool s16 = false;         // sample format: s16 (true) | f32
  bool planar = false;      // channel 0's samples, then channel 1's, ... (false: interleaved)
  double start = 0;         // seconds: the window [start, end) sequential reading covers
  double end = -1;          // < 0: to the end
  int chunkSamples = 4096;  // samples per channel of a chunk (the last may be shorter)
  bool corruptIsError = false;
  // A libavfilter graph between decoding and resampling ('' = none), fed as
  // the CLI feeds -af. The output rate defaults to the source's, the
  // channels to the graph's.
  std::string filter;
  bool keepFilterLog = false;  // keep what the graph logs at info level (finishFilter())
};

struct AudioChunkMeta {
  int64_t samples = 0;  // per channel
  int64_t index = 0;    // the first sample's position on the output (0 = the stream's first sample)
  int64_t pts = 0;      // the first sample's time in 1/sampleRate units: round(startTime * rate) + index
  double time = 0;      // the first sample's time in seconds: startTime + index / rate
};

struct AudioStats {
  int64_t framesDecoded = 0;
  int64_t packetsRead = 0;
  int64_t corruptPackets = 0;
  int64_t corruptFrames = 0;
  int64_t decodeErrors = 0;
  int64_t demuxErrors = 0;
  bool truncated = false;
  std::string lastError;
};

// Output samples of a range, one buffer per plane (one for interleaved output).
struct AudioBlock {
  std::vector<std::vector<uint8_t>> planes;
  AudioChunkMeta meta;
};

// Reads the stream to its end through opts.filter (a measuring graph, e.g.
// loudnorm=...:print_format=json) and returns what the graph's filters logged
// at info level once it was freed. Throws avcv::Error.
std::string measureWithFilter(AudioReaderOptions opts, std::shared_ptr<std::atomic<bool>> cancel);

class AudioReader {
 public:
  // Opens the source, picks the stream, opens the decoder and decodes the
  // first frame (its format and time are the source's). Setting `cancel`
  // (from any thread) interrupts the open and everything after. Throws
  // avcv::Error.
  static std::unique_ptr<AudioReader> open(const AudioReaderOptions& opts, std::shared_ptr<std::atomic<bool>> cancel);
  ~AudioReader();

  // The next chunk of the options' window into dst, which must hold
  // chunkSamples * channels * bytesPerSample() bytes. Returns the samples per
  // channel written (planar: planes of that length, one after the other);
  // 0 at the end. Throws avcv::Error.
  int64_t next(uint8_t* dst, AudioChunkMeta* meta);
  // Output samples [first, last) (last < 0: to the end), no more than
  // maxValues samples across all channels (more is an INVALID_ARGUMENT
  // error). Continues from position(), which must not be past `first`.
  void readRange(int64_t first, int64_t last, int64_t maxValues, AudioBlock* out);

  // The output sample at `seconds`: round((seconds - startTime) * rate),
  // at least 0 (TorchCodec's samples "played in" a range).
  int64_t sampleAt(double seconds) const;
  int64_t position() const { return produced_; }  // the next output sample

  void interrupt() { cancel_->store(true); }

  const AudioReaderOptions& options() const { return opts_; }
  const ProbeResult& container() const { return container_; }
  const StreamProbe& stream() const { return container_.streams[streamIndex_]; }
  std::string decoderName() const;
  int sampleRate() const { return outRate_; }
  int channels() const { return outLayout_.nb_channels; }
  std::string channelLayout() const { return layoutName(&outLayout_); }
  int bytesPerSample() const { return opts_.s16 ? 2 : 4; }
  int sourceSampleRate() const { return srcRate_; }
  int sourceChannels() const { return srcLayout_.nb_channels; }
  std::string sourceChannelLayout() const { return layoutName(&srcLayout_); }
  std::string sourceSampleFormat() const;
  double startTime() const { return startTime_; }  // seconds of the first decoded sample
  AudioStats stats() const;
  // Frees the filter graph and returns what its filters logged at info level
  // (options().keepFilterLog): loudnorm prints its measurements then.
  std::string finishFilter();

 private:
  AudioReader() = default;
  void openStream();
  void openDecoder();
  void planOutput();  // source format from the first frame, output format from the options

  // ---- decoding ----
  bool decodeFrame();  // the next decoded frame into decoded_; false at the end
  bool readAndSend();  // one demux step; false once the flush packet went
  void noteDecodeError(int ret);
  void checkCorrupt(const AVFrame* f);
  void checkTruncation();
  void endOfStream();  // throws DECODE when a stream that declares content gave nothing
  // The frame stage: the frames that reach the resampler, into frame_. Now
  // the decoded frames as they are; a filter graph goes here (decoded_ into
  // its buffer source, frame_ from its sink).
  bool nextFrame();
  bool filterFrame();                           // nextFrame() through the graph
  void buildGraph(const AVFrame* f);            // for decoded frames like f (rebuilt when their format changes)
  double frameSeconds(const AVFrame* f) const;  // the frame's first sample, in seconds

  // ---- resampling ----
  void openResampler(const AVFrame* f);
  bool formatChanged(const AVFrame* f) const;
  // Up to `count` output samples per channel into planes[] (one pointer for
  // interleaved output, one per channel for planar); fewer only at the end.
  int pull(uint8_t* const* planes, int count);
  int convert(uint8_t* const* planes, int offset, int count, const uint8_t* const* in, int inCount);
  void skipTo(int64_t sample);  // discards output samples before `sample`
  static std::string layoutName(const AVChannelLayout* l);

  std::shared_ptr<std::atomic<bool>> cancel_;
  std::unique_ptr<LogCatcher> log_ = std::make_unique<LogCatcher>();
  AudioReaderOptions opts_;
  OpenedInput input_;
  ProbeResult container_;
  int streamIndex_ = 0;
  AVStream* st_ = nullptr;
  CodecContextPtr dec_;
  PacketPtr pkt_;
  FramePtr decoded_, frame_;
  std::unique_ptr<FilterGraph> graph_;  // opts_.filter
  bool graphFlushed_ = false;
  SwrPtr swr_;
  AVChannelLayout swrInLayout_{};
  int swrInRate_ = 0, swrInFormat_ = -1;

  int srcRate_ = 0;
  AVChannelLayout srcLayout_{};
  int srcFormat_ = -1;
  int outRate_ = 0;
  AVChannelLayout outLayout_{};
  AVSampleFormat outFormat_ = AV_SAMPLE_FMT_FLT;
  double startTime_ = 0;
  int64_t firstSample_ = 0, lastSample_ = -1;  // the options' window on the output

  bool pending_ = false;   // frame_ holds a frame not yet given to the resampler
  bool draining_ = false;  // flushing the resampler (the end, or a format change when pending_)
  bool ended_ = false;     // everything was output
  bool flushed_ = false;   // the decoder got its flush packet
  bool decoderDone_ = false;
  bool started_ = false;  // next() skipped to the window's start
  int64_t produced_ = 0;  // output samples given out or skipped
  int64_t streamPackets_ = 0;
  int indexedAtOpen_ = 0;
  int consecutiveDemuxErrors_ = 0;
  int postFlushErrors_ = 0;
  std::vector<uint8_t> scratch_;  // skipped samples land here
  mutable std::mutex statsMu_;
  AudioStats stats_;
};

}  // namespace avcv
