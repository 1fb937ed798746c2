#include "brigade/worker/spin.hpp"

#include <cstdlib>

namespace brigade::detail {

uint64_t default_spin_ns() noexcept {
  static const uint64_t ns = [] {
    const char* env = std::getenv("BRIGADE_SPIN_NS");
    return env ? std::strtoull(env, nullptr, 10) : uint64_t{50'000};
  }();
  return ns;
}

}  // namespace brigade::detail
