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
std::atomic<bool> g_recv_fallback_logged{false};
std::atomic<bool> g_accept_fallback_logged{false};

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
  // Receives into the ring's buffers unless turned off, or this kernel lacks them (a note).
  // 256 buffers of 2 KiB: a request fits one, and at most 512 KiB is ever touched (the idle
  // WebSocket budget is 2 KiB a socket); a bulk transfer costs a completion per 2 KiB.
  const char* recv_env = std::getenv("BRIGADE_URING_RECV");
  bool ring_recvs = !recv_env || std::string_view(recv_env) != "0";
  const std::string& why_not_recv = uring_recv_unavailable_reason();
  if (ring_recvs && !why_not_recv.empty())
    log_once(g_recv_fallback_logged, log::Level::kInfo,
             "io_uring loops receive through readiness: " + why_not_recv);
  // Listeners accept through one multishot request each unless turned off (or the kernel
  // lacks them: a note), else on readiness as with epoll.
  const char* accept_env = std::getenv("BRIGADE_URING_ACCEPT");
  bool ring_accepts = !accept_env || std::string_view(accept_env) != "0";
  const std::string& why_not_accept = uring_accept_unavailable_reason();
  if (ring_accepts && !why_not_accept.empty())
    log_once(g_accept_fallback_logged, log::Level::kInfo,
             "io_uring listeners accept on readiness: " + why_not_accept);
  try {
    return make_uring_poller(256, 4096, ring_recvs ? 256 : 0, 2048, ring_accepts);
  } catch (const Error& e) {
    log_once(g_fallback_logged, level,
             std::string("event loops poll with epoll: io_uring unavailable: ") + e.what());
    return make_epoll_poller();
  }
}

}  // namespace brigade
