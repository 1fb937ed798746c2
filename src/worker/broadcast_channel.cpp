#include "brigade/worker/broadcast_channel.hpp"

#include <algorithm>
#include <unordered_map>

namespace brigade {

namespace {
struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<std::shared_ptr<detail::PortCore>>> channels;
};
Registry& registry() {
  static Registry r;
  return r;
}
}  // namespace

BroadcastChannel::BroadcastChannel(std::string name)
    : name_(std::move(name)), core_(std::make_shared<detail::PortCore>()), port_(core_, nullptr) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.channels[name_].push_back(core_);
}

void BroadcastChannel::close() {
  if (!core_) return;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.channels.find(name_);
    if (it != r.channels.end()) {
      std::erase(it->second, core_);
      if (it->second.empty()) r.channels.erase(it);
    }
  }
  port_.close();
  core_.reset();
}

std::vector<std::shared_ptr<detail::PortCore>> BroadcastChannel::others() const {
  std::vector<std::shared_ptr<detail::PortCore>> out;
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.channels.find(name_);
  if (it == r.channels.end()) return out;
  for (const auto& c : it->second)
    if (c != core_) out.push_back(c);
  return out;
}

}  // namespace brigade
