#include "brigade/loop/fd_limit.hpp"

#include <sys/resource.h>

#include <cstdio>

namespace brigade {

namespace {

// The kernel's ceiling for RLIMIT_NOFILE (setrlimit refuses RLIM_INFINITY beyond it).
rlim_t kernel_nr_open() noexcept {
  rlim_t n = 1024 * 1024;
  if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
    unsigned long v = 0;
    if (std::fscanf(f, "%lu", &v) == 1 && v > 0) n = v;
    std::fclose(f);
  }
  return n;
}

}  // namespace

uint64_t raise_open_file_limit() noexcept {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  rlim_t want = r.rlim_max == RLIM_INFINITY ? kernel_nr_open() : r.rlim_max;
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < want) {
    rlimit raised{want, r.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) r.rlim_cur = want;
  }
  return r.rlim_cur;
}

}  // namespace brigade
