#include "brigade/task/spawn.hpp"

#include <unistd.h>

#include <cstdio>
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

std::string describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
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
  if (Loop* loop = Loop::current(); loop && loop->has_uncaught_exception_handler()) {
    std::string origin = "task '" + name + "'";
    loop->dispatch_uncaught_exception(error, origin.c_str());
    return;
  }
  std::fprintf(stderr, "brigade: unhandled rejection in task '%s': %s\n", name.c_str(),
               describe_exception(error).c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(1);  // other threads may still run: skip static destructors, as a crash would
}

}  // namespace brigade
