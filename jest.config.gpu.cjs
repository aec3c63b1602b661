// Jest for the GPU checks (`npm run check:gpu`): test-gpu/*.test.mjs, set up
// like the main suite (jest.config.cjs). Without a GPU every check fails.
'use strict';
const base = require('./jest.config.cjs');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test-gpu/*.test.mjs'],
};
