// frameBuffer(bytes): frame memory that goes back to a pool, not to the
// allocator, when its ArrayBuffer is collected.
//
// Why: a reader that hands out a fresh frame per iteration (the default
// for-await loop, where frames may be kept) pays for fresh memory every
// frame when frames are large: glibc gives the memory of large freed blocks
// back to the system, and the kernel maps and zeroes every page again (6,000
// page faults for one 4K bgr24 frame). Memory from this pool was touched
// before, and a frame still never changes while anything can see it: its
// block comes back only when V8 has collected the ArrayBuffer; release()
// detaches the frame's ArrayBuffer and hands the block to the reader on a
// new one.
//
// The pool is process-wide and, while a reader is open, keeps at most
// kIdleBytes of idle blocks, or kIdleBlocks blocks of a size, whichever is
// more; the rest is freed, and all of it once the last reader has closed.
// lib/frame.ts (frameMemory) uses it for frames of 32 MiB and more, which
// glibc serves with mmap even while heapRetain is on (8 MiB without it; V8
// reclaims its own smaller buffers sooner and more cheaply), on the main
// thread only, and not where external buffers are not allowed (Electron's
// memory cage): when a worker thread ends, Node runs the finalizers of the
// external buffers it made at once, in whatever order, so a block could go
// back while that worker's reader thread still decodes into it.
// (postMessage and structuredClone copy external memory rather than
// transfer it: no block leaves its thread.)
#include <napi.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <map>
#include <mutex>
#include <vector>

#include "addon_data.h"

namespace avcvjs {

namespace {

constexpr size_t kIdleBytes = size_t(256) << 20;
constexpr size_t kIdleBlocks = 4;

// A block: this header, then the frame's bytes (64-byte aligned, as the
// header is 64 bytes). `owners` counts the ArrayBuffers on the block: a
// release() moves the block to a new ArrayBuffer before the old one's
// finalizer has run, and the block goes back only when the last one's has.
struct alignas(64) Block {
  size_t bytes;
  std::atomic<int> owners;
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this) + sizeof(Block); }
  static Block* of(void* data) { return reinterpret_cast<Block*>(static_cast<uint8_t*>(data) - sizeof(Block)); }
};
static_assert(sizeof(Block) == 64, "the frame's bytes start 64-byte aligned");

struct Pool {
  std::mutex mu;
  bool keep = false;                           // keep idle blocks: a reader is open (framePoolKeep)
  std::map<size_t, std::vector<Block*>> idle;  // by size
  size_t idleBytes = 0;
  size_t liveBytes = 0;  // handed out, not yet back
  uint64_t reused = 0, allocated = 0, freed = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: finalizers may run at exit
  return *p;
}

// bytes mapped for a block of `bytes`: the header and the frame, in whole pages
size_t mapped(size_t bytes) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (sizeof(Block) + bytes + page - 1) / page * page;
}

void unmap(Block* b) {
  const size_t n = mapped(b->bytes);
  b->~Block();
  munmap(b, n);
}

Block* take(size_t bytes) {
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lk(p.mu);
    auto it = p.idle.find(bytes);
    if (it != p.idle.end() && !it->second.empty()) {
      Block* b = it->second.back();
      it->second.pop_back();
      p.idleBytes -= bytes;
      p.liveBytes += bytes;
      p.reused++;
      b->owners = 1;
      return b;
    }
  }
  // mmap, not malloc: a freed block goes back to the system at once (glibc
  // would keep blocks of this size in its heap, and the process's RSS with them)
  void* mem = mmap(nullptr, mapped(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  Block* b = new (mem) Block();
  b->bytes = bytes;
  b->owners = 1;
  std::lock_guard<std::mutex> lk(p.mu);
  p.liveBytes += bytes;
  p.allocated++;
  return b;
}

void giveBack(Block* b) {
  const size_t bytes = b->bytes;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.liveBytes -= bytes;
    std::vector<Block*>& v = p.idle[bytes];
    if (p.keep && (p.idleBytes + bytes <= kIdleBytes || v.size() < kIdleBlocks)) {
      v.push_back(b);
      p.idleBytes += bytes;
      return;
    }
    p.freed++;
  }
  unmap(b);
}

#ifndef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
// An ArrayBuffer on the block; its finalizer drops its ownership.
Napi::ArrayBuffer wrap(Napi::Env env, Block* b) {
  return Napi::ArrayBuffer::New(
      env, b->data(), b->bytes,
      [](Napi::Env, void*, Block* blk) {
        if (blk->owners.fetch_sub(1) == 1) giveBack(blk);
      },
      b);
}
#endif

// frameBuffer(bytes) -> ArrayBuffer of exactly `bytes`, pooled
Napi::Value FrameBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
  throw Napi::Error::New(env, "frameBuffer: external buffers are not allowed in this runtime");
#else
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "frameBuffer(bytes)");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1) || n > double(size_t(1) << 40) || n != static_cast<double>(static_cast<size_t>(n)))
    throw Napi::RangeError::New(env, "frameBuffer: bytes must be a positive integer");
  const size_t bytes = static_cast<size_t>(n);
  Block* b = take(bytes);
  if (!b) throw Napi::RangeError::New(env, "frameBuffer: cannot allocate " + std::to_string(bytes) + " bytes");
  return wrap(env, b);
