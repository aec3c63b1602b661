#!/usr/bin/env bash
# Builds and runs the C++ unit tests of native/core (GoogleTest via ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(node -p "Math.max(2, require('node:os').availableParallelism())")
cmake -S test/cpp -B build/cpp-tests -DCMAKE_BUILD_TYPE=RelWithDebInfo >/tmp/avcv-cpp-tests-configure.log 2>&1 ||
  { cat /tmp/avcv-cpp-tests-configure.log; exit 1; }
cmake --build build/cpp-tests --parallel "$jobs" >/tmp/avcv-cpp-tests-build.log 2>&1 ||
  { cat /tmp/avcv-cpp-tests-build.log; exit 1; }
ctest --test-dir build/cpp-tests --output-on-failure --parallel "$jobs"
