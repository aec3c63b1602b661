#include "log.h"

#include <cstdio>
#include <mutex>
#include <unordered_map>

extern "C" {
#include <libavutil/log.h>
}

namespace avcv {
namespace {

std::mutex& mu() {
  static std::mutex m;
  return m;
}
std::unordered_map<const void*, LogCatcher*>& owners() {
  static std::unordered_map<const void*, LogCatcher*> m;
  return m;
}

void callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level <= AV_LOG_ERROR && avcl) {
    std::unique_lock<std::mutex> lk(mu());
    auto it = owners().find(avcl);
    if (it != owners().end()) {
      va_list copy;
      va_copy(copy, vl);
      char buf[512];
      std::vsnprintf(buf, sizeof buf, fmt, copy);
      va_end(copy);
      std::string msg(buf);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      if (!msg.empty()) it->second->note(msg);
    }
  }
  if (level <= av_log_get_level()) av_log_default_callback(avcl, level, fmt, vl);
}

}  // namespace

void installLogCapture() {
  static const bool once = (av_log_set_callback(callback), true);
  (void)once;
}

LogCatcher::~LogCatcher() {
  std::lock_guard<std::mutex> lk(mu());
  for (auto it = owners().begin(); it != owners().end();) {
    if (it->second == this) it = owners().erase(it);
    else ++it;
  }
}

void LogCatcher::watch(const void* c) {
  std::lock_guard<std::mutex> lk(mu());
  owners()[c] = this;
}

void LogCatcher::unwatch(const void* c) {
  std::lock_guard<std::mutex> lk(mu());
  auto it = owners().find(c);
  if (it != owners().end() && it->second == this) owners().erase(it);
}

void LogCatcher::note(const std::string& msg) { last_ = msg; }  // under mu()

std::string LogCatcher::lastError() const {
  std::lock_guard<std::mutex> lk(mu());
  return last_;
}

}  // namespace avcv
