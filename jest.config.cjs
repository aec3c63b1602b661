// Jest for the JavaScript suite: test/*.test.mjs, native ESM (run jest with
// node --experimental-vm-modules; scripts/run-tests.js does), against the
// compiled dist/ (the published surface), nothing transformed.
'use strict';

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  // jest-circus, with each test file evaluated in Node's main realm (see the
  // file for why: node:assert/strict across jest's vm realm fails correct results)
  testRunner: '<rootDir>/test/jest/runner.cjs',
  testMatch: ['<rootDir>/test/*.test.mjs'],
  moduleFileExtensions: ['js', 'mjs', 'cjs', 'json', 'node'],
  transform: {},
  // the old runner had no default timeout and some tests take a minute; the
  // per-test timeouts the files declare still apply
  testTimeout: 300_000,
  // every test file in a fresh worker process, as under node --test: a limit
  // below any worker's own heap makes jest replace the worker after each file
  // (and never run files in its own process). Files evaluated by Node's loader
  // stay loaded, and V8's GC scheduling in a process that ran other files
  // differs enough to move event-loop timings (test/lifecycle, test/cv).
  workerIdleMemoryLimit: '1MB',
  collectCoverage: false,
  // the build, bench and scratch folders hold no tests (and build/ is large)
  modulePathIgnorePatterns: ['<rootDir>/build/', '<rootDir>/build-static/', '<rootDir>/prebuilds/'],
};
