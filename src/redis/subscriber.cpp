// Subscriber: one connection in subscribed mode, re-subscribing after a reconnect.
#include "brigade/redis/subscriber.hpp"

#include "backoff.hpp"
#include "brigade/error.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "waiters.hpp"

namespace brigade::redis {

struct SubscriberCore {
  SubscriberCore(Options o, Loop& l) : options(std::move(o)), loop(l), retry(l) {}

  Options options;
  Loop& loop;
  std::unique_ptr<Connection> conn;
  bool connecting = false;
  bool retry_pending = false;
  unsigned failures = 0;
  Timer retry;
  std::set<std::string> channels, patterns;
  std::deque<Message> messages;
  Subscriber::MessageHandler handler;
  detail::Waiters readers;    // next() callers
  detail::Waiters connected;  // subscribe() callers waiting for the connection
  std::stop_source stop;
  bool closed = false;
  uint64_t reconnects = 0;
  std::string last_error;
  std::weak_ptr<SubscriberCore> self;

  static bool on_reply(void* ctx, Reply& r) {
    auto* core = static_cast<SubscriberCore*>(ctx);
    if (r.type != Reply::Type::kArray || r.elements.size() < 3) return false;
    const std::string& kind = r.elements[0].str;
    Message m;
    if (kind == "message") {
      m = Message{std::move(r.elements[1].str), std::move(r.elements[2].str), {}};
    } else if (kind == "pmessage" && r.elements.size() >= 4) {
      m = Message{std::move(r.elements[2].str), std::move(r.elements[3].str),
                  std::move(r.elements[1].str)};
    } else {
      return false;  // a subscribe confirmation: the command waiting for it takes it
    }
    if (core->handler) {
      core->handler(m);
      return true;
    }
    core->messages.push_back(std::move(m));
    core->readers.wake_one();
    return true;
  }

  static void on_lost(void* ctx, const std::string& reason) {
    auto* core = static_cast<SubscriberCore*>(ctx);
    core->last_error = reason;
    core->conn.reset();
    core->schedule_retry();
  }

  void schedule_retry() {
    if (closed) return;
    ++failures;
    retry_pending = true;
    retry.start(detail::reconnect_delay(options, failures), [this] {
      retry_pending = false;
      start_connect();
    });
    retry.unref();
  }

  void start_connect() {
    if (closed || connecting || conn || retry_pending) return;
    connecting = true;
    spawn(open(self.lock()), "redis subscriber reconnect");
  }

  static Task<void> open(std::shared_ptr<SubscriberCore> core) {
    try {
      auto opening = Connection::open(core->options, core->stop.get_token());
      std::unique_ptr<Connection> c = co_await opening;
      if (core->closed) co_return;
      c->set_push_handler(&SubscriberCore::on_reply, core.get());
      // Subscribe again to everything (replies come in order: one per name).
      for (const std::string& ch : core->channels) {
        auto sub = c->command("SUBSCRIBE", ch);
        co_await sub;
      }
      for (const std::string& p : core->patterns) {
        auto sub = c->command("PSUBSCRIBE", p);
        co_await sub;
      }
      if (core->closed) co_return;
      if (core->failures > 0 || core->reconnects > 0) ++core->reconnects;
      c->set_lost_handler(&SubscriberCore::on_lost, core.get());
      core->conn = std::move(c);
      core->connecting = false;
      core->failures = 0;
      core->connected.wake_all();
    } catch (const std::exception& e) {
      if (core->closed) co_return;
      core->connecting = false;
      core->last_error = e.what();
      core->schedule_retry();
    }
  }

  Task<Connection*> connection() {
    loop.update_time();  // deadlines count from now, not from the loop's last turn
    uint64_t deadline = loop.now() + options.offline_wait_ms;
    for (;;) {
      if (closed) throw ConnectionError("redis: the subscriber is closed");
      if (conn && conn->ok()) co_return conn.get();
      if (failures == 0) start_connect();
      loop.update_time();
      uint64_t now = loop.now();
      if (now >= deadline)
        throw ConnectionError("redis: subscriber not connected" +
                              (last_error.empty() ? "" : " (" + last_error + ")"));
      auto wait = connected.wait(loop, deadline - now);
      co_await wait;
    }
  }

  // Static with the core held: a subscriber destroyed meanwhile fails the wait, freeing nothing.
  static Task<void> send(std::shared_ptr<SubscriberCore> core, const char* verb, std::string name,
                         std::set<std::string>* names, bool add) {
    if (add)
      names->insert(name);
    else
      names->erase(name);
    auto get = core->connection();
    Connection* c = co_await get;
    auto cmd = c->command(verb, name);
    co_await cmd;
  }
};

Subscriber::Subscriber(Options options) {
  Loop& loop = brigade::detail::loop_or_current(options.loop);
  core_ = std::make_shared<SubscriberCore>(std::move(options), loop);
  core_->self = core_;
}

Subscriber::~Subscriber() {
  core_->closed = true;
  core_->stop.request_stop();
  core_->retry.clear();
  core_->conn.reset();
  core_->readers.wake_all();
  core_->connected.wake_all();
}

// The name is copied here, outside the caller's co_await expression (g++ 12, see client.hpp).
Task<void> Subscriber::subscribe(std::string_view channel) {
  return SubscriberCore::send(core_, "SUBSCRIBE", std::string(channel), &core_->channels, true);
}
Task<void> Subscriber::psubscribe(std::string_view pattern) {
  return SubscriberCore::send(core_, "PSUBSCRIBE", std::string(pattern), &core_->patterns, true);
}
Task<void> Subscriber::unsubscribe(std::string_view channel) {
  return SubscriberCore::send(core_, "UNSUBSCRIBE", std::string(channel), &core_->channels, false);
}

void Subscriber::set_message_handler(MessageHandler handler) {
  core_->handler = std::move(handler);
}

std::size_t Subscriber::pending() const noexcept { return core_->messages.size(); }
uint64_t Subscriber::reconnects() const noexcept { return core_->reconnects; }

Task<Message> Subscriber::next(uint64_t timeout_ms, std::stop_token stop) {
  std::shared_ptr<SubscriberCore> core = core_;
  core->loop.update_time();
  uint64_t deadline = timeout_ms ? core->loop.now() + timeout_ms : 0;
  for (;;) {
    if (!core->messages.empty()) {
      Message m = std::move(core->messages.front());
      core->messages.pop_front();
      co_return m;
    }
    if (core->closed) throw ConnectionError("redis: the subscriber is closed");
    if (stop.stop_requested()) throw CancelledError("redis subscriber next");
    if (!core->conn && !core->connecting && core->failures == 0) core->start_connect();
    uint64_t wait_ms = 0;
    if (deadline) {
      core->loop.update_time();
      uint64_t now = core->loop.now();
      if (now >= deadline) throw TimeoutError("redis subscriber next");
      wait_ms = deadline - now;
    }
    if (stop.stop_possible()) wait_ms = wait_ms ? std::min<uint64_t>(wait_ms, 50) : 50;
    auto wait = core->readers.wait(core->loop, wait_ms);
    co_await wait;
  }
}

}  // namespace brigade::redis
