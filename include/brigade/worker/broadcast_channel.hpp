#pragma once
// BroadcastChannel: every channel of the same name in the process, on any thread, receives what
// one of them posts (not the poster itself), in the order each poster sent it. A broadcast is
// delivered to many, so the value is copied for each receiver.
#include <memory>
#include <string>
#include <vector>

#include "brigade/worker/message_port.hpp"

namespace brigade {

class BroadcastChannel {
 public:
  explicit BroadcastChannel(std::string name);
  ~BroadcastChannel() { close(); }
  BroadcastChannel(const BroadcastChannel&) = delete;
  BroadcastChannel& operator=(const BroadcastChannel&) = delete;

  // Sends a copy of value to every other open channel of this name; returns how many.
  template <typename T>
  std::size_t post_message(const T& value) const {
    std::size_t n = 0;
    for (const auto& c : others()) n += detail::deliver(c, Message(T(value)));
    return n;
  }
  void on_message(MessagePort::Handler handler, Loop* loop = nullptr) {
    port_.on_message(std::move(handler), loop);
  }
  void unref() { port_.unref(); }
  void close();
  const std::string& name() const noexcept { return name_; }

 private:
  std::vector<std::shared_ptr<detail::PortCore>> others() const;

  std::string name_;
  std::shared_ptr<detail::PortCore> core_;
  MessagePort port_;
};

}  // namespace brigade
