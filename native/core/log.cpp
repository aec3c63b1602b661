#include "log.h"

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

void callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level <= AV_LOG_ERROR && avcl) {
    std::unique_lock<std::mutex> lk(mu());
    auto it = owners().find(avcl);
    // a filter logs as itself: its graph is what a FilterGraph watches
    if (it == owners().end() && *static_cast<const AVClass* const*>(avcl) == avfilter_get_class())
      it = owners().find(static_cast<const AVFilterContext*>(avcl)->graph);
    if (it != owners().end()) {
      va_list copy;
      va_copy(copy, vl);
      char buf[512];
      std::vsnprintf(buf, sizeof buf, fmt, copy);
      va_end(copy);
      it->second->fragment(buf);
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

void LogCatcher::note(const std::string& msg) {  // under mu()
  last_ = msg;
  recent_.push_back(msg);
  if (recent_.size() > 4) recent_.erase(recent_.begin());
}

// libav writes some lines in pieces ("Error initializing filter 'eq'", " with
// args '...'", "\n"): a line is noted once it ends.
void LogCatcher::fragment(const std::string& text) {  // under mu()
  pending_ += text;
  if (pending_.empty() || pending_.back() != '\n') return;
  std::string line;
  line.swap(pending_);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (!line.empty()) note(line);
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
