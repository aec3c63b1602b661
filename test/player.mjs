// Real players for the ladder tests: Debian's chromium, headless, driven by
// puppeteer-core, playing a served tree with hls.js or dash.js (their npm
// builds, served beside it). The page switches rendition at every segment
// so that each one is fetched, decoded and shown, and reports what
// happened: MediaSource support for the codecs, the renditions played,
// fatal errors, the audio tracks, where playback ended, what each
// SourceBuffer held then (by MIME type) and the media element's events.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { staticServer } from './servers.mjs';

const require = createRequire(import.meta.url);
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';
// the packages' folders (dashjs's exports map lists neither its browser
// builds nor its package.json): found from a path it does export
const pkgDir = (name) => {
  let d = dirname(require.resolve(name));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
};
const HLS_JS = join(pkgDir('hls.js'), 'dist', 'hls.min.js');
const DASH_JS = join(pkgDir('dashjs'), 'dist', 'modern', 'umd', 'dash.all.min.js');

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script><script src="/dash.all.min.js"></script></body></html>`;

/* global document, window, MediaSource, Hls, dashjs -- playInPage runs in the browser page, beside hls.js and dash.js */
// Runs in the page: plays `manifest` to its end with the player `kind`,
// moving to the next rendition after every segment.
function playInPage(kind, manifest, codecs, timeoutMs) {
  return new Promise((resolve) => {
    const v = document.getElementById('v');
    const out = { supported: {}, played: [], errors: [], audioTracks: 0, levels: 0, currentTime: 0, duration: 0, ended: false };
    for (const c of codecs) out.supported[c] = MediaSource.isTypeSupported(c);
    let done = false;
    const finish = (why) => {
      if (done) return;
      done = true;
      out.currentTime = v.currentTime;
      out.duration = v.duration;
      out.why = why;
      const ranges = (b) => Array.from({ length: b.length }, (_, i) => [b.start(i), b.end(i)]);
      out.buffered = ranges(v.buffered);
      out.paused = v.paused;
      // what each SourceBuffer holds, by its MIME type (recorded when the player added it)
      out.sourceBuffers = (window.__sourceBuffers ?? []).map(({ type, sb }) => {
        try {
          return { type, ranges: ranges(sb.buffered) };
        } catch {
          return { type, ranges: null };  // removed from its MediaSource
        }
      });
      resolve(out);
    };
    setTimeout(() => finish('timeout'), timeoutMs);
    out.events = [];
    for (const ev of ['seeking', 'seeked', 'pause', 'play', 'waiting', 'stalled', 'ratechange', 'durationchange']) {
      v.addEventListener(ev, () => out.events.push(`${ev}@${v.currentTime.toFixed(3)}${ev === 'ratechange' ? `=${v.playbackRate}` : ''}`));
    }
    v.addEventListener('ended', () => {
      out.ended = true;
      finish('ended');
    });
    v.playbackRate = 4;
    if (kind === 'hls') {
      const hls = new Hls({ debug: false, capLevelToPlayerSize: false, abrEwmaDefaultEstimate: 1e8 });
      hls.on(Hls.Events.ERROR, (e, d) => {
        out.errors.push(`${d.type}/${d.details}${d.fatal ? ' (fatal)' : ''}`);
        if (d.fatal) finish('fatal');
      });
      hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
        out.levels = d.levels.length;
        out.audioTracks = hls.audioTracks.length;
        hls.currentLevel = 0;
        v.play().catch((err) => out.errors.push(String(err)));
      });
      hls.on(Hls.Events.FRAG_CHANGED, (e, d) => {
        out.played.push(d.frag.level);
        hls.nextLevel = (d.frag.level + 1) % hls.levels.length;  // a switch at every segment
      });
      hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => { out.audioTracks = hls.audioTracks.length; });
      hls.loadSource(manifest);
      hls.attachMedia(v);
    } else {
      const p = dashjs.MediaPlayer().create();
      p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } }, buffer: { fastSwitchEnabled: false } } });
      p.on(dashjs.MediaPlayer.events.ERROR, (e) => {
        out.errors.push(JSON.stringify(e.error ?? e));
        finish('fatal');
      });
      // dash.js declares the end itself when currentTime reaches the
      // period's end, and then seeks there and pauses: on a loaded machine
      // that can come before the element's own 'ended', which then never
      // fires. Either one ends the run; the test checks currentTime.
      p.on(dashjs.MediaPlayer.events.PLAYBACK_ENDED, () => finish('ended (dash.js)'));
      p.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => {
        const reps = p.getRepresentationsByType('video');
        out.levels = reps.length;
        out.audioTracks = p.getTracksFor('audio').length;
        v.play().catch((err) => out.errors.push(String(err)));
      });
      p.on(dashjs.MediaPlayer.events.FRAGMENT_LOADING_COMPLETED, (e) => {
        if (e.mediaType !== 'video' || !e.request || e.request.type !== 'MediaSegment') return;
        const reps = p.getRepresentationsByType('video');
        const i = reps.findIndex((r) => r.id === e.request.representation.id);
        out.played.push(i);
        // the next segment from the next rendition (a switch at a segment
        // boundary, not a replacement of what is buffered)
        p.setRepresentationForTypeByIndex('video', (i + 1) % reps.length, false);
      });
      p.initialize(v, manifest, false);
    }
  });
}

/**
 * Serves `root` and plays `manifest` (a path under it) in headless chromium
 * with 'hls' (hls.js) or 'dash' (dash.js). Resolves with what the page saw.
 */
export async function play(root, manifest, kind, { codecs = [], timeoutMs = 60_000 } = {}) {
  const server = await staticServer(root, { '/player.html': { body: PAGE, type: 'text/html' }, '/hls.min.js': HLS_JS, '/dash.all.min.js': DASH_JS });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--mute-audio', '--no-first-run', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    page.on('response', (res) => { if (res.status() >= 400) logs.push(`${res.status()} ${res.url()}`); });
    // the SourceBuffers the player adds, with their MIME types, so that the
    // page can report what each one holds
    await page.evaluateOnNewDocument(() => {
      const add = MediaSource.prototype.addSourceBuffer;
      window.__sourceBuffers = [];
      MediaSource.prototype.addSourceBuffer = function addSourceBuffer(type) {
        const sb = add.call(this, type);
        window.__sourceBuffers.push({ type, sb });
        return sb;
      };
    });
    await page.goto(`${server.url}/player.html`, { waitUntil: 'load' });
    const r = await page.evaluate(playInPage, kind, `${server.url}/${manifest}`, codecs, timeoutMs);
    r.logs = logs.slice(-20);
    return r;
  } finally {
    await browser.close();
    await server.close();
  }
}
