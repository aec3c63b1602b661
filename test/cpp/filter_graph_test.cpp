// The graph-string checks of filter_graph.h (parsing, the file-opening
// filter refusal, the per-frame test) on hand-written graphs, and a graph
// run on hand-made frames with hand-computed pixels.
#include <gtest/gtest.h>

#include <functional>

#include "error.h"
#include "filter_graph.h"

extern "C" {
#include <libavutil/frame.h>
}

using avcv::checkGraphSafety;
using avcv::Error;
using avcv::parseGraphFilters;
using avcv::whyNotPerFrame;

namespace {

std::string codeOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return "";
}

}  // namespace

TEST(GraphParse, NamesArgsLabelsAndQuotes) {
  const auto g = parseGraphFilters(
      "sws_flags=lanczos; [in]split [a][b];[a] scale@s1=640:-2:flags=bicubic [x]; [b]drawtext=text='a,b;c' [y]");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].name, "split");
  EXPECT_EQ(g[0].args, "");
  EXPECT_EQ(g[1].name, "scale");  // the @id is not part of the name
  EXPECT_EQ(g[1].args, "640:-2:flags=bicubic");
  EXPECT_EQ(g[2].name, "drawtext");
  EXPECT_EQ(g[2].args, "text=a,b;c");  // quoted separators stay in the arguments, the quotes go
}

TEST(GraphParse, RefusesBrokenText) {
  EXPECT_EQ(codeOf([] { parseGraphFilters("[in"); }), "INVALID_FILTER");
  EXPECT_EQ(codeOf([] { parseGraphFilters(""); }), "INVALID_FILTER");
  EXPECT_EQ(codeOf([] { parseGraphFilters("sws_flags=bicubic"); }), "INVALID_FILTER");
}

TEST(GraphSafety, FileOpeningFiltersAndOptions) {
  const char* refused[] = {
      "movie=a.mp4",
      "hflip,amovie=x.wav",
      "subtitles=s.srt",
      "sendcmd=f=cmds.txt,hflip",
      "drawtext=/etc/fonts/x.ttf:text=hi",  // fontfile by position
      "drawtext=text=hi:textfile=/etc/passwd",
      "split[a][b];[a][b]psnr=stats_file=/tmp/x",
      "lut3d=file=x.cube",
      "zmq",
  };
  for (const char* g : refused) EXPECT_EQ(codeOf([&] { checkGraphSafety(g, "filter"); }), "NESTED_INPUT_BLOCKED") << g;
  const char* allowed[] = {"hflip", "scale=640:-2", "drawtext=text=hi:x=10", "eq=contrast=1.2", "psnr", "nosuchfilter"};
  for (const char* g : allowed) EXPECT_EQ(codeOf([&] { checkGraphSafety(g, "filter"); }), "") << g;
}

TEST(GraphPerFrame, StatelessFiltersOnly) {
  EXPECT_EQ(whyNotPerFrame("hflip,scale=320:-2,eq=contrast=1.2,crop=100:100:10:10"), "");
  EXPECT_EQ(whyNotPerFrame("crop=w=100:h=100:x='t*10'"), "");  // time, not a frame count
  EXPECT_NE(whyNotPerFrame("fps=10"), "");
  EXPECT_NE(whyNotPerFrame("hflip,yadif"), "");
  EXPECT_NE(whyNotPerFrame("crop=100:100:n:0"), "");
  EXPECT_NE(whyNotPerFrame("setpts=PTS*2"), "");
}

TEST(FilterGraphRun, HflipOfAGrayRamp) {
  avcv::FilterPad in;
  in.format = AV_PIX_FMT_GRAY8;
  in.width = 4;
  in.height = 2;
  in.timeBase = {1, 25};
  in.frameRate = {25, 1};
  avcv::FilterGraph g("hflip", {in}, 1, avcv::FilterGraphOptions());
  EXPECT_EQ(g.output(0).width, 4);
  AVFrame* f = av_frame_alloc();
  f->format = AV_PIX_FMT_GRAY8;
  f->width = 4;
  f->height = 2;
  ASSERT_GE(av_frame_get_buffer(f, 0), 0);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 4; x++) f->data[0][y * f->linesize[0] + x] = static_cast<uint8_t>(10 * y + x);
  f->pts = 7;
  g.push(f);
  AVFrame* out = av_frame_alloc();
  ASSERT_TRUE(g.pull(out));
  EXPECT_EQ(out->pts, 7);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 4; x++) EXPECT_EQ(out->data[0][y * out->linesize[0] + x], 10 * y + (3 - x));
  bool ended = false;
  EXPECT_FALSE(g.pull(out, 0, &ended));
  EXPECT_FALSE(ended);
  g.push(nullptr);
  EXPECT_FALSE(g.pull(out, 0, &ended));
  EXPECT_TRUE(ended);
  av_frame_free(&f);
  av_frame_free(&out);
}
