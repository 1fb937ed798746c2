// cluster::run: which role this process plays.
#include <cstdlib>
#include <cstring>

#include "brigade/process/cluster.hpp"
#include "cluster_env.hpp"

namespace brigade::cluster {

bool is_worker() noexcept {
  const char* role = std::getenv(detail::kRoleEnv);
  return role && std::strcmp(role, "worker") == 0;
}

int run(Options options, WorkerMain worker_main) {
  if (is_worker()) return detail::run_worker(std::move(options), std::move(worker_main));
  return detail::run_primary(std::move(options));
}

}  // namespace brigade::cluster
