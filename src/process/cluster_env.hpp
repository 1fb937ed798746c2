#pragma once
// What the primary tells a worker through its environment, and the control messages on the
// channel (every frame starts with 'C' for control, 'U' for a user message or 'B' for a
// broadcast, which the primary relays to the other workers).
#include <string>
#include <string_view>

#include "brigade/loop/loop.hpp"
#include "brigade/process/cluster.hpp"

namespace brigade::cluster::detail {

inline constexpr const char* kRoleEnv = "BRIGADE_CLUSTER_ROLE";  // "worker"
inline constexpr const char* kIdEnv = "BRIGADE_CLUSTER_ID";      // 0, 1, ...
inline constexpr const char* kHostEnv = "BRIGADE_CLUSTER_HOST";
inline constexpr const char* kPortEnv = "BRIGADE_CLUSTER_PORT";
inline constexpr const char* kPolicyEnv = "BRIGADE_CLUSTER_POLICY";  // "rr" or "reuseport"
inline constexpr const char* kHandlesFdEnv = "BRIGADE_CLUSTER_HANDLES_FD";
inline constexpr const char* kDrainDelayEnv = "BRIGADE_CLUSTER_DRAIN_MS";

inline constexpr char kControl = 'C';
inline constexpr char kUser = 'U';
inline constexpr char kBroadcast = 'B';
inline constexpr std::string_view kReady = "ready";
inline constexpr std::string_view kDisconnect = "disconnect";
inline constexpr std::string_view kDrain = "drain";        // primary to worker: readiness false
inline constexpr std::string_view kDraining = "draining";  // worker to primary: I got SIGTERM

inline std::string control(std::string_view what) {
  return std::string(1, kControl) + std::string(what);
}
inline std::string user(std::string_view what) { return std::string(1, kUser) + std::string(what); }
inline std::string broadcast(std::string_view what) {
  return std::string(1, kBroadcast) + std::string(what);
}

int run_primary(Options options);
int run_worker(Options options, WorkerMain worker_main);

}  // namespace brigade::cluster::detail
