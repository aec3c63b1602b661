// The JS-thread side of a wrap that owns a native thread. One place for the
// lifetime rules both wraps need:
// - a ThreadSafeFunction wakes the JS thread; it is unref'd except while JS
//   awaits a result, so a forgotten object never keeps the process alive but
//   an awaited one does;
// - an env cleanup hook stops the owner's thread at environment teardown
//   (worker termination, exit);
// - wake-ups reach the owner through a shared pointer that is cleared when
//   the owner goes away, so a late wake-up after GC or teardown does nothing;
// - nothing thrown while settling promises escapes a TSFN callback.
#pragma once
#include <napi.h>

#include <memory>

namespace avcvjs {

// Owner needs: void Drain(Napi::Env) and void EnvTeardown(), both public.
template <class Owner>
class JsLink {
 public:
  void Start(Napi::Env env, Owner* owner, const char* name) {
    env_ = env;
    owner_ = owner;
    shared_ = std::make_shared<Shared>();
    shared_->owner = owner;
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), name, 0, 1);
    tsfn_.Unref(env);
    napi_add_env_cleanup_hook(env, &JsLink::Hook, owner);
  }

  // Any thread: runs owner->Drain(env) on the JS thread.
  void Wake() {
    std::shared_ptr<Shared> sh = shared_;
    tsfn_.NonBlockingCall([sh](Napi::Env env, Napi::Function) {
      try {
        if (env && sh->owner) sh->owner->Drain(env);
      } catch (...) {}
    });
  }

  // JS thread: keep the process alive while JS awaits a result, or stop.
  void Hold(Napi::Env env) {
    if (!refed_ && !released_) {
      tsfn_.Ref(env);
      refed_ = true;
    }
  }
  void Unhold(Napi::Env env) {
    if (refed_ && !released_) {
      tsfn_.Unref(env);
      refed_ = false;
    }
  }

  // JS thread, once the owner's thread is joined (close/abort).
  void Release(Napi::Env env) {
    Unhold(env);
    if (!released_) {
      released_ = true;
      tsfn_.Release();
    }
    Detach();
  }

  // From the owner's EnvTeardown(): Node tears the TSFN down itself, so it
  // must not be released again from a later finalizer.
  void TornDown() {
    hookRan_ = true;
    released_ = true;
    Detach();
  }

  // From the owner's destructor (GC finalizer), after its thread is joined.
  void Dispose() {
    if (!hookRan_ && owner_) napi_remove_env_cleanup_hook(env_, &JsLink::Hook, owner_);
    hookRan_ = true;
    Detach();
    if (!released_ && tsfn_) {
      released_ = true;
      tsfn_.Release();
    }
  }

 private:
  struct Shared {
    Owner* owner = nullptr;
  };
  static void Hook(void* p) { static_cast<Owner*>(p)->EnvTeardown(); }
  void Detach() {
    if (shared_) shared_->owner = nullptr;
  }

  napi_env env_ = nullptr;
  Owner* owner_ = nullptr;
  std::shared_ptr<Shared> shared_;
  Napi::ThreadSafeFunction tsfn_;
  bool refed_ = false;
  bool released_ = false;
  bool hookRan_ = false;
};

}  // namespace avcvjs
