// Demuxers that open other inputs (audited over FFmpeg 5.1's libavformat):
// DASH and HLS manifests, concat lists, IMF playlists, SDP session files and
// VobSub indexes. Unless allowNestedInputs is set, none may open anything: a
// manifest naming a local file is refused (NESTED_INPUT_BLOCKED), and one
// naming http://127.0.0.1:<port> is refused before any request reaches the
// server this test runs, even with http among the allowed protocols. With
// allowNestedInputs, the references are real: the local one decodes as the
// CLI decodes it and the http one reaches the server.
import { test, beforeAll, afterAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoReader, probe, AvcvError } from '../dist/index.mjs';
import { tempDir, ffmpeg, makeClip, countFrames } from './helpers.mjs';

const dir = tempDir('avcv-nested-');
const clip = join(dir, 'secret.mp4');
const segDir = join(dir, 'hls');
let server;
let port = 0;
let requests = [];
const NET = ['file', 'http', 'tcp'];

beforeAll(async () => {
  makeClip(clip, { size: '96x64', frames: 25, extra: ['-movflags', '+faststart'] });
  // an HLS rendition of the clip: its segments are what a playlist references
  const { mkdirSync } = await import('node:fs');
  mkdirSync(segDir);
  ffmpeg(['-i', clip, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_segment_filename', join(segDir, 's%d.ts'), join(segDir, 'x.m3u8')]);
  server = createServer((req, res) => {
    requests.push(req.url);
    const name = req.url.split('/').pop();
    try {
      const body = name.endsWith('.ts') ? readFileSync(join(segDir, name)) : readFileSync(clip);
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const dashMpd = (url) => `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period id="0"><AdaptationSet mimeType="video/mp4">
    <Representation id="v" bandwidth="100000" codecs="avc1.64000a" width="96" height="64"><BaseURL>${url}</BaseURL></Representation>
  </AdaptationSet></Period>
</MPD>
`;
const hlsPlaylist = (url) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\n${url}\n#EXT-X-ENDLIST\n`;
const concatList = (url) => `ffconcat version 1.0\nfile '${url}'\n`;
const imfCpl = (url) => `<?xml version="1.0" encoding="UTF-8"?>
<CompositionPlaylist xmlns="http://www.smpte-ra.org/schemas/2067-3/2016">
  <Id>urn:uuid:8713c020-2489-45f5-a9f7-87be539e20b5</Id><ContentTitle>x</ContentTitle>
  <EditRate>25 1</EditRate><SegmentList><Segment><Id>urn:uuid:1</Id><SequenceList><MainImageSequence>
  <Id>urn:uuid:2</Id><TrackId>urn:uuid:3</TrackId><ResourceList><Resource><Id>urn:uuid:4</Id><EditRate>25 1</EditRate>
  <IntrinsicDuration>25</IntrinsicDuration><TrackFileId>urn:uuid:5</TrackFileId></Resource></ResourceList>
  </MainImageSequence></SequenceList></Segment></SegmentList>
  <!-- the asset map beside it would name ${url} -->
</CompositionPlaylist>
`;
const sdpFile = (host) => `v=0\r\no=- 0 0 IN IP4 ${host}\r\ns=avcv\r\nc=IN IP4 ${host}\r\nt=0 0\r\nm=video ${port || 5004} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`;
const vobsubIdx = () => '# VobSub index file, v7 (do not modify this line!)\nsize: 720x480\nid: en, index: 0\ntimestamp: 00:00:00:000, filepos: 000000000\n';

// { name, file, make(url), local(sub): the local target as the manifest names it (made in
//   the case's folder where it must be beside it), decodes: with allowNestedInputs the local one
//   decodes, http: with allowNestedInputs the http one reaches the server, inputFormat: forced }
const CASES = [
  { name: 'DASH manifest (BaseURL)', file: 'x.mpd', make: dashMpd, local: () => clip, decodes: true, http: true },
  { name: 'HLS playlist', file: 'x.m3u8', make: hlsPlaylist, local: () => join(segDir, 's0.ts'), decodes: true, http: true },
  // concat's own safe mode takes plain relative names only (an http URL is refused by it too)
  { name: 'ffconcat list', file: 'x.ffconcat', make: concatList, local: (sub) => { writeFileSync(join(sub, 'copy.mp4'), readFileSync(clip)); return 'copy.mp4'; }, decodes: true, http: false },
  // imf is experimental in FFmpeg 5.1: never probed, only forced
  { name: 'IMF composition playlist (inputFormat imf)', file: 'CPL_x.xml', make: imfCpl, local: () => clip, inputFormat: 'imf' },
  { name: 'SDP session description', file: 'x.sdp', make: () => sdpFile('127.0.0.1'), local: () => clip },
  { name: 'VobSub index (opens its .sub)', file: 'x.idx', make: vobsubIdx, local: () => clip },
];

// the error names the manifest (refused before it opens anything) or the input it tried (hls: refused at that open)
const blocked = (f, forced) => (e) => e instanceof AvcvError && e.code === 'NESTED_INPUT_BLOCKED' && e.message.includes(forced ?? f);

for (const { name, file, make, local, decodes, http, inputFormat } of CASES) {
  test(`${name}: refused unless allowNestedInputs, opening nothing (local file or a server on 127.0.0.1)`, async () => {
    const sub = tempDir('avcv-nested-case-');
    const localManifest = join(sub, file);
    const target = local(sub);
    writeFileSync(localManifest, make(target));
    const httpManifest = join(sub, `http-${file}`);
    writeFileSync(httpManifest, make(`http://127.0.0.1:${port}/secret/s0.ts`));
    if (file === 'x.idx') writeFileSync(join(sub, 'x.sub'), Buffer.alloc(2048));  // the .sub the index opens
    requests = [];
    const forced = inputFormat ? { inputFormat } : {};
    await assert.rejects(VideoReader.open(localManifest, forced), blocked(localManifest, inputFormat), `${name}: local reference`);
    if (!inputFormat) await assert.rejects(probe(localManifest), blocked(localManifest), `${name}: probe`);
    await assert.rejects(VideoReader.open(httpManifest, { protocols: NET, ...forced }), blocked(httpManifest, inputFormat), `${name}: http reference`);
    if (!inputFormat) await assert.rejects(probe(httpManifest, { protocols: NET }), blocked(httpManifest), `${name}: http probe`);
    assert.deepEqual(requests, [], `${name}: the server received requests`);
    if (!decodes) return;
    // the references are real: allowed, the local one decodes as the CLI decodes its target,
    // and the http one reaches the server
    const r = await VideoReader.open(localManifest, { allowNestedInputs: true, protocols: ['file', 'http', 'tcp', 'crypto', 'data'] });
    let n = 0;
    for await (const f of r) n += f.data.length > 0 ? 1 : 0;
    await r.close();
    assert.equal(n, countFrames(target.startsWith('/') ? target : join(sub, target)), `${name}: frames decoded through the manifest`);
    if (!http) return;
    const h = await VideoReader.open(httpManifest, { allowNestedInputs: true, protocols: NET }).catch((e) => e);
    if (!(h instanceof Error)) await h.close();
    assert.ok(requests.length > 0, `${name}: with allowNestedInputs the http reference reaches the server`);
  }, 60_000);
}
