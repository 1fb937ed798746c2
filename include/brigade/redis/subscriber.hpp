#pragma once
// Subscriber: Redis pub/sub on a connection of its own (Node's ioredis in subscriber mode).
//
//   redis::Subscriber sub(options);
//   co_await sub.subscribe("news");
//   redis::Message m = co_await sub.next();   // m.channel, m.payload
//
// Messages queue until next() takes them. A lost connection is reopened with the client's
// backoff and every channel and pattern subscribed again; messages published meanwhile are
// lost (pub/sub is at-most-once: use a stream or the queue for what must not be lost).
// Loop-thread only; destroy it after the tasks that use it have finished.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>

#include "brigade/redis/connection.hpp"
#include "brigade/redis/options.hpp"
#include "brigade/task/task.hpp"

namespace brigade::redis {

struct Message {
  std::string channel;
  std::string payload;
  std::string pattern;  // the pattern that matched, for psubscribe
};

struct SubscriberCore;

class Subscriber {
 public:
  explicit Subscriber(Options options = {});
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Complete once the server has confirmed (so a message published after this is seen).
  Task<void> subscribe(std::string_view channel);
  Task<void> psubscribe(std::string_view pattern);
  Task<void> unsubscribe(std::string_view channel);

  // The oldest message not yet taken, waiting for one (timeout_ms 0: no deadline; then
  // TimeoutError; a stopped token: CancelledError).
  Task<Message> next(uint64_t timeout_ms = 0, std::stop_token stop = {});
  std::size_t pending() const noexcept;
  // Callback mode: every message goes to `handler` as it arrives instead of the queue next()
  // reads (no task needs to wait, so nothing keeps the loop alive). It must not destroy the
  // subscriber. nullptr goes back to queueing.
  using MessageHandler = std::function<void(Message&)>;
  void set_message_handler(MessageHandler handler);
  // Reconnections so far (each re-subscribes everything).
  uint64_t reconnects() const noexcept;

 private:
  std::shared_ptr<SubscriberCore> core_;
};

}  // namespace brigade::redis
