// The addon under jest: jest runs in a child process, in band (one process
// runs every file, one after the other), on small test files written here.
// Each imports the library, opens a reader on a clip the ffmpeg CLI made and
// compares a frame with the CLI's decode of it. All must pass both with this
// suite's setup (jest.config.cjs: test/jest/runner.cjs) and with plain jest
// (files in jest's vm context, as a user of the library would run them); and
// a file whose check is wrong must make the child fail, naming that test.
import { test, describe, beforeAll } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, makeClip } from './helpers.mjs';

const T = 120_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = tempDir('avcv-jest-workers-');
const lib = new URL('../dist/index.mjs', import.meta.url).href;
const helpers = new URL('./helpers.mjs', import.meta.url).href;
const W = 96;
const H = 64;
const clip = join(dir, 'clip.mp4');

/** A throwaway test file: frame `index` as `format` equals the CLI's frame `cliIndex`. */
function frameTest(name, format, index, cliIndex = index) {
  const bpp = format === 'gray' ? 1 : 3;
  return `
    import { test } from '@jest/globals';
    import { VideoReader, Frame } from ${JSON.stringify(lib)};
    import { cliFrames } from ${JSON.stringify(helpers)};

    test(${JSON.stringify(name)}, async () => {
      const reader = await VideoReader.open(${JSON.stringify(clip)}, { format: ${JSON.stringify(format)} });
      let frame;
      try {
        for (let i = 0; i <= ${index}; i++) frame = await reader.read();
      } finally {
        await reader.close();
      }
      if (!(frame instanceof Frame)) throw new Error('read() did not give a Frame');
      if (frame.width !== ${W} || frame.height !== ${H} || frame.format !== ${JSON.stringify(format)}) {
        throw new Error('frame is ' + frame.width + 'x' + frame.height + ' ' + frame.format);
      }
      const n = ${W * H * bpp};
      const cli = cliFrames(${JSON.stringify(clip)}, ${JSON.stringify(format)}).subarray(${cliIndex} * n, ${cliIndex + 1} * n);
      if (!Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).equals(cli)) {
        throw new Error('frame ${index} differs from the CLI frame ${cliIndex}');
      }
    }, 60000);
  `;
}

const GOOD = [
  ['one.test.mjs', 'frame 0 as bgr24 equals the CLI', 'bgr24', 0],
  ['two.test.mjs', 'frame 3 as gray equals the CLI', 'gray', 3],
  ['three.test.mjs', 'frame 7 as rgb24 equals the CLI', 'rgb24', 7],
];

/** A folder holding the good files, and the wrong one when `withBad`. */
function testFolder(name, withBad) {
  const d = join(dir, name);
  mkdirSync(d);
  for (const [file, title, format, index] of GOOD) writeFileSync(join(d, file), frameTest(title, format, index));
  if (withBad) writeFileSync(join(d, 'four.test.mjs'), frameTest('frame 2 compared with the CLI frame 5 (wrong on purpose)', 'bgr24', 2, 5));
  return d;
}

/** jest in a child process, in band, on folder d; the suite's runner unless `plain`. */
function runJest(d, { plain = false } = {}) {
  const config = { rootDir: d, testEnvironment: 'node', testMatch: ['<rootDir>/*.test.mjs'], transform: {}, testTimeout: 60_000 };
  if (!plain) config.testRunner = join(root, 'test', 'jest', 'runner.cjs');
  const configFile = join(d, 'jest.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const out = join(d, 'results.json');
  const r = spawnSync(process.execPath, [
    '--experimental-vm-modules', '--disable-warning=ExperimentalWarning',
    join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', configFile, '--runInBand', '--json', '--outputFile', out,
  ], { cwd: d, encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `jest was killed (${r.signal}): ${r.stderr.slice(-2000)}`);
  let results;
  try {
    results = JSON.parse(readFileSync(out, 'utf8'));
  } catch (e) {
    assert.fail(`jest wrote no results (status ${r.status}): ${r.stderr.slice(-2000)}`);
  }
  const tests = results.testResults.flatMap((f) => f.assertionResults.map((a) => ({ file: f.name, title: a.title, status: a.status })));
  return { status: r.status, stderr: r.stderr, results, tests };
}

beforeAll(() => {
  makeClip(clip, { size: `${W}x${H}`, frames: 10 });
}, T);

describe('jest in band on three files that use the addon', () => {
  for (const plain of [false, true]) {
    test(`all three pass (${plain ? 'plain jest: files in its vm context' : "this suite's runner"})`, () => {
      const r = runJest(testFolder(plain ? 'plain' : 'suite', false), { plain });
      assert.equal(r.status, 0, `jest exited with ${r.status}: ${r.stderr.slice(-3000)}`);
      assert.equal(r.results.numTotalTestSuites, 3, r.stderr.slice(-3000));
      assert.equal(r.results.numPassedTests, 3, r.stderr.slice(-3000));
      assert.equal(r.results.numFailedTests, 0, r.stderr.slice(-3000));
      assert.deepEqual(r.tests.map((t) => t.status), ['passed', 'passed', 'passed'], JSON.stringify(r.tests));
      assert.deepEqual(r.tests.map((t) => t.title).sort(), GOOD.map((g) => g[1]).sort());
    }, T);
  }

  test("a wrong frame check in a fourth file fails the run, and only that test (this suite's runner)", () => {
    const r = runJest(testFolder('with-bad', true));
    assert.notEqual(r.status, 0, 'jest exited 0 although a test fails');
    assert.equal(r.results.numTotalTestSuites, 4, r.stderr.slice(-3000));
    assert.equal(r.results.numPassedTests, 3, r.stderr.slice(-3000));
    assert.equal(r.results.numFailedTests, 1, r.stderr.slice(-3000));
    const failed = r.tests.filter((t) => t.status === 'failed');
    assert.deepEqual(failed.map((t) => t.title), ['frame 2 compared with the CLI frame 5 (wrong on purpose)']);
    assert.match(r.stderr, /frame 2 differs from the CLI frame 5/);
  }, T);
});
