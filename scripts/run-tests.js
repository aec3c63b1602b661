#!/usr/bin/env node
// Runs the test suites:
//   node scripts/run-tests.js              C++ unit tests (scripts/cpp-tests.sh), then
//                                          every test/*.test.mjs with jest
//   node scripts/run-tests.js api writer   only the test files whose names contain
//                                          one of the words (no C++ tests)
//   node scripts/run-tests.js cv --test-name-pattern=canny
//                                          only the tests whose names match (jest -t)
//   node scripts/run-tests.js cv -- --bail other jest options after --
// Jest runs in its native ESM mode (node --experimental-vm-modules) with
// jest.config.cjs. The exit code is non-zero when anything failed.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const dashes = argv.indexOf('--');
const jestArgs = dashes < 0 ? [] : argv.slice(dashes + 1);
const only = [];
for (let i = 0, own = dashes < 0 ? argv : argv.slice(0, dashes); i < own.length; i++) {
  const a = own[i];
  if (a === '--test-name-pattern' || a === '-t') jestArgs.push('-t', own[++i] ?? '');
  else if (a.startsWith('--test-name-pattern=')) jestArgs.push('-t', a.slice('--test-name-pattern='.length));
  else only.push(a);
}
const files = fs.readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => path.join('test', f));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

if (only.length === 0 && jestArgs.length === 0) {
  const cpp = spawnSync('bash', [path.join('scripts', 'cpp-tests.sh')], { cwd: root, stdio: 'inherit' });
  if (cpp.status !== 0) {
    console.error(`C++ unit tests failed: scripts/cpp-tests.sh ${cpp.status === null ? `died of ${cpp.signal}` : `exited with ${cpp.status}`}`);
    process.exit(1);
  }
}

let jestBin;
try {
  jestBin = require.resolve('jest/bin/jest', { paths: [root] });
} catch {
  console.error('jest is not installed: run `npm install` (it is a devDependency)');
  process.exit(1);
}

// jest's results as JSON, kept for a look after the run
const results = path.join(root, 'build', 'jest-results.json');
fs.mkdirSync(path.dirname(results), { recursive: true });
fs.rmSync(results, { force: true });
const r = spawnSync(process.execPath, [
  '--experimental-vm-modules', '--disable-warning=ExperimentalWarning',
  jestBin, '--config', path.join(root, 'jest.config.cjs'),
  '--json', '--outputFile', results, ...jestArgs,
  '--runTestsByPath', ...files,
], { cwd: root, stdio: 'inherit' });

// jest printed its summary; a plain closing line too, from its results
let summary;
try {
  summary = JSON.parse(fs.readFileSync(results, 'utf8'));
} catch {
  // no results: jest itself failed (its error is above)
}
if (summary) {
  const skipped = summary.numPendingTests + summary.numTodoTests;
  console.log(`jest: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (summary.numRuntimeErrorTestSuites > 0) console.log(`jest: ${summary.numRuntimeErrorTestSuites} test file(s) failed to run`);
}
process.exit(r.status === null ? 1 : r.status);
