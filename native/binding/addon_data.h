#pragma once
#include <napi.h>

namespace avcvjs {
// Per-environment state (main thread and each worker thread get their own).
struct AddonData {
  Napi::FunctionReference readerCtor;
  Napi::FunctionReference writerCtor;
  Napi::FunctionReference audioReaderCtor;
};
}  // namespace avcvjs
