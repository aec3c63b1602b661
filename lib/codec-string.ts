/**
 * RFC 6381 codec strings (the CODECS of an HLS playlist, the codecs of a
 * DASH Representation) read from what the streams really are: the sample
 * entry of an fMP4 init segment (avcC, hvcC, av1C, esds), or the first
 * H.264 SPS of an MPEG-TS segment. Written by hand: the npm packages that
 * parse MP4 (mp4box) are whole demuxers for the browser, and a dozen lines
 * of box walking say exactly which bytes the string comes from.
 */

/** What one track of an init segment says. */
export interface TrackCodec {
  /** the sample entry's four-character code: avc1, avc3, hvc1, hev1, av01, mp4a, ... */
  entry: string;
  /** the RFC 6381 string (avc1.64001f, hvc1.1.6.L93.90, av01.0.04M.08, mp4a.40.2) */
  codecs: string;
  /** the media timescale (mdhd): ticks per second of the segments' timestamps */
  timescale: number;
  /** audio: the sample entry's channel count */
  channels?: number;
  /** audio: the sample entry's sample rate */
  sampleRate?: number;
}

interface Box { type: string; start: number; end: number; body: number }

function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  let off = start;
  while (off + 8 <= end) {
    let size = dv.getUint32(off);
    const type = String.fromCharCode(b[off + 4], b[off + 5], b[off + 6], b[off + 7]);
    let body = off + 8;
    if (size === 1) {
      size = Number(dv.getBigUint64(off + 8));
      body = off + 16;
    } else if (size === 0) {
      size = end - off;
    }
    if (size < 8 || off + size > end) break;
    out.push({ type, start: off, end: off + size, body });
    off += size;
  }
  return out;
}

