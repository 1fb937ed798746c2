#include "brigade/task/spawn.hpp"

#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace brigade {

namespace {
std::mutex g_handler_mu;
UnhandledRejectionHandler g_handler;
}  // namespace

void set_unhandled_rejection_handler(UnhandledRejectionHandler handler) {
  std::lock_guard lock(g_handler_mu);
  g_handler = std::move(handler);
}

namespace detail {
const char* intern_task_name(const std::string& name) {
  // Each thread remembers the names it has seen: the shared table's lock is taken once per name.
  thread_local std::unordered_map<std::string, const char*> seen;
  if (auto it = seen.find(name); it != seen.end()) return it->second;
  static std::mutex mu;
  static auto* names = new std::unordered_set<std::string>;  // never freed: reports may read them
  constexpr std::size_t kMaxNames = 4096;
  const char* interned;
  {
    std::lock_guard lock(mu);
    auto it = names->find(name);
    if (it == names->end() && names->size() >= kMaxNames) return "task";
    if (it == names->end()) it = names->insert(name).first;
    interned = it->c_str();  // node-based: the characters never move
  }
  seen.emplace(name, interned);
  return interned;
}
}  // namespace detail

void report_unhandled_rejection(const std::string& name, std::exception_ptr error) {
  UnhandledRejectionHandler handler;
  {
    std::lock_guard lock(g_handler_mu);
    handler = g_handler;
  }
  if (handler) {
    handler(name, error);
    return;
  }
  // As in Node, an unhandled rejection nobody listens for is an uncaught exception: the loop's
  // handler gets it, if one is installed.
  std::string origin = "task '" + name + "'";
  if (Loop* loop = Loop::current(); loop && loop->has_uncaught_exception_handler()) {
    loop->dispatch_uncaught_exception(error, origin.c_str());
    return;
  }
  detail::exit_on_uncaught("unhandled rejection", origin.c_str(), error);
}

}  // namespace brigade
