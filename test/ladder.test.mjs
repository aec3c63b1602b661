// ladder(): one source to an HLS/DASH ladder. Checked with references
// independent of avcv: hls-parser (strict) and mpd-parser read the
// playlists and the MPD, ffprobe reads every segment (keyframe first,
// start times, durations, profile and level), the test measures the bit
// rates itself from the files, and real players (hls.js and dash.js in
// Debian's chromium) play every rendition to the end.
import { test, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import HLS from 'hls-parser';
import { parse as parseMpd } from 'mpd-parser';
import { ladder, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, ffprobe, runCli } from './helpers.mjs';
import { play } from './player.mjs';

const T = 180_000;
const dir = tempDir('avcv-ladder-');
const src = {};
const AAC_FRAME = 1024 / 48000;

beforeAll(() => {
  // 640x360 at 30 fps, B-frames, moving content (rate control has work), stereo AAC, 9.5 s
  src.main = join(dir, 'main.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '9.5', '-ac', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src.main]);
  // variable frame rate (gaps of 30 ms + 1.6 ms x N, 90 frames), audio longer than the video
  src.vfr = join(dir, 'vfr.mkv');
  const vfrVideo = join(dir, 'vfr-video.mkv');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '90', '-vf', "settb=1/1000,setpts='30*N+N*N/25'",
    '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-bf', '2', '-pix_fmt', 'yuv420p', vfrVideo]);
  ffmpeg(['-i', vfrVideo, '-f', 'lavfi', '-t', '3.2', '-i', 'sine=frequency=300:sample_rate=48000', '-c:v', 'copy', '-c:a', 'aac', src.vfr]);
  src.audioOnly = join(dir, 'audio.m4a');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:a', 'aac', src.audioOnly]);
}, T);

/**
 * A rendition as the references see it: its playlist read by hls-parser,
 * then the init segment and every media segment joined into one file and
 * read by ffprobe, each packet placed in its segment by its byte position
 * (one reading, so the timestamps are on one timeline). A segment's
 * duration is the time to the next one's first frame; the last one's ends
 * one frame step (`step`) after its last frame (packet durations are not
 * used: ffprobe does not report them for fragments with negative composition
 * offsets).
 */
function measure(root, playlistUri, kind, step = 0) {
  const folder = join(root, playlistUri, '..');
  const media = HLS.parse(readFileSync(join(root, playlistUri), 'utf8'));
  assert.equal(media.isMasterPlaylist, false);
  assert.equal(media.endlist, true);
  const parts = [];
  const init = media.segments[0].map ? join(folder, media.segments[0].map.uri) : null;
  if (init) {
    assert.ok(existsSync(init), `${media.segments[0].map.uri} exists`);
    parts.push(readFileSync(init));
  }
  const ranges = [];
  let offset = init ? parts[0].length : 0;
  for (const s of media.segments) {
    const file = join(folder, s.uri);
    assert.ok(existsSync(file), `${s.uri} exists`);
    assert.ok(s.duration <= media.targetDuration, `EXTINF ${s.duration} within the target duration ${media.targetDuration}`);
    const b = readFileSync(file);
    parts.push(b);
    ranges.push([offset, offset + b.length]);
    offset += b.length;
  }
  const joined = join(dir, `joined-${Math.random().toString(36).slice(2)}.${init ? 'mp4' : 'ts'}`);
  writeFileSync(joined, Buffer.concat(parts));
  const p = ffprobe(joined, ['-select_streams', kind === 'video' ? 'v:0' : 'a:0', '-show_entries',
    'packet=pts,pos,flags:stream=time_base,codec_name,codec_tag_string,profile,level,width,height', '-show_packets', '-show_streams']);
  const st = p.streams[0];
  const [num, den] = st.time_base.split('/').map(Number);
  const segs = media.segments.map((s, k) => {
    const pk = p.packets.filter((x) => Number(x.pos) >= ranges[k][0] && Number(x.pos) < ranges[k][1]);
    assert.ok(pk.length > 0, `${s.uri} has packets`);
    const pts = pk.map((x) => Number(x.pts) * num / den);
    return {
      uri: s.uri, bytes: ranges[k][1] - ranges[k][0], start: Math.min(...pts), end: Math.max(...pts), frames: pk.length,
      firstKey: pk[0].flags.startsWith('K'),
    };
  });
  segs.forEach((s, k) => {
    s.duration = (k + 1 < segs.length ? segs[k + 1].start : s.end + step) - s.start;
  });
  return { segs, media, stream: st };
}