#endif
}

// moveFrameBuffer(ab) -> a new ArrayBuffer on ab's block; ab is detached
// (every view of it is empty). frame.release() on pooled memory: the reader
// decodes into the block again at once. (structuredClone cannot move
// external memory out of an ArrayBuffer: Node copies it instead and leaves
// the original intact.) Only for ArrayBuffers from frameBuffer(): lib/frame.ts
// keeps them in a WeakSet.
Napi::Value MoveFrameBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
  throw Napi::Error::New(env, "moveFrameBuffer: external buffers are not allowed in this runtime");
#else
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "moveFrameBuffer(arrayBuffer)");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached() || ab.ByteLength() == 0) throw Napi::TypeError::New(env, "moveFrameBuffer: detached");
  Block* b = Block::of(ab.Data());
  b->owners.fetch_add(1);  // the new ArrayBuffer's, before the old one can let go
  ab.Detach();
  return wrap(env, b);
#endif
}

// framePoolKeep(keep): lib/ says whether a reader that takes from the pool
// is open. When the last one has closed, the idle blocks are freed, and so
// is every block that comes back later, until a reader opens again: a
// process that read one video does not hold its frames' memory for good.
Napi::Value FramePoolKeep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(env, "framePoolKeep(keep)");
  std::vector<Block*> drop;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> lk(p.mu);
    p.keep = info[0].As<Napi::Boolean>().Value();
    if (!p.keep) {
      for (auto& [size, v] : p.idle) {
        drop.insert(drop.end(), v.begin(), v.end());
        p.freed += v.size();
      }
      p.idle.clear();
      p.idleBytes = 0;
    }
  }
  for (Block* b : drop) unmap(b);
  return env.Undefined();
}

// framePoolStats() -> { idleBytes, liveBytes, idleBlocks, reused, allocated, freed }
Napi::Value FramePoolStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.mu);
  size_t blocks = 0;
  for (const auto& [size, v] : p.idle) blocks += v.size();
  Napi::Object o = Napi::Object::New(env);
  o.Set("idleBytes", static_cast<double>(p.idleBytes));
  o.Set("liveBytes", static_cast<double>(p.liveBytes));
  o.Set("idleBlocks", static_cast<double>(blocks));
  o.Set("reused", static_cast<double>(p.reused));
  o.Set("allocated", static_cast<double>(p.allocated));
  o.Set("freed", static_cast<double>(p.freed));
  return o;
}

// heapRetain(on) -> whether glibc's heap now keeps freed frame memory.
//
// Why: a frame of V8 memory (every frame below the pool's size, and every
// frame in a worker) is a fresh malloc() of a few MB. glibc serves it with
// mmap, or grows its heap for it, and gives it back to the system when V8
// frees it (munmap, or a trim of the heap's top past M_TRIM_THRESHOLD), so
// the kernel maps and zeroes many pages of the next frame again (84 page
// faults per 1080p bgr24 frame measured, 13 with the heap kept; mostly
// 130-210 of 675 pages at 720p, 0.1-18 kept). While a reader is open, large blocks
// come from the heap (M_MMAP_THRESHOLD 32 MiB, glibc's most) and freed ones
// stay in it up to 128 MiB (M_TRIM_THRESHOLD), so the next frames reuse
// memory already mapped. When the last reader closes, both go back to
// glibc's defaults (128 KiB) and malloc_trim(0) returns the free memory to
// the system. Counted process-wide (workers too); lib/frame.ts calls it as
// readers open and close. Not where the allocator is not glibc's.
std::mutex retainMu;
int retainUsers = 0;

// Adds `delta` users; the first sets the thresholds, the last restores them.
bool retainHeap(int delta) {
#if defined(__GLIBC__)
  std::lock_guard<std::mutex> lk(retainMu);
  const int before = retainUsers;
  retainUsers = std::max(0, retainUsers + delta);
  if (before == 0 && retainUsers > 0) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
  } else if (before > 0 && retainUsers == 0) {
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    malloc_trim(0);
  }
  return retainUsers > 0;
#else
  (void)delta;
  return false;
#endif
}

Napi::Value HeapRetain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(env, "heapRetain(on)");
  const bool on = info[0].As<Napi::Boolean>().Value();
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!data) throw Napi::Error::New(env, "heapRetain: the addon is not initialised");
  if (!on && data->heapRetains == 0) return Napi::Boolean::New(env, retainHeap(0));
  data->heapRetains += on ? 1 : -1;
  return Napi::Boolean::New(env, retainHeap(on ? 1 : -1));
}

}  // namespace

void releaseHeapRetains(int n) {
  if (n > 0) retainHeap(-n);
}

void InitFramePool(Napi::Env env, Napi::Object exports) {
  exports.Set("frameBuffer", Napi::Function::New(env, FrameBuffer, "frameBuffer"));
  exports.Set("moveFrameBuffer", Napi::Function::New(env, MoveFrameBuffer, "moveFrameBuffer"));
  exports.Set("framePoolKeep", Napi::Function::New(env, FramePoolKeep, "framePoolKeep"));
  exports.Set("framePoolStats", Napi::Function::New(env, FramePoolStats, "framePoolStats"));
  exports.Set("heapRetain", Napi::Function::New(env, HeapRetain, "heapRetain"));
}

}  // namespace avcvjs
