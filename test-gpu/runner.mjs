// The test API for test-gpu/, under either runner:
//   jest (`npm run check:gpu`): jest's globals (test/jest/runner.cjs sets
//     them on globalThis while a file runs, and '@jest/globals' gives them)
//   node --test (scripts/device-check.sh on the bare GPU machine, which has
//     node but no node_modules): node:test
// One signature for both, jest's: test(name, fn, timeoutMs),
// beforeAll(fn, timeoutMs), afterAll(fn, timeoutMs), describe(name, fn).
// Nothing here skips: a check that cannot run fails.
const underJest = typeof globalThis.test === 'function' && typeof globalThis.beforeAll === 'function' && typeof globalThis.expect === 'function';

let api;
if (underJest) {
  api = await import('@jest/globals');
} else {
  const nt = await import('node:test');
  const opts = (timeout) => (timeout === undefined ? {} : { timeout });
  api = {
    test: (name, fn, timeout) => nt.test(name, opts(timeout), fn),
    describe: (name, fn) => nt.describe(name, fn),
    beforeAll: (fn, timeout) => nt.before(fn, opts(timeout)),
    afterAll: (fn, timeout) => nt.after(fn, opts(timeout)),
  };
}

export const runner = underJest ? 'jest' : 'node:test';
export const { test, describe, beforeAll, afterAll } = api;
