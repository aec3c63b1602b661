// The frame index: what sequential decoding of a stream yields, frame by
// frame, and where decoding must start for each frame. Pure functions over
// packet and frame lists (no libav calls), so they are testable alone.
//
// Frames are identified by the packet that carried their picture (its
// decode-order number travels through the decoder in AVFrame's
// reordered_opaque), never by timestamps: after a seek, raw streams and AVI
// regenerate or lack timestamps, and duplicate or missing pts would make a
// pts match land on another frame.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace avcv {

constexpr int64_t kNoPts = INT64_MIN;  // == AV_NOPTS_VALUE

// One packet of the indexed stream, in decode order, as the demuxer gave it.
struct IndexEntry {
  int64_t pts = kNoPts;
  int64_t dts = kNoPts;
  int64_t pos = -1;
  bool key = false;
  bool discard = false;  // before an edit list's start: decoded, never shown
  bool corrupt = false;  // the demuxer flagged it (e.g. cut short)
  int32_t segment = 0;   // timestamp discontinuities (dts going back) start a new one
};

// One frame of sequential decoding, in output order.
struct DecodedFrame {
  int64_t packet = -1;   // the tag it came out with: the decode-order number of its packet
  int64_t pts = kNoPts;  // as the reader reports it (best effort, synthesised where missing)
  bool key = false;
  bool damaged = false;  // decoded after damage (a decode error or a corrupt frame) and before a clean keyframe
};

struct FrameIndex {
  std::vector<IndexEntry> packets;     // decode order
  std::vector<int32_t> display;        // display index -> packet whose picture it is
  std::vector<int64_t> pts;            // display index -> pts as sequential reading reports it
  std::vector<uint8_t> keyframe;       // display index -> key frame
  std::vector<int32_t> rankOf;         // packet -> display index, -1 when it yields no frame
  std::vector<int32_t> startKey;       // display index -> packet to start decoding from
  std::vector<int32_t> keys;           // key packets, decode order
  std::vector<int64_t> continuousPts;  // display index -> pts made continuous across clock restarts
  bool discontinuous = false;          // the clock restarts: seek by byte position
  bool decoded = false;                // built by decoding the stream (see reason)
  std::string reason;                  // why packets alone could not say what decoding yields
  std::string unusable;                // non-empty: frames cannot be found again after a seek (why)
  std::vector<DecodedFrame> frames;    // decoded index: display index -> the frame as decoding gave it
};

// The continuous timeline, one frame at a time in display order: where a pts
// does not advance (the clock restarts, as in concatenated MPEG-TS), the
// frames go on one frame duration after the last. The index and sequential
// reading share it, so a frame's time finds that frame again.
class ContinuousClock {
 public:
  explicit ContinuousClock(int64_t step = 1) : step_(step > 0 ? step : 1) {}
  void setStep(int64_t step) { step_ = step > 0 ? step : 1; }
  int64_t next(int64_t pts) {
    int64_t t = pts + offset_;
    if (started_ && t <= last_) {
      offset_ = last_ + step_ - pts;
      t = pts + offset_;
    }
    started_ = true;
    last_ = t;
    return t;
  }

 private:
  int64_t step_;
  int64_t offset_ = 0;
  int64_t last_ = 0;
  bool started_ = false;
};

// Segments from dts going back (only a real dts can say the clock restarted).
void markSegments(std::vector<IndexEntry>* packets);

// Why the packets alone cannot describe what decoding yields; empty when they
// can: every shown packet has a pts, pts strictly increase within a segment
// in display order, no packet is damaged, the stream starts on a keyframe and
// its timestamps are the container's own (not generated for a raw stream).
std::string needsDecoding(const std::vector<IndexEntry>& packets, bool generatedTimestamps, bool scanErrors);

// Index from packets alone (display order = pts order within segments).
FrameIndex buildFrameIndex(std::vector<IndexEntry> packets, int64_t defaultDuration);

// Index from one sequential decode: `frames` in output order, each tagged
// with its packet's decode-order number.
FrameIndex buildDecodedIndex(std::vector<IndexEntry> packets, std::vector<DecodedFrame> frames, int64_t defaultDuration,
                             std::string reason);

}  // namespace avcv