/** The peak segment bit rate as RFC 8216bis defines it (the test's own reading of the rule). */
function peak(bytes, durs, target) {
  let best = 0;
  for (let i = 0; i < bytes.length; i++) {
    let b = 0;
    let d = 0;
    for (let j = i; j < bytes.length && d + durs[j] <= 1.5 * target; j++) {
      b += bytes[j];
      d += durs[j];
      if (d >= 0.5 * target) best = Math.max(best, 8 * b / d);
    }
  }
  return best || 8 * bytes.reduce((a, x) => a + x, 0) / durs.reduce((a, x) => a + x, 0);
}

const H264_PROFILE = { High: 0x64, Main: 0x4d, 'Constrained Baseline': 0x42, Baseline: 0x42 };
const HEVC_PROFILE = { Main: 1, 'Main 10': 2, Rext: 4 };
const AV1_PROFILE = { Main: 0, High: 1, Professional: 2 };

/** A CODECS entry against what ffprobe says of the stream (RFC 6381; ISO/IEC 14496-15 annex E; the AV1 ISOBMFF binding). */
function checkCodecs(vc, st, label) {
  if (st.codec_name === 'h264') {
    const m = /^avc1\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(vc);
    assert.ok(m, `${label}: ${vc} is avc1.PPCCLL`);
    assert.equal(m[1], hex2(H264_PROFILE[st.profile]), `${label}: profile ${st.profile}`);
    assert.equal(m[3], hex2(st.level), `${label}: level ${st.level}`);
  } else if (st.codec_name === 'hevc') {
    // the sample entry Apple requires, profile, a compatibility flag for it, main tier, level
    assert.equal(st.codec_tag_string, 'hvc1', `${label}: HEVC as hvc1`);
    const m = /^hvc1\.(\d+)\.([0-9A-F]+)\.L(\d+)(\.[0-9A-F]{1,2})*$/.exec(vc);
    assert.ok(m, `${label}: ${vc} is hvc1.P.C.LL.CC`);
    assert.equal(Number(m[1]), HEVC_PROFILE[st.profile], `${label}: profile ${st.profile}`);
    assert.ok((parseInt(m[2], 16) >> Number(m[1])) & 1, `${label}: compatibility flag ${m[1]} set in ${m[2]}`);
    assert.equal(Number(m[3]), st.level, `${label}: level ${st.level}`);
  } else {
    assert.equal(st.codec_name, 'av1');
    assert.equal(vc, `av01.${AV1_PROFILE[st.profile]}.${String(st.level).padStart(2, '0')}M.08`, `${label}: profile ${st.profile}, level ${st.level}`);
  }
}
const hex2 = (n) => n.toString(16).padStart(2, '0');