function child(b: Uint8Array, parent: Box | null, type: string): Box | undefined {
  return boxes(b, parent ? parent.body : 0, parent ? parent.end : b.length).find((x) => x.type === type);
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** The codec string of a visual or audio sample entry box. */
function entryCodecs(b: Uint8Array, entry: Box): { codecs: string; channels?: number; sampleRate?: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const t = entry.type;
  if (t === 'avc1' || t === 'avc3' || t === 'hvc1' || t === 'hev1' || t === 'av01') {
    const kids = boxes(b, entry.body + 78, entry.end);  // VisualSampleEntry fields: 78 bytes
    if (t === 'avc1' || t === 'avc3') {
      const c = kids.find((k) => k.type === 'avcC');
      if (!c) throw new Error(`${t} without avcC`);
      const p = c.body;  // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
      return { codecs: `${t}.${hex2(b[p + 1])}${hex2(b[p + 2])}${hex2(b[p + 3])}` };
    }
    if (t === 'hvc1' || t === 'hev1') {
      const c = kids.find((k) => k.type === 'hvcC');
      if (!c) throw new Error(`${t} without hvcC`);
      const p = c.body;
      const space = b[p + 1] >> 6, tier = (b[p + 1] >> 5) & 1, profile = b[p + 1] & 0x1f;
      // the compatibility flags, bit-reversed, in hex without leading zeros
      let compat = dv.getUint32(p + 2), rev = 0;
      for (let i = 0; i < 32; i++) {
        rev = (rev << 1) | (compat & 1);
        compat >>>= 1;
      }
      const constraints = Array.from(b.subarray(p + 6, p + 12));
      while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
      const parts = [t, `${['', 'A', 'B', 'C'][space]}${profile}`, (rev >>> 0).toString(16).toUpperCase(), `${tier ? 'H' : 'L'}${b[p + 12]}`];
      if (constraints.length > 0) parts.push(...constraints.map((x) => x.toString(16).toUpperCase()));
      return { codecs: parts.join('.') };
    }
    const c = kids.find((k) => k.type === 'av1C');
    if (!c) throw new Error('av01 without av1C');
    const p = c.body;
    const profile = b[p + 1] >> 5, level = b[p + 1] & 0x1f, tier = b[p + 2] >> 7;
    const high = (b[p + 2] >> 6) & 1, twelve = (b[p + 2] >> 5) & 1;
    const depth = high ? (twelve ? 12 : 10) : 8;
    return { codecs: `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(depth).padStart(2, '0')}` };
  }
  if (t === 'mp4a') {
    // AudioSampleEntry: 6 reserved + 2 index + 8 reserved, channelcount, samplesize, 4, samplerate (16.16)
    const channels = dv.getUint16(entry.body + 16);
    const sampleRate = dv.getUint32(entry.body + 24) >>> 16;
    const esds = boxes(b, entry.body + 28, entry.end).find((k) => k.type === 'esds');
    if (!esds) throw new Error('mp4a without esds');
    // descriptors: ES (3) > DecoderConfig (4: objectTypeIndication) > DecoderSpecificInfo (5: AudioSpecificConfig)
    let p = esds.body + 4;
    let oti = 0, aot = 0, config = 0;
    const end = esds.end;
    const readLen = () => {
      let len = 0;
      for (let i = 0; i < 4; i++) {
        const x = b[p++];
        len = (len << 7) | (x & 0x7f);
        if (!(x & 0x80)) break;
      }
      return len;
    };
    while (p < end) {
      const tag = b[p++];
      const len = readLen();
      if (tag === 3) {
        // ES_ID, flags, then dependsOn_ES_ID, URL and OCR_ES_Id when flagged
        const flags = b[p + 2];
        p += 3;
        if (flags & 0x80) p += 2;
        if (flags & 0x40) p += 1 + b[p];
        if (flags & 0x20) p += 2;
      } else if (tag === 4) {
        oti = b[p];
        p += 13;
      } else if (tag === 5) {
        // AudioSpecificConfig: audioObjectType (5 bits, 31: escaped by 6
        // more), samplingFrequencyIndex (4 bits, 15: 24 more), channelConfiguration (4 bits)
        let bit = 0;
        const bits = (k: number) => {
          let v = 0;
          for (let i = 0; i < k; i++, bit++) v = (v << 1) | ((b[p + (bit >> 3)] >> (7 - (bit & 7))) & 1);
          return v;
        };
        aot = bits(5);
        if (aot === 31) aot = 32 + bits(6);
        if (bits(4) === 15) bits(24);
        config = bits(4);
        break;
      } else {
        p += len;
      }
    }
    if (!oti) throw new Error('esds without a DecoderConfigDescriptor');
    // the channel count the stream decodes to (channelConfiguration 1-6: that
    // many, 7: 8), which the sample entry does not always say
    const fromConfig = config >= 1 && config <= 6 ? config : config === 7 ? 8 : 0;
    return { codecs: oti === 0x40 && aot ? `mp4a.40.${aot}` : `mp4a.${hex2(oti)}`, channels: fromConfig || channels, sampleRate };
  }
  throw new Error(`no codec string for sample entry '${t}'`);
}

/** The first track of an fMP4 init segment (moov/trak/mdia/{mdhd, minf/stbl/stsd}). */
export function initSegmentCodec(b: Uint8Array): TrackCodec {
  const moov = child(b, null, 'moov');
  const trak = moov && child(b, moov, 'trak');
  const mdia = trak && child(b, trak, 'mdia');
  const mdhd = mdia && child(b, mdia, 'mdhd');
  const stbl = mdia && child(b, child(b, mdia, 'minf') ?? null, 'stbl');
  const stsd = stbl && child(b, stbl, 'stsd');
  if (!mdhd || !stsd) throw new Error('not an init segment (no moov/trak/mdia/mdhd and stsd)');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const timescale = dv.getUint32(mdhd.body + (b[mdhd.body] === 1 ? 20 : 12));
  const entry = boxes(b, stsd.body + 8, stsd.end)[0];
  if (!entry) throw new Error('stsd has no sample entry');
  return { entry: entry.type, timescale, ...entryCodecs(b, entry) };
}

/**
 * The codec string of the first H.264 SPS in an MPEG-TS segment: the
 * payloads of the first video PID's packets up to its second PES, scanned
 * for a NAL unit of type 7.
 */
export function tsSegmentH264Codec(b: Uint8Array): string {
  const es: number[] = [];
  let pid = -1;
  for (let off = 0; off + 188 <= b.length && es.length < 4096; off += 188) {
    if (b[off] !== 0x47) throw new Error('not an MPEG-TS segment');
    const p = ((b[off + 1] & 0x1f) << 8) | b[off + 2];
    const start = (b[off + 1] & 0x40) !== 0;
    const afc = (b[off + 3] >> 4) & 3;
    let q = off + 4;
    if (afc === 2) continue;
    if (afc === 3) q += 1 + b[q];
    if (start && b[q] === 0 && b[q + 1] === 0 && b[q + 2] === 1 && b[q + 3] >= 0xe0 && b[q + 3] <= 0xef) {
      if (pid === -1) pid = p;
      else if (p === pid) break;  // the next PES: the first access unit is complete
      q += 9 + b[q + 8];
    } else if (p !== pid) {
      continue;
    }
    for (let i = q; i < off + 188; i++) es.push(b[i]);
  }
  for (let i = 0; i + 6 < es.length; i++) {
    if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && (es[i + 3] & 0x1f) === 7) {
      return `avc1.${hex2(es[i + 4])}${hex2(es[i + 5])}${hex2(es[i + 6])}`;
    }
  }
  throw new Error('no H.264 SPS in the first access unit');
}
