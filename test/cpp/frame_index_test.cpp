// The frame index on hand-made packet lists, with hand-computed answers.
#include <gtest/gtest.h>

#include "frame_index.h"

using avcv::buildDecodedIndex;
using avcv::buildFrameIndex;
using avcv::DecodedFrame;
using avcv::FrameIndex;
using avcv::IndexEntry;
using avcv::kNoPts;
using avcv::needsDecoding;

namespace {

IndexEntry pk(int64_t pts, int64_t dts, bool key = false, bool discard = false) {
  IndexEntry e;
  e.pts = pts;
  e.dts = dts;
  e.pos = 1000 + dts * 10;
  e.key = key;
  e.discard = discard;
  return e;
}

std::vector<int32_t> v(std::initializer_list<int32_t> l) { return l; }

}  // namespace

TEST(FrameIndex, BFramesDisplayInPtsOrder) {
  // decode order I0 P3 B1 B2 P6 B4 B5
  std::vector<IndexEntry> p = {pk(0, -1, true), pk(3, 0), pk(1, 1), pk(2, 2), pk(6, 3), pk(4, 4), pk(5, 5)};
  EXPECT_EQ(needsDecoding(p, false, false), "");
  FrameIndex ix = buildFrameIndex(p, 1);
  EXPECT_EQ(ix.display, v({0, 2, 3, 1, 5, 6, 4}));
  EXPECT_EQ(ix.pts, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ix.rankOf, v({0, 3, 1, 2, 6, 4, 5}));
  EXPECT_EQ(ix.keys, v({0}));
  EXPECT_EQ(ix.startKey, v({0, 0, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(ix.discontinuous);
  EXPECT_FALSE(ix.decoded);
}

TEST(FrameIndex, OpenGopLeadingPicturesStartAGopEarlier) {
  // decode order: I0 P3 B1 B2 | I6(key, open) B4 B5 P9 B7 B8
  std::vector<IndexEntry> p = {pk(0, -1, true), pk(3, 0), pk(1, 1), pk(2, 2), pk(6, 3, true),
                               pk(4, 4),        pk(5, 5), pk(9, 6), pk(7, 7), pk(8, 8)};
  FrameIndex ix = buildFrameIndex(p, 1);
  EXPECT_EQ(ix.keys, v({0, 4}));
  // B4 and B5 (display 4, 5) come after I6 in decode order but are shown
  // before it: they need the GOP before
  EXPECT_EQ(ix.startKey, v({0, 0, 0, 0, 0, 0, 4, 4, 4, 4}));
  EXPECT_EQ(ix.keyframe, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(FrameIndex, SharedPtsNeedDecoding) {
  std::vector<IndexEntry> p = {pk(0, 0, true), pk(1, 1), pk(1, 2), pk(2, 3)};
  EXPECT_NE(needsDecoding(p, false, false).find("share a pts"), std::string::npos);
}

TEST(FrameIndex, WhyPacketsCannotSay) {
  std::vector<IndexEntry> clean = {pk(0, 0, true), pk(1, 1)};
  EXPECT_EQ(needsDecoding(clean, false, false), "");
  EXPECT_NE(needsDecoding(clean, true, false).find("raw stream"), std::string::npos);
  EXPECT_NE(needsDecoding(clean, false, true).find("failed"), std::string::npos);
  std::vector<IndexEntry> nopts = {pk(0, 0, true), pk(kNoPts, 1)};
  EXPECT_NE(needsDecoding(nopts, false, false).find("no pts"), std::string::npos);
  std::vector<IndexEntry> damaged = clean;
  damaged[1].corrupt = true;
  EXPECT_NE(needsDecoding(damaged, false, false).find("damaged"), std::string::npos);
  std::vector<IndexEntry> midGop = {pk(5, 5), pk(6, 6, true)};
  EXPECT_NE(needsDecoding(midGop, false, false).find("keyframe"), std::string::npos);
  // a discarded pre-roll before the first shown keyframe is fine
  std::vector<IndexEntry> preroll = {pk(-2, -2, false, true), pk(0, 0, true)};
  EXPECT_EQ(needsDecoding(preroll, false, false), "");
}

TEST(FrameIndex, ClockRestartsMakeSegmentsAndAContinuousTimeline) {
  // two files concatenated: the second's clock restarts at 0
  std::vector<IndexEntry> p = {pk(100, 100, true), pk(101, 101), pk(102, 102), pk(103, 103),
                               pk(0, 0, true),     pk(1, 1),     pk(2, 2)};
  FrameIndex ix = buildFrameIndex(p, 1);
  EXPECT_TRUE(ix.discontinuous);
  EXPECT_EQ(ix.packets[3].segment, 0);
  EXPECT_EQ(ix.packets[4].segment, 1);
  EXPECT_EQ(ix.display, v({0, 1, 2, 3, 4, 5, 6}));  // segment, then pts
  EXPECT_EQ(ix.pts, (std::vector<int64_t>{100, 101, 102, 103, 0, 1, 2}));
  EXPECT_EQ(ix.continuousPts, (std::vector<int64_t>{100, 101, 102, 103, 104, 105, 106}));
  EXPECT_EQ(ix.startKey, v({0, 0, 0, 0, 4, 4, 4}));  // never start in another segment
}

TEST(FrameIndex, EditListDiscardsAreNotFramesButMayBeStarts) {
  // I(pts 0, before the edit start) P(2) B(1, discarded) P(3)
  std::vector<IndexEntry> p = {pk(0, -1, true, true), pk(2, 0), pk(1, 1, false, true), pk(3, 2)};
  FrameIndex ix = buildFrameIndex(p, 1);
  EXPECT_EQ(ix.display, v({1, 3}));
  EXPECT_EQ(ix.rankOf, v({-1, 0, -1, 1}));
  EXPECT_EQ(ix.startKey, v({0, 0}));  // decoding starts at the discarded keyframe
}

TEST(FrameIndex, DecodedIndexFollowsTheDecoder) {
  // AVI-like: no pts; the decoder gave frames of packets 0, 2, 3, 1, 4 (reordered)
  std::vector<IndexEntry> p = {pk(kNoPts, 0, true), pk(kNoPts, 1), pk(kNoPts, 2), pk(kNoPts, 3), pk(kNoPts, 4, true)};
  std::vector<DecodedFrame> f = {
      {0, 0, true, false}, {2, 1, false, false}, {3, 2, false, true}, {1, 3, false, true}, {4, 4, true, false}};
  FrameIndex ix = buildDecodedIndex(p, f, 1, "test");
  EXPECT_TRUE(ix.decoded);
  EXPECT_EQ(ix.reason, "test");
  EXPECT_TRUE(ix.unusable.empty());
  EXPECT_EQ(ix.display, v({0, 2, 3, 1, 4}));
  EXPECT_EQ(ix.rankOf, v({0, 3, 1, 2, 4}));
  EXPECT_EQ(ix.pts, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ix.startKey, v({0, 0, 0, 0, 4}));
  EXPECT_TRUE(ix.frames[2].damaged);
  EXPECT_FALSE(ix.frames[4].damaged);
}

TEST(FrameIndex, DecodedIndexWithUntellableFramesIsUnusableButCounts) {
  std::vector<IndexEntry> p = {pk(kNoPts, 0, true), pk(kNoPts, 1)};
  FrameIndex twice = buildDecodedIndex(p, {{0, 0, true, false}, {0, 1, false, false}}, 1, "test");
  EXPECT_FALSE(twice.unusable.empty());
  EXPECT_EQ(twice.display.size(), 2u);
  FrameIndex stray = buildDecodedIndex(p, {{0, 0, true, false}, {kNoPts, 1, false, false}}, 1, "test");
  EXPECT_FALSE(stray.unusable.empty());
  EXPECT_EQ(stray.pts, (std::vector<int64_t>{0, 1}));
}
