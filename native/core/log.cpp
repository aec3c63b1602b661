#include "log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <unordered_map>

extern "C" {
#include <libavfilter/avfilter.h>
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

// the least severe level any catcher keeps: messages above it are not looked up
std::atomic<int>& keepMax() {
  static std::atomic<int> m{AV_LOG_ERROR};
  return m;
}

void callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level <= keepMax().load(std::memory_order_relaxed) && avcl) {
    std::unique_lock<std::mutex> lk(mu());
    auto it = owners().find(avcl);
    // a filter logs as itself: its graph is what a FilterGraph watches
    if (it == owners().end() && *static_cast<const AVClass* const*>(avcl) == avfilter_get_class())
      it = owners().find(static_cast<const AVFilterContext*>(avcl)->graph);
    if (it != owners().end() && level <= it->second->keep()) {
      va_list copy;
      va_copy(copy, vl);
      char buf[4096];
      std::vsnprintf(buf, sizeof buf, fmt, copy);
      va_end(copy);
      it->second->fragment(buf, level);
    }
  }
  if (level <= av_log_get_level()) av_log_default_callback(avcl, level, fmt, vl);
}

}  // namespace

void installLogCapture() {
  static const bool once = (av_log_set_callback(callback), true);
  (void)once;
}

LogCatcher::LogCatcher(int keep) : keep_(keep) {
  int m = keepMax().load();
  while (keep > m && !keepMax().compare_exchange_weak(m, keep)) {}
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

void LogCatcher::note(const std::string& msg) {  // under mu()
  last_ = msg;
  recent_.push_back(msg);
  if (recent_.size() > 4) recent_.erase(recent_.begin());
}

// libav writes some lines in pieces ("Error initializing filter 'eq'", " with
// args '...'", "\n"): a line is noted once it ends.
void LogCatcher::fragment(const std::string& text, int level) {  // under mu()
  pending_ += text;
  pendingLevel_ = std::min(pendingLevel_, level);
  if (pending_.empty() || pending_.back() != '\n') return;
  std::string line;
  line.swap(pending_);
  const int lineLevel = pendingLevel_;
  pendingLevel_ = 1 << 30;
  if (keep_ > AV_LOG_ERROR) text_ += line;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (!line.empty() && lineLevel <= AV_LOG_ERROR) note(line);
}

std::string LogCatcher::text() const {
  std::lock_guard<std::mutex> lk(mu());
  return text_;
}

std::string LogCatcher::lastError() const {
  std::lock_guard<std::mutex> lk(mu());
  return last_;
}

std::string LogCatcher::recentErrors() const {
  std::lock_guard<std::mutex> lk(mu());
  std::string out;
  for (const std::string& l : recent_) out += (out.empty() ? "" : "; ") + l;
  return out;
}

}  // namespace avcv
