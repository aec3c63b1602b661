// ladder() end to end on media the ffmpeg CLI makes here: the segment starts
// (the frames whose keyframes are forced) against hand-computed times, for
// a constant frame rate and for a gap longer than a segment, and the hls
// muxer's cuts in every rendition falling on exactly those frames (as many
// segment files as starts).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ladder.h"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/avcv-ladder-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    path = d;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void ffmpeg(const std::string& args) {
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -nostdin -y " + args;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
}

avcv::WriterOptions rendition(const std::string& dir, int w, int h) {
  std::filesystem::create_directories(dir);
  avcv::WriterOptions o;
  o.path = dir + "/index.m3u8";
  o.container = "hls";
  o.width = w;
  o.height = h;
  o.codec = "libx264";
  o.preset = "ultrafast";
  o.muxerOptions = {{"hls_time", "1"},
                    {"hls_playlist_type", "vod"},
                    {"hls_list_size", "0"},
                    {"hls_segment_type", "fmp4"},
                    {"hls_segment_filename", dir + "/seg_%05d.m4s"}};
  return o;
}

size_t segmentFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".m4s") n++;
  return n;
}

avcv::LadderResult run(const std::string& src, const std::string& dir) {
  avcv::LadderOptions o;
  o.reader.input.source = src;
  o.renditions = {rendition(dir + "/a", 96, 64), rendition(dir + "/b", 48, 32)};
  o.segmentDuration = 1;
  avcv::TranscodeControl ctl;
  return avcv::ladder(o, ctl);
}

std::vector<double> seconds(const avcv::LadderResult& r) {
  std::vector<double> s;
  for (int64_t p : r.segmentStarts) s.push_back(static_cast<double>(p) * r.timeBase.num / r.timeBase.den);
  return s;
}

}  // namespace

TEST(Ladder, ConstantRateSegmentsStartEverySegmentDuration) {
  TempDir t;
  const std::string src = t.path + "/cfr.mp4";
  ffmpeg("-f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 60 -c:v libx264 -pix_fmt yuv420p " + src);
  const avcv::LadderResult r = run(src, t.path);
  EXPECT_EQ(r.framesIn, 60);
  // frames every 40 ms: the first at or after 0, 1 and 2 s are frames 0, 25 and 50
  const std::vector<double> s = seconds(r);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 1.0);
  EXPECT_DOUBLE_EQ(s[2], 2.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(r.end) * r.timeBase.num / r.timeBase.den, 2.4);
  EXPECT_EQ(segmentFiles(t.path + "/a"), 3u);
  EXPECT_EQ(segmentFiles(t.path + "/b"), 3u);
}

TEST(Ladder, AGapLongerThanASegmentCutsOncePerBoundaryAsTheMuxerCounts) {
  TempDir t;
  const std::string src = t.path + "/gap.mkv";
  // 10 frames 40 ms apart, then a jump: frame 10 at 2.5 s, then 40 ms apart again
  ffmpeg(
      "-f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 30 -vf \"settb=1/1000,setpts='if(lt(N,10),40*N,2100+40*N)'\" "
      "-fps_mode passthrough -enc_time_base 1:1000 -c:v libx264 -pix_fmt yuv420p " +
      src);
  const avcv::LadderResult r = run(src, t.path);
  // boundaries 1 s, 2 s, 3 s: the gap passes two of them, and the muxer,
  // which counts one boundary per cut, cuts at 2.5 s (for 1 s) and again at
  // the next frame, 2.54 s (for 2 s); then 3 s
  const std::vector<double> s = seconds(r);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 2.5);
  EXPECT_DOUBLE_EQ(s[2], 2.54);
  EXPECT_DOUBLE_EQ(s[3], 3.02);
  EXPECT_EQ(segmentFiles(t.path + "/a"), 4u);
  EXPECT_EQ(segmentFiles(t.path + "/b"), 4u);
}
