// What `import { test, ... } from '@jest/globals'` gives a test file under
// runner.cjs: each export forwards (calls and properties: test.each,
// describe.each, ...) to the jest-circus global of the test file being run,
// which runner.cjs sets on globalThis. One module serves every file a jest
// process runs, so nothing is bound when this module loads.
function current(name) {
  const f = globalThis[name];
  if (typeof f !== 'function') {
    throw new Error(`@jest/globals '${name}': no test file is being run by jest (test/jest/runner.cjs sets it)`);
  }
  return f;
}

function forward(name) {
  return new Proxy(function jestGlobal() {}, {
    apply: (_, self, args) => Reflect.apply(current(name), self, args),
    get: (_, key) => current(name)[key],
    has: (_, key) => key in current(name),
  });
}

export const test = forward('test');
export const it = forward('it');
export const describe = forward('describe');
export const beforeAll = forward('beforeAll');
export const afterAll = forward('afterAll');
export const beforeEach = forward('beforeEach');
export const afterEach = forward('afterEach');
export const expect = forward('expect');
export const fit = forward('fit');
export const fdescribe = forward('fdescribe');
export const xit = forward('xit');
export const xtest = forward('xtest');
export const xdescribe = forward('xdescribe');
