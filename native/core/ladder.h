// An adaptive-streaming ladder from one decode: the source's video is
// decoded once and every decoded frame is handed (by reference) to one
// encoder thread per rendition, each scaling it to its size and encoding it
// into its own segmenting muxer (libav's hls muxer: fMP4 or MPEG-TS
// segments). Keyframes are forced on every rendition at the same frames, the
// first whose time reaches each multiple of the segment duration, which is
// exactly where the hls muxer cuts (it compares the same times), so the
// segments of all renditions start at identical timestamps. The source's
// audio is decoded and encoded once, into an audio-only rendition of its own
// (the group every video rendition refers to), on a thread of its own kept
// up to the decoded video's time. Playlists and manifests are written by
// lib/ from what this returns and from the files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "transcode.h"
#include "video_writer.h"

namespace avcv {

struct LadderOptions {
  ReaderOptions reader;  // rawFrames, yuv420p and no resize are set by ladder()
  // One per rendition: container (hls), path (its playlist), muxerOptions
  // (the segmenting), width/height, codec and rate control. frameInput, fps,
  // time base, colour tags and gop are set by ladder().
  std::vector<WriterOptions> renditions;
  // The audio rendition: path '' = none; container, muxerOptions and
  // audio (mode encode, the source, bitrate, channels) as for a writer.
  WriterOptions audio;
  double segmentDuration = 6;  // seconds (the hls muxer's hls_time)
  // Per rendition (empty or 0: none): the highest frame rate it keeps.
  // Frames are dropped to the first of each 1/maxFps slot from the first
  // frame (their timestamps unchanged); a segment's first frame is always kept.
  std::vector<double> maxFps;
};

struct LadderResult {
  DeviceChoice device;
  std::string decoder;
  int64_t framesIn = 0;
  Rational timeBase{1, 1};  // of the video timestamps below
  // where each segment starts (pts relative to the first frame): the frames
  // whose keyframes were forced
  std::vector<int64_t> segmentStarts;
  int64_t end = 0;  // the video's end (last pts + its duration)
  std::vector<WriterStats> renditions;
  std::string audioMode = "none", audioCodec;
  double audioDuration = 0;
  int64_t audioPackets = 0;
  ReaderStats reader;
};

// Runs the whole job (every rendition complete when it returns). Throws
// avcv::Error (ABORTED after ctl.cancel()); the caller removes what was
// written. ctl.frames counts the frames every rendition has encoded.
LadderResult ladder(const LadderOptions& opts, TranscodeControl& ctl);

}  // namespace avcv
