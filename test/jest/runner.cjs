// Jest test runner for this suite: jest-circus, except that each test file is
// imported by Node's own ESM loader (the main realm) instead of inside jest's
// vm context.
//
// Why: the suite checks results with node:assert/strict, and the values it
// checks come from the addon, from Node's builtins (fs, child_process) and
// from literals in the test files. Under jest's vm context the
// test file's literals, Error classes and typed-array constructors belong to
// another realm than those values, so deepStrictEqual (which compares
// prototypes), instanceof and assert.throws(fn, Class) fail on correct results
// (jest issue #2549): e.g. assert.deepEqual(readdirSync(d), []) fails there, as
// does r.hierarchy instanceof Int32Array for the addon's typed arrays; a first
// run of the converted files in jest's context failed dozens of tests so.
// Evaluated in the main realm, every assertion means what it meant under
// node:test; jest still finds, schedules, times out and reports every test.
//
// How: '@jest/globals' imported by such a file resolves (hooks.mjs) to
// globals.mjs, which forwards to the jest-circus globals of the file being run;
// they are also set on globalThis while a file runs (as jest injects them into
// its context), for code that cannot import them (test-gpu/runner.mjs, which
// must also run under plain node --test). After each file the temp folders
// that test/helpers.mjs's tempDir() made for it are removed.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { register } = require('node:module');
const circusModule = require('jest-circus/runner');
const circus = circusModule.default ?? circusModule;

// test/helpers.mjs's tempDir() adds its folders' removal here while a file runs
const FILE_CLEANUP = Symbol.for('avcv.test.fileCleanup');
const GLOBALS = ['test', 'it', 'describe', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach', 'expect', 'fit', 'fdescribe', 'xit', 'xtest', 'xdescribe'];
const imported = new Map();
let hooked = false;

module.exports = async function avcvRunner(globalConfig, config, environment, runtime, testPath, sendMessageToJest) {
  if (!hooked) {
    register(pathToFileURL(path.join(__dirname, 'hooks.mjs')));
    hooked = true;
  }
  let fileGlobals;
  const setGlobals = runtime.setGlobalsForRuntime.bind(runtime);
  runtime.setGlobalsForRuntime = (g) => {
    fileGlobals = g;
    return setGlobals(g);
  };
  const importInVm = runtime.unstable_importModule.bind(runtime);
  runtime.unstable_importModule = async (modulePath, ...rest) => {
    if (modulePath !== testPath) return importInVm(modulePath, ...rest);
    if (!fileGlobals) throw new Error('test/jest/runner.cjs: jest-circus set no globals before importing the test file');
    for (const k of GLOBALS) globalThis[k] = fileGlobals[k];
    // a file imported again in the same process (watch mode) must run again
    const n = (imported.get(testPath) ?? 0) + 1;
    imported.set(testPath, n);
    await import(pathToFileURL(testPath).href + (n > 1 ? `?run=${n}` : ''));
  };
  const cleanup = [];
  globalThis[FILE_CLEANUP] = cleanup;
  try {
    return await circus(globalConfig, config, environment, runtime, testPath, sendMessageToJest);
  } finally {
    for (const k of GLOBALS) delete globalThis[k];
    delete globalThis[FILE_CLEANUP];
    for (const remove of cleanup) {
      try {
        remove();
      } catch (err) {
        console.error(`${path.relative(process.cwd(), testPath)}: cleanup failed: ${err?.message ?? err}`);
      }
    }
  }
};
