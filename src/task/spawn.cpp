#include "brigade/task/spawn.hpp"

#include <unistd.h>

#include <cstdio>
#include <mutex>

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
  std::fprintf(stderr, "brigade: unhandled rejection in task '%s': %s\n", name.c_str(),
               describe_exception(error).c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(1);  // other threads may still run: skip static destructors, as a crash would
}

}  // namespace brigade
