#include "frame_index.h"

#include <algorithm>

namespace avcv {

void markSegments(std::vector<IndexEntry>* packets) {
  int64_t lastDts = kNoPts;
  int32_t seg = 0;
  for (IndexEntry& e : *packets) {
    if (e.dts != kNoPts) {
      if (lastDts != kNoPts && e.dts < lastDts) seg++;
      lastDts = e.dts;
    }
    e.segment = seg;
  }
}

std::string needsDecoding(const std::vector<IndexEntry>& packets, bool generatedTimestamps, bool scanErrors) {
  if (generatedTimestamps) return "a raw stream: its timestamps are generated, not stored";
  if (scanErrors) return "reading its packets failed part of the way";
  bool first = true;
  std::vector<const IndexEntry*> shown;
  for (const IndexEntry& e : packets) {
    if (e.corrupt) return "it has damaged packets";
    if (e.discard) continue;
    if (first && !e.key) return "it does not start on a keyframe";
    first = false;
    if (e.pts == kNoPts) return "its packets carry no pts (e.g. AVI with B-frames)";
    shown.push_back(&e);
  }
  std::stable_sort(shown.begin(), shown.end(), [](const IndexEntry* a, const IndexEntry* b) {
    return a->segment != b->segment ? a->segment < b->segment : a->pts < b->pts;
  });
  for (size_t i = 1; i < shown.size(); i++)
    if (shown[i]->segment == shown[i - 1]->segment && shown[i]->pts == shown[i - 1]->pts) return "frames share a pts";
  return "";
}

namespace {

// rankOf, keys, startKey and the continuous timeline, from packets, display and pts.
void finish(FrameIndex* ix, int64_t defaultDuration) {
  const int32_t np = static_cast<int32_t>(ix->packets.size());
  const int32_t n = static_cast<int32_t>(ix->display.size());
  ix->rankOf.assign(np, -1);
  for (int32_t j = 0; j < n; j++) ix->rankOf[ix->display[j]] = j;
  ix->keys.clear();
  for (int32_t i = 0; i < np; i++)
    if (ix->packets[i].key) ix->keys.push_back(i);
  ix->discontinuous = np > 0 && ix->packets[np - 1].segment > 0;
  // Decoding for frame j starts at the last keyframe at or before its packet
  // (decode order) that is not shown after it: an open GOP's leading pictures
  // need the GOP before. Never in another segment; with no such keyframe, at
  // the segment's first packet.
  ix->startKey.resize(n);
  for (int32_t j = 0; j < n; j++) {
    const int32_t d = ix->display[j];
    const int32_t seg = ix->packets[d].segment;
    int32_t k = -1;
    for (auto it = std::upper_bound(ix->keys.begin(), ix->keys.end(), d); it != ix->keys.begin();) {
      --it;
      if (ix->packets[*it].segment != seg) break;
      if (ix->rankOf[*it] <= j) {
        k = *it;
        break;
      }
    }
    if (k < 0) {
      k = d;
      while (k > 0 && ix->packets[k - 1].segment == seg) k--;
    }
    ix->startKey[j] = k;
  }
  // the continuous timeline sequential reading gives frame.time
  ix->continuousPts.resize(n);
  ContinuousClock clock(defaultDuration);
  for (int32_t j = 0; j < n; j++) ix->continuousPts[j] = clock.next(ix->pts[j]);
}

}  // namespace

FrameIndex buildFrameIndex(std::vector<IndexEntry> packets, int64_t defaultDuration) {
  FrameIndex ix;
  ix.packets = std::move(packets);
  markSegments(&ix.packets);
  const int32_t np = static_cast<int32_t>(ix.packets.size());
  for (int32_t i = 0; i < np; i++)
    if (!ix.packets[i].discard) ix.display.push_back(i);
  std::stable_sort(ix.display.begin(), ix.display.end(), [&](int32_t a, int32_t b) {
    const IndexEntry& x = ix.packets[a];
    const IndexEntry& y = ix.packets[b];
    return x.segment != y.segment ? x.segment < y.segment : x.pts < y.pts;
  });
  for (int32_t d : ix.display) {
    ix.pts.push_back(ix.packets[d].pts != kNoPts ? ix.packets[d].pts : ix.packets[d].dts);
    ix.keyframe.push_back(ix.packets[d].key ? 1 : 0);
  }
  finish(&ix, defaultDuration);
  return ix;
}

FrameIndex buildDecodedIndex(std::vector<IndexEntry> packets, std::vector<DecodedFrame> frames, int64_t defaultDuration,
                             std::string reason) {
  FrameIndex ix;
  ix.packets = std::move(packets);
  markSegments(&ix.packets);
  ix.decoded = true;
  ix.reason = std::move(reason);
  const int64_t np = static_cast<int64_t>(ix.packets.size());
  std::vector<uint8_t> seen(ix.packets.size(), 0);
  for (const DecodedFrame& f : frames) {
    if (f.packet < 0 || f.packet >= np) {
      if (ix.unusable.empty()) ix.unusable = "the decoder gives frames that no packet can be matched to";
      ix.display.push_back(0);
    } else {
      if (seen[f.packet] && ix.unusable.empty()) ix.unusable = "the decoder gives several frames for one packet";
      seen[f.packet] = 1;
      ix.display.push_back(static_cast<int32_t>(f.packet));
    }
    ix.pts.push_back(f.pts);
    ix.keyframe.push_back(f.key ? 1 : 0);
  }
  finish(&ix, defaultDuration);
  if (!ix.unusable.empty()) ix.rankOf.assign(ix.packets.size(), -1);  // nothing can be found again
  ix.frames = std::move(frames);
  return ix;
}

}  // namespace avcv
