#pragma once
#include <napi.h>

namespace avcvjs {
// Gives back `n` heapRetain(true) calls of an environment that ends with
// readers still open (frame_pool.cpp).
void releaseHeapRetains(int n);

// Per-environment state (main thread and each worker thread get their own).
struct AddonData {
  Napi::FunctionReference readerCtor;
  Napi::FunctionReference writerCtor;
  Napi::FunctionReference audioReaderCtor;
  // heapRetain(true) calls not yet given back: a worker terminated with a
  // reader open runs no FinalizationRegistry callback, so its environment's
  // teardown gives them back
  int heapRetains = 0;
  AddonData() = default;
  AddonData(const AddonData&) = delete;
  AddonData& operator=(const AddonData&) = delete;
  ~AddonData() { releaseHeapRetains(heapRetains); }
};
}  // namespace avcvjs
