// A live HLS output: frames from a source (here a file; a camera works the
// same) encoded with a keyframe every 2 s into 2 s segments, the playlist
// keeping the last 5; segments and playlists are renamed into place, so a
// player never reads half a file. (For a video on demand in several
// renditions, see hls-ladder.mjs: ladder().)
//
//   node examples/hls-live.mjs in.mp4 out/stream.m3u8
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { VideoReader, VideoWriter } from 'avcv';

const [input, playlist] = process.argv.slice(2);
if (!input || !playlist) {
  console.error('usage: node examples/hls-live.mjs <input> <playlist.m3u8>');
  process.exit(2);
}
mkdirSync(dirname(playlist), { recursive: true });

const reader = await VideoReader.open(input, { format: 'yuv420p' }); // no RGB round trip
const { width, height, fps } = reader.info;
const writer = await VideoWriter.open(playlist, {
  width, height, fps, inputFormat: 'yuv420p', codec: 'h264', preset: 'veryfast',
  gop: Math.round(fps * 2), hls: { segmentDuration: 2, listSize: 5 },
  audio: { from: input }, // the source's audio goes along
});
try {
  for await (const f of reader) await writer.write(f);
  const s = await writer.close();
  console.log(JSON.stringify({ playlist, frames: s.frames, audio: s.audioMode }));
} finally {
  await writer.abort();
  await reader.close();
}
