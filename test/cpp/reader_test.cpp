// The decode loop end to end on media the ffmpeg CLI makes here: frameAt(i)
// (the loop with a predicate, after seeks) gives sequential frame i (the loop
// taking every frame), for an index built from packets and one built by
// decoding; the option tables round-trip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "error.h"
#include "image.h"
#include "video_reader.h"

namespace {

// A temp folder removed with it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/avcv-core-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    path = d;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  operator const std::string&() const { return path; }
};

std::string make(const std::string& dir, const std::string& name, const std::string& encode) {
  const std::string out = dir + "/" + name;
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=96x64:rate=25 "
      "-frames:v 48 " +
      encode + " " + out;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
  return out;
}

struct Frames {
  std::vector<std::vector<uint8_t>> data;
  std::vector<int64_t> pts;
};

avcv::ReaderOptions grayOf(const std::string& file) {
  avcv::ReaderOptions o;
  o.input.source = file;
  o.format = avcv::PixFmt::GRAY;
  return o;
}

Frames sequential(const std::string& file) {
  auto r = avcv::VideoReader::open(grayOf(file));
  Frames f;
  std::vector<uint8_t> buf(r->output().bytes + avcv::kDstPadding);
  avcv::FrameMeta m;
  while (r->next(buf.data(), &m)) {
    f.data.emplace_back(buf.begin(), buf.begin() + r->output().bytes);
    f.pts.push_back(m.pts);
  }
  return f;
}

void randomAccessMatches(const std::string& file, bool expectDecoded) {
  const Frames seq = sequential(file);
  ASSERT_EQ(seq.data.size(), 48u);
  auto ra = avcv::VideoReader::open(grayOf(file));
  const avcv::FrameIndex& ix = ra->index();
  EXPECT_EQ(ix.decoded, expectDecoded) << ix.reason;
  ASSERT_EQ(ix.display.size(), seq.data.size());
  EXPECT_EQ(ix.pts, seq.pts);
  std::vector<int64_t> order(seq.data.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int64_t>(i);
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  // a shuffled pass (seeks), then an ascending one (the run continues)
  std::vector<int64_t> asc(order);
  std::sort(asc.begin(), asc.end());
  order.insert(order.end(), asc.begin(), asc.end());
  std::vector<uint8_t> buf(ra->output().bytes + avcv::kDstPadding);
  for (int64_t i : order) {
    avcv::FrameMeta m;
    ra->frameAt(i, buf.data(), &m);
    EXPECT_EQ(m.index, i);
    EXPECT_EQ(m.pts, seq.pts[i]) << "frame " << i;
    EXPECT_TRUE(std::equal(seq.data[i].begin(), seq.data[i].end(), buf.begin())) << "frame " << i << " of " << file;
  }
}

}  // namespace

TEST(DecodeLoop, FrameAtEqualsSequentialWithAPacketIndex) {
  const TempDir dir;
  randomAccessMatches(make(dir, "bf.mp4", "-c:v libx264 -pix_fmt yuv420p -g 12 -bf 3"), false);
}

TEST(DecodeLoop, FrameAtEqualsSequentialWithADecodedIndex) {
  const TempDir dir;
  // AVI with B-frames: packets carry no pts
  randomAccessMatches(make(dir, "bf.avi", "-c:v mpeg4 -bf 2 -g 12"), true);
  // a raw stream: its timestamps are generated
  randomAccessMatches(make(dir, "raw.h264", "-c:v libx264 -pix_fmt yuv420p -g 12 -bf 2 -f h264"), true);
}

TEST(DecodeLoop, OutOfRangeAndInterruptedAreErrors) {
  const TempDir dir;
  const std::string file = make(dir, "c.mp4", "-c:v libx264 -pix_fmt yuv420p -g 12");
  auto ra = avcv::VideoReader::open(grayOf(file));
  std::vector<uint8_t> buf(ra->output().bytes + avcv::kDstPadding);
  avcv::FrameMeta m;
  EXPECT_THROW(ra->frameAt(48, buf.data(), &m), avcv::Error);
  ra->interrupt();
  try {
    ra->frameAt(40, buf.data(), &m);
    FAIL() << "an interrupted reader decoded";
  } catch (const avcv::Error& e) {
    EXPECT_EQ(e.code(), "ABORTED");
  }
}

TEST(OptionTables, PixelFormatsLayoutsInterpolationsRoundTrip) {
  for (const char* name : {"bgr24", "rgb24", "gray", "bgra", "rgba", "yuv420p", "nv12"}) {
    avcv::PixFmt f;
    ASSERT_TRUE(avcv::parsePixFmt(name, &f)) << name;
    EXPECT_STREQ(avcv::pixFmtName(f), name);
  }
  avcv::PixFmt f;
  EXPECT_FALSE(avcv::parsePixFmt("BGR24", &f));
  EXPECT_FALSE(avcv::parsePixFmt("yuv444p", &f));
  for (const char* name : {"hwc", "chw", "planar"}) {
    avcv::Layout l;
    ASSERT_TRUE(avcv::parseLayout(name, &l));
    EXPECT_STREQ(avcv::layoutName(l), name);
  }
  int flags = 0;
  EXPECT_TRUE(avcv::parseInterpolation("bicubic", &flags));
  EXPECT_EQ(flags, SWS_BICUBIC);
  EXPECT_TRUE(avcv::parseInterpolation("area", &flags));
  EXPECT_EQ(flags, SWS_AREA);
  EXPECT_FALSE(avcv::parseInterpolation("cubic", &flags));
}

TEST(OptionTables, ImageSizesAreHandComputed) {
  using avcv::describeImage;
  EXPECT_EQ(describeImage(avcv::PixFmt::BGR24, avcv::Layout::HWC, 854, 480).bytes, 854u * 480 * 3);
  EXPECT_EQ(describeImage(avcv::PixFmt::RGBA, avcv::Layout::CHW, 13, 7).bytes, 13u * 7 * 4);
  EXPECT_EQ(describeImage(avcv::PixFmt::GRAY, avcv::Layout::HWC, 5, 3).bytes, 15u);
  const avcv::ImageDesc y = describeImage(avcv::PixFmt::YUV420P, avcv::Layout::PLANAR, 6, 4);
  EXPECT_EQ(y.bytes, 36u);
  EXPECT_EQ(y.offset[1], 24u);
  EXPECT_EQ(y.offset[2], 30u);
  const avcv::ImageDesc n = describeImage(avcv::PixFmt::NV12, avcv::Layout::PLANAR, 6, 4);
  EXPECT_EQ(n.planes, 2);
  EXPECT_EQ(n.linesize[1], 6);
  // rgb24 chw: plane k is channel k (R, G, B); libav's GBRP planes are G, B, R
  const avcv::ImageDesc c = describeImage(avcv::PixFmt::RGB24, avcv::Layout::CHW, 4, 2);
  EXPECT_EQ(c.offset[0], 8u);   // G
  EXPECT_EQ(c.offset[1], 16u);  // B
  EXPECT_EQ(c.offset[2], 0u);   // R
  EXPECT_THROW(describeImage(avcv::PixFmt::YUV420P, avcv::Layout::PLANAR, 5, 4), avcv::Error);
  EXPECT_THROW(describeImage(avcv::PixFmt::YUV420P, avcv::Layout::CHW, 6, 4), avcv::Error);
  EXPECT_THROW(describeImage(avcv::PixFmt::BGR24, avcv::Layout::HWC, 0, 4), avcv::Error);
}