/** Everything the issue asks of a finished tree, against the references. */
function checkTree(out, r, { seg, sourceFile, format = 'both', segmentFormat = 'fmp4' }) {
  const probeSrc = ffprobe(sourceFile, ['-count_frames', '-show_streams']);
  const v = probeSrc.streams.find((s) => s.codec_type === 'video');
  const srcFrames = Number(v.nb_read_frames);
  const [fn, fd] = v.r_frame_rate.split('/').map(Number);
  HLS.setOptions({ strictMode: true });
  const master = HLS.parse(readFileSync(join(out, 'master.m3u8'), 'utf8'));
  assert.equal(master.isMasterPlaylist, true);
  assert.equal(master.independentSegments, true);
  assert.equal(master.variants.length, r.renditions.length);
  const audioUri = master.variants[0].audio[0]?.uri;
  assert.ok(audioUri, 'an audio group with a playlist');
  assert.equal(master.variants[0].audio[0].channels, String(probeSrc.streams.find((x) => x.codec_type === 'audio').channels));
  const audio = measure(out, audioUri, 'audio', AAC_FRAME);
  // the audio's span, less the AAC encoder's priming frame (1024 samples),
  // which neither fMP4 without an edit list nor MPEG-TS signals
  const audioDur = audio.segs.reduce((a, s) => a + s.duration, 0) - AAC_FRAME;
  assert.equal(audio.stream.profile, 'LC');
  // the source's frame times: its span, and its last frame's step
  const srcPts = ffprobe(sourceFile, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
  const srcSpan = srcPts.at(-1) - srcPts[0];
  const lastStep = srcPts.length > 1 ? srcPts.at(-1) - srcPts.at(-2) : fd / fn;
  const starts = [];
  for (const variant of master.variants) {
    const { segs, stream: st } = measure(out, variant.uri, 'video', lastStep);
    const label = variant.uri;
    // every segment starts with a keyframe; all frames of the source, once
    for (const s of segs) assert.ok(s.firstKey, `${label} ${s.uri} starts with a keyframe`);
    assert.equal(segs.reduce((a, s) => a + s.frames, 0), srcFrames, `${label}: every source frame`);
    const dur = segs.reduce((a, s) => a + s.duration, 0);
    const span = segs.at(-1).end - segs[0].start;
    assert.ok(Math.abs(span - srcSpan) < 0.002, `${label}: first to last frame ${span} s, the source's ${srcSpan} s`);
    // the stream's declared duration where the container has one (mp4, not mkv)
    const declared = Number(v.duration ?? v.tags?.DURATION?.split(':').reduce((a, x) => 60 * a + Number(x), 0));
    assert.ok(Math.abs(dur - declared) <= fd / fn + 1e-3, `${label}: duration ${dur} vs the source's ${declared}`);
    assert.ok(Math.abs(audioDur - dur) <= AAC_FRAME + 1e-6, `${label}: audio ${audioDur} s vs video ${dur} s`);
    starts.push(segs.map((s) => s.start));
    // segments cut at the segment duration: all but the last at least that long
    for (const s of segs.slice(0, -1)) assert.ok(s.duration >= seg - 1e-6 && s.duration < seg + 2 * fd / fn, `${label} ${s.uri}: ${s.duration} s`);
    // BANDWIDTH and AVERAGE-BANDWIDTH against the test's own measurement
    const bytes = segs.map((s, k) => s.bytes + (audio.segs[k]?.bytes ?? 0) + (k === segs.length - 1 ? audio.segs.slice(segs.length).reduce((a, x) => a + x.bytes, 0) : 0));
    const measuredPeak = peak(bytes, segs.map((s) => s.duration), seg);
    assert.ok(variant.bandwidth >= measuredPeak * (1 - 1e-9) && variant.bandwidth <= 1.1 * measuredPeak, `${label}: BANDWIDTH ${variant.bandwidth} vs measured peak ${measuredPeak}`);
    const avg = 8 * bytes.reduce((a, x) => a + x, 0) / dur;
    assert.ok(Math.abs(variant.averageBandwidth - avg) <= 0.1 * avg, `${label}: AVERAGE-BANDWIDTH ${variant.averageBandwidth} vs measured ${avg}`);
    // CODECS, RESOLUTION, FRAME-RATE from ffprobe
    const [vc, ac] = variant.codecs.split(',');
    checkCodecs(vc, st, label);
    assert.equal(ac, 'mp4a.40.2');
    assert.deepEqual([variant.resolution.width, variant.resolution.height], [st.width, st.height]);
    assert.ok(Math.abs(variant.frameRate - fn / fd) < 0.001, `${label}: FRAME-RATE ${variant.frameRate}`);
  }
  // the segments of every rendition start at the same times
  for (const s of starts.slice(1)) assert.deepEqual(s, starts[0]);
  if (format === 'both' && segmentFormat === 'fmp4') {
    const mpd = parseMpd(readFileSync(join(out, 'manifest.mpd'), 'utf8'), { manifestUri: 'http://127.0.0.1/manifest.mpd' });
    assert.equal(mpd.playlists.length, r.renditions.length);
    for (const p of mpd.playlists) {
      const hls = master.variants.find((x) => x.uri.startsWith(`${p.attributes.NAME}/`));
      assert.ok(hls, `MPD representation ${p.attributes.NAME} is an HLS rendition`);
      assert.equal(p.attributes.BANDWIDTH, hls.bandwidth);
      assert.equal(p.attributes.CODECS, hls.codecs.split(',')[0]);
      const media = HLS.parse(readFileSync(join(out, hls.uri), 'utf8'));
      assert.deepEqual(p.segments.map((s) => s.uri), media.segments.map((s) => `${p.attributes.NAME}/${s.uri}`));
      for (const s of p.segments) {
        assert.ok(existsSync(join(out, s.uri)), `${s.uri} exists`);
        assert.ok(existsSync(join(out, s.map.uri)), `${s.map.uri} exists`);
      }
      p.segments.forEach((s, k) => assert.ok(Math.abs(s.duration - media.segments[k].duration) < 1e-3, `${s.uri}: MPD ${s.duration} vs EXTINF ${media.segments[k].duration}`));
    }
    const a = Object.values(mpd.mediaGroups.AUDIO.audio)[0].playlists[0];
    assert.equal(a.segments.length, audio.segs.length);
    for (const s of a.segments) assert.ok(existsSync(join(out, s.uri)));
  }
  return { starts: starts[0] };
}

const leftovers = (parent) => readdirSync(parent).filter((f) => f.includes('.avcv-tmp'));

test('an fMP4 ladder for HLS and DASH: aligned keyframe segments, measured BANDWIDTH, CODECS from the streams, one decode', async () => {
  const out = join(dir, 'both');
  const progress = [];
  const r = await ladder(src.main, out, {
    renditions: [{ height: 360 }, { height: 240, bitrate: 250_000 }, { height: 720 }], segmentDuration: 2, format: 'both', preset: 'veryfast',
    onProgress: (p) => progress.push(p.frames),
  });
  assert.deepEqual(r.renditions.map((x) => [x.name, x.width, x.height]), [['360p', 640, 360], ['240p', 426, 240]]);
  assert.deepEqual(r.skipped.map((s) => s.height), [720]);
  assert.equal(r.framesIn, 285, 'the source decoded once');
  assert.equal(r.master, join(out, 'master.m3u8'));
  assert.equal(r.mpd, join(out, 'manifest.mpd'));
  assert.ok(progress.length > 0 && progress.at(-1) === 285);
  const { starts } = checkTree(out, r, { seg: 2, sourceFile: src.main });
  assert.equal(starts.length, 5);
  assert.deepEqual(leftovers(dir), []);
}, T);

test('variable frame rate: the timestamps kept, keyframes at the same frames in every rendition', async () => {
  const out = join(dir, 'vfr');
  const r = await ladder(src.vfr, out, { renditions: [{ height: 240 }, { height: 120 }], segmentDuration: 1, preset: 'veryfast' });
  const srcPts = ffprobe(src.vfr, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
  for (const v of r.renditions) {
    const media = HLS.parse(readFileSync(join(out, v.playlist), 'utf8'));
    const joined = join(dir, `vfr-${v.name}.mp4`);
    writeFileSync(joined, Buffer.concat([join(out, v.name, 'init.mp4'), ...media.segments.map((s) => join(out, v.name, s.uri))].map((f) => readFileSync(f))));
    const times = ffprobe(joined, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
    // the source's frame times, moved to start where the rendition's do
    const shift = times[0] - srcPts[0];
    assert.equal(times.length, srcPts.length);
    times.forEach((t, i) => assert.ok(Math.abs(t - shift - srcPts[i]) < 0.0015, `${v.name} frame ${i}: ${t - shift} vs ${srcPts[i]}`));
  }
  checkTree(out, r, { seg: 1, sourceFile: src.vfr, format: 'hls' });
}, T);

test('MPEG-TS segments for HLS: keyframe starts, CODECS from the SPS', async () => {
  const out = join(dir, 'ts');
  const r = await ladder(src.main, out, { renditions: [{ height: 240 }, { height: 180 }], segmentDuration: 3, segmentFormat: 'ts', preset: 'veryfast' });
  assert.equal(r.mpd, null);
  assert.ok(readdirSync(join(out, '240p')).every((f) => f.endsWith('.ts') || f.endsWith('.m3u8')));
  checkTree(out, r, { seg: 3, sourceFile: src.main, format: 'hls', segmentFormat: 'ts' });
}, T);

test('real players: hls.js and dash.js in chromium play every rendition to the end', async () => {
  const out = join(dir, 'player');
  const r = await ladder(src.main, out, { renditions: [{ height: 360 }, { height: 240 }, { height: 144 }], segmentDuration: 2, format: 'both', preset: 'veryfast' });
  const codecs = [...new Set([...r.renditions.map((x) => `video/mp4; codecs="${x.codecs}"`), `audio/mp4; codecs="${r.audio.codecs}"`])];
  for (const kind of ['hls', 'dash']) {
    const p = await play(out, kind === 'hls' ? 'master.m3u8' : 'manifest.mpd', kind, { codecs, timeoutMs: 60_000 });
    console.log(`${kind}: MediaSource.isTypeSupported ${JSON.stringify(p.supported)}; renditions played in turn ${p.played.join(',')}; ${p.why} at ${p.currentTime}/${p.duration}`);
    for (const c of codecs) assert.equal(p.supported[c], true, `chromium can play ${c}`);
    assert.deepEqual(p.errors.filter((e) => e.includes('fatal') || kind === 'dash'), [], `${kind}: no fatal error`);
    assert.equal(p.levels, r.renditions.length);
    assert.equal(p.audioTracks, 1, `${kind}: the audio track`);
    assert.deepEqual([...new Set(p.played)].sort(), r.renditions.map((_, i) => i), `${kind}: every rendition played`);
    const state = JSON.stringify({ buffered: p.buffered, sourceBuffers: p.sourceBuffers, paused: p.paused, events: p.events });
    assert.ok(p.ended || p.currentTime >= r.duration - 0.1, `${kind}: played to the end (${p.why} at ${p.currentTime} of ${r.duration}; ${state})`);
    // A/V sync as the browser's MediaSource saw it: the source's audio and
    // video both last exactly 9.5 s, so the buffered audio must end where
    // the video does. AAC's 1024 priming samples left in (no edit list, or
    // one the player does not apply) end it 21 ms later.
    // (hls.js drops played video from its buffer, so only the ends compare.)
    const end = (type) => {
      const b = p.sourceBuffers.filter((x) => x.type.startsWith(type));
      assert.equal(b.length, 1, `${kind}: one ${type} SourceBuffer (${state})`);
      assert.ok(b[0].ranges?.length > 0, `${kind}: ${type} buffered (${state})`);
      return b[0].ranges.at(-1)[1];
    };
    const [v, a] = [end('video/'), end('audio/')];
    assert.ok(Math.abs(a - v) < 0.002, `${kind}: the buffered audio ends at ${a}, the video at ${v} (${state})`);
  }
}, T);

test('audio in step with the video, fMP4 and MPEG-TS: the tone onset where the source has it (ffmpeg decodes, ffprobe places)', async () => {
  // silence, then a tone from exactly 1.000 s; the source's first frame at 0
  const source = join(dir, 'onset.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', "aevalsrc='if(gte(t,1),0.5*sin(2*PI*440*t),0)':s=48000",
    '-t', '3', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', source]);
  const startTime = (file, sel) => Number(ffprobe(file, ['-select_streams', sel, '-show_entries', 'stream=start_time']).streams[0].start_time);
  // when the tone starts: the ffmpeg CLI decodes every sample; ffprobe's
  // start_time (fMP4: from the edit list) places the first
  const onset = (file) => {
    const pcm = ffmpeg(['-i', file, '-map', '0:a', '-ac', '1', '-f', 'f32le', '-']);
    const x = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.length >> 2);
    const i = x.findIndex((v) => Math.abs(v) > 0.2);
    assert.ok(i > 0, `${file}: the tone found`);
    return startTime(file, 'a:0') + i / 48000;
  };
  const want = onset(source) - startTime(source, 'v:0');
  assert.ok(Math.abs(want - 1) < 0.001, `the source's tone starts at ${want} s`);
  const joined = (folder, ext, init) => {
    const segs = HLS.parse(readFileSync(join(folder, 'index.m3u8'), 'utf8')).segments.map((x) => join(folder, x.uri));
    const file = join(dir, `onset-${ext}-${segs.length}-${folder.split('/').at(-1)}.${ext}`);
    writeFileSync(file, Buffer.concat([...(init ? [join(folder, 'init.mp4')] : []), ...segs].map((f) => readFileSync(f))));
    return file;
  };
  for (const segmentFormat of ['fmp4', 'ts']) {
    const out = join(dir, `onset-${segmentFormat}`);
    const r = await ladder(source, out, { renditions: [{ height: 120 }], segmentDuration: 1, segmentFormat, preset: 'veryfast' });
    const fmp4 = segmentFormat === 'fmp4';
    const audio = joined(join(out, 'audio'), fmp4 ? 'mp4' : 'ts', fmp4);
    // the first video frame's time: MPEG-TS, ffprobe's start_time; fMP4,
    // 0 (the first fragment's decode time and composition offset, which
    // MSE shows: test 'real players'; ffprobe adds its own shift for
    // negative composition offsets)
    const video0 = fmp4 ? 0 : startTime(joined(join(out, '120p'), 'ts', false), 'v:0');
    const got = onset(audio) - video0;
    // within 2 samples: the priming samples played would make it one AAC
    // frame late, a segment muxer's own shift a B-frame delay early
    assert.ok(Math.abs(got - want) <= 2 / 48000, `${segmentFormat}: the rendition's tone starts ${got} s after its first frame, the source's ${want} s`);
    assert.ok(Math.abs(r.audio.duration - r.duration) <= AAC_FRAME, `audio ${r.audio.duration} s, video ${r.duration} s`);
  }
}, T);

test('abort mid-way: no outDir and no temp folder', async () => {
  const out = join(dir, 'aborted');
  const ac = new AbortController();
  const p = ladder(src.main, out, { renditions: [{ height: 360 }, { height: 240 }], signal: ac.signal, segmentDuration: 2,
    onProgress: (x) => { if (x.frames > 20) ac.abort(); } });
  await assert.rejects(p, (e) => e instanceof AvcvError && e.code === 'ABORTED');
  assert.equal(existsSync(out), false);
  assert.deepEqual(leftovers(dir), []);
}, T);

test('an existing outDir: EXISTS before any work, replaced with overwrite', async () => {
  const out = join(dir, 'existing');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'mine');
  await assert.rejects(ladder(src.main, out, { renditions: [{ height: 144 }] }), (e) => e instanceof AvcvError && e.code === 'EXISTS');
  assert.equal(readFileSync(join(out, 'keep.txt'), 'utf8'), 'mine');
  const r = await ladder(src.main, out, { renditions: [{ height: 144 }], overwrite: true, format: 'dash', segmentDuration: 4, preset: 'veryfast' });
  assert.equal(existsSync(join(out, 'keep.txt')), false);
  assert.equal(r.master, null);
  assert.ok(existsSync(join(out, 'manifest.mpd')));
  assert.equal(readdirSync(out).some((f) => f.endsWith('.m3u8')), false);
  assert.deepEqual(leftovers(dir), []);
}, T);

test('bad input: typed errors before any file exists', async () => {
  const out = join(dir, 'bad');
  const rejects = async (p, check, label) => {
    await assert.rejects(p, check, label);
    assert.equal(existsSync(out), false, `${label}: nothing written`);
  };
  await rejects(ladder(src.audioOnly, out), (e) => e instanceof AvcvError && e.code === 'NO_VIDEO_STREAM', 'no video');
  await rejects(ladder(join(dir, 'missing.mp4'), out), (e) => e instanceof AvcvError && e.code === 'ENOENT', 'missing source');
  await rejects(ladder(src.main, out, { renditions: [{ height: 720 }, { height: 1080 }] }), (e) => e instanceof RangeError && /larger than the source/.test(e.message), 'all larger');
  await rejects(ladder(src.main, out, { renditions: [{ height: 240, bitrate: 300_000, crf: 23 }] }), (e) => e instanceof RangeError && /bitrate and crf/.test(e.message), 'bitrate and crf');
  await rejects(ladder(src.main, out, { renditions: [{ height: 241 }] }), (e) => e instanceof RangeError && /height must be even/.test(e.message), 'odd height');
  await rejects(ladder(src.main, out, { renditions: [{ height: 240, width: 427 }] }), (e) => e instanceof RangeError && /width must be even/.test(e.message), 'odd width');
  await rejects(ladder(src.main, out, { codec: 'vp8' }), (e) => e instanceof TypeError && /codec/.test(e.message), 'unknown codec');
  await rejects(ladder(src.main, out, { segmentFormat: 'ts', format: 'dash' }), (e) => e instanceof TypeError && /HLS only/.test(e.message), 'ts for dash');
  await rejects(ladder(src.main, out, { segmentDuration: 0 }), (e) => e instanceof RangeError && /segmentDuration/.test(e.message), 'segment 0');
  await rejects(ladder(src.main, out, { renditions: [{ height: 240, rate: 15 }] }), (e) => e instanceof TypeError && /rate/.test(e.message), 'unknown key');
  await rejects(ladder(src.main, out, { renditions: [{ height: 240, fps: 0.5 }] }), (e) => e instanceof RangeError && /fps/.test(e.message), 'fps below 1');
  assert.deepEqual(leftovers(dir), []);
}, T);

test('avcv hls: the ladder from the command line, JSON lines, usage errors (2), Ctrl-C (130, nothing left)', async () => {
  const out = join(dir, 'cli');
  const r = await runCli(['hls', src.main, out, '--renditions', '240,144', '--segment', '2', '--dash', '--preset', 'veryfast', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const done = lines.at(-1);
  assert.equal(done.event, 'done');
  assert.ok(lines.some((l) => l.event === 'progress'));
  assert.deepEqual(done.renditions.map((x) => x.height), [240, 144]);
  checkTree(out, done, { seg: 2, sourceFile: src.main });
  const usage = await runCli(['hls', src.main, join(dir, 'cli2'), '--ts', '--dash']);
  assert.equal(usage.code, 2);
  const exists = await runCli(['hls', src.main, out]);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /EXISTS/);
  const gone = join(dir, 'cli-gone');
  const c = await runCli(['hls', src.main, gone, '--renditions', '360,240', '--preset', 'slow'], (ch) => setTimeout(() => ch.kill('SIGINT'), 800));
  assert.equal(c.code, 130, c.stderr);
  assert.equal(existsSync(gone), false);
  assert.deepEqual(leftovers(dir), []);
}, T);

test('HEVC and AV1 ladders: aligned, CODECS from the streams (hvc1 for HEVC); AV1 plays in chromium with hls.js', async () => {
  for (const codec of ['hevc', 'av1']) {
    const out = join(dir, codec);
    const r = await ladder(src.main, out, { codec, renditions: [{ height: 240 }, { height: 144 }], segmentDuration: 2 });
    assert.ok(r.renditions.every((x) => x.encoder === (codec === 'hevc' ? 'libx265' : 'libsvtav1')), r.renditions.map((x) => x.encoder).join());
    checkTree(out, r, { seg: 2, sourceFile: src.main, format: 'hls' });
    if (codec === 'av1') {
      const codecs = r.renditions.map((x) => `video/mp4; codecs="${x.codecs}"`);
      const p = await play(out, 'master.m3u8', 'hls', { codecs, timeoutMs: 60_000 });
      console.log(`av1 hls: MediaSource.isTypeSupported ${JSON.stringify(p.supported)}; played ${p.played.join(',')}; ${p.why} at ${p.currentTime}`);
      for (const c of codecs) assert.equal(p.supported[c], true, `chromium can play ${c}`);
      assert.deepEqual(p.errors.filter((e) => e.includes('fatal')), []);
      assert.deepEqual([...new Set(p.played)].sort(), [0, 1]);
      assert.ok(p.ended || p.currentTime >= r.duration - 0.1, `played to the end (${p.why} at ${p.currentTime} of ${r.duration})`);
    }
  }
}, T);

test('a frame-rate cap: a 50 fps source\'s 25 fps rendition keeps every other frame, with its timestamps, segments still aligned', async () => {
  const src50 = join(dir, 'fps50.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=50', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src50]);
  const out = join(dir, 'fps');
  await ladder(src50, out, { renditions: [{ height: 240 }, { height: 120, fps: 25 }], segmentDuration: 1, preset: 'veryfast' });
  HLS.setOptions({ strictMode: true });
  const master = HLS.parse(readFileSync(join(out, 'master.m3u8'), 'utf8'));
  assert.deepEqual(master.variants.map((v) => [v.uri, v.frameRate]).sort(), [['120p/index.m3u8', 25], ['240p/index.m3u8', 50]]);
  const full = measure(out, '240p/index.m3u8', 'video', 0.02);
  const capped = measure(out, '120p/index.m3u8', 'video', 0.04);
  // (ffprobe reads fragments with negative composition offsets shifted by
  // the B-frame delay, two frames of each rendition's own rate: the starts
  // are compared from each rendition's first)
  const from0 = (m) => m.segs.map((s) => Math.round((s.start - m.segs[0].start) * 1e6) / 1e6);
  assert.deepEqual(from0(capped), from0(full), 'segments start at the same times');
  assert.deepEqual(from0(full), [0, 1, 2, 3]);
  for (const s of capped.segs) assert.ok(s.firstKey, `${s.uri} starts with a keyframe`);
  assert.equal(full.segs.reduce((a, s) => a + s.frames, 0), 200);
  assert.equal(capped.segs.reduce((a, s) => a + s.frames, 0), 100);
  // its frames are the source's, one in two: 40 ms apart
  const joined = join(dir, 'fps-120.mp4');
  const media = HLS.parse(readFileSync(join(out, '120p/index.m3u8'), 'utf8'));
  writeFileSync(joined, Buffer.concat([join(out, '120p', 'init.mp4'), ...media.segments.map((x) => join(out, '120p', x.uri))].map((f) => readFileSync(f))));
  const t = ffprobe(joined, ['-select_streams', 'v:0', '-show_entries', 'frame=pts_time']).frames.map((f) => Number(f.pts_time));
  t.slice(1).forEach((x, i) => assert.ok(Math.abs(x - t[i] - 0.04) < 1e-3, `frame ${i + 1}: ${x - t[i]} s after the one before`));
}, T);
