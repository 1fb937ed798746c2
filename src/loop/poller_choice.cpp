// make_poller(): which backend a new loop polls with (BRIGADE_BACKEND, else io_uring where the
// kernel allows it), and why not io_uring, said once per process.
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include "brigade/error.hpp"
#include "brigade/loop/log_sink.hpp"
#include "poller.hpp"

namespace brigade {

namespace {
// Each said once per process, whatever the number of loops.
std::atomic<bool> g_fallback_logged{false};
std::atomic<bool> g_bad_name_logged{false};

void log_once(std::atomic<bool>& logged, log::Level level, const std::string& message) {
  if (logged.exchange(true)) return;
  log::write({level, log::unix_now_ns(), message, "", {{"backend_note", message}}});
}
}  // namespace

std::unique_ptr<Poller> make_poller() {
  const char* env = std::getenv("BRIGADE_BACKEND");
  std::string_view wanted = env ? env : "";
  if (wanted == "epoll") return make_epoll_poller();
  if (!wanted.empty() && wanted != "io_uring")
    log_once(g_bad_name_logged, log::Level::kWarn,
             "BRIGADE_BACKEND='" + std::string(wanted) +
                 "' is neither io_uring nor epoll: the default backend is used");
  // Asked for by name, a fallback is worth a warning; by default, a note.
  log::Level level = wanted == "io_uring" ? log::Level::kWarn : log::Level::kInfo;
  const std::string& why = uring_unavailable_reason();
  if (!why.empty()) {
    log_once(g_fallback_logged, level, "event loops poll with epoll: io_uring unavailable: " + why);
    return make_epoll_poller();
  }
  try {
    return make_uring_poller();
  } catch (const Error& e) {
    log_once(g_fallback_logged, level,
             std::string("event loops poll with epoll: io_uring unavailable: ") + e.what());
    return make_epoll_poller();
  }
}

}  // namespace brigade
