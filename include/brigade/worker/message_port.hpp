#pragma once
// MessagePort and MessageChannel: two entangled ports; what one posts, the other receives on its
// own loop, in order (Node's MessageChannel). A port can itself be posted to another thread: it
// lets go of its loop when moved into a Message and starts again where on_message is called.
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/worker/mailbox.hpp"
#include "brigade/worker/message.hpp"

namespace brigade {

class MessagePort;

namespace detail {
// The receiving side of one port, shared with whoever sends to it.
struct PortCore {
  std::mutex mu;
  std::vector<Message> queue;         // guarded by mu
  std::shared_ptr<LoopHandle> inbox;  // guarded by mu; where deliveries run (null: not receiving)
  bool scheduled = false;  // guarded by mu: a delivery is on its way to inbox, or running there
  bool closed = false;     // guarded by mu
  MessagePort* owner = nullptr;  // guarded by mu; the port that receives
  // Bumped by set_receiver whenever inbox or owner changes. Only the receiving thread changes
  // them while it receives, so a delivery that finds it unchanged after a handler skips the lock.
  std::atomic<uint32_t> changes{0};

  // Under mu: the port that receives, and the loop it receives on (null: not receiving).
  void set_receiver(MessagePort* port, std::shared_ptr<LoopHandle> loop) {
    owner = port;
    inbox = std::move(loop);
    changes.fetch_add(1, std::memory_order_relaxed);
  }
  std::vector<Message> batch;  // the receiving thread only
};
// Queues m for the port behind `to` (any thread); false if that port is closed.
bool deliver(const std::shared_ptr<PortCore>& to, Message m);
}  // namespace detail

class MessagePort {
 public:
  using Handler = UniqueFunction<void(Message)>;

  MessagePort() noexcept = default;
  MessagePort(MessagePort&& o) noexcept;
  MessagePort& operator=(MessagePort&& o) noexcept;
  ~MessagePort() { close(); }

  // Sends to the other end (any movable value converts to a Message). False if it is closed.
  bool post_message(Message m) const;
  // Receives on `loop` (default: this thread's loop). Messages sent before this wait for it.
  // While it receives, the port keeps its loop alive unless unref()'d.
  void on_message(Handler handler, Loop* loop = nullptr);
  // Runs once when the other end closes (after every message it sent has been delivered).
  void on_close(UniqueFunction<void()> handler) { close_handler_ = std::move(handler); }
  // Closes both ends: this one stops receiving at once; the other gets its close event.
  void close();
  void ref();
  void unref();
  bool is_open() const noexcept { return bool(core_); }

  // Lets go of this thread so the port can travel (Message's constructor calls it).
  void detach_for_transfer();

 private:
  friend struct MessageChannel;
  friend class BroadcastChannel;
  MessagePort(std::shared_ptr<detail::PortCore> self, std::shared_ptr<detail::PortCore> peer)
      : core_(std::move(self)), peer_(std::move(peer)) {}
  void attach(Loop& loop);
  void detach();
  void fire_close();
  // With c.mu held: where to post a delivery once it is released (nullptr: none needed).
  static std::shared_ptr<LoopHandle> schedule_locked(detail::PortCore& c);
  static void post_delivery(LoopHandle& to, const std::shared_ptr<detail::PortCore>& c);
  static void deliver_batch(const std::shared_ptr<detail::PortCore>& c);
  static bool deliver_round(const std::shared_ptr<detail::PortCore>& c, bool closed);
  static MessagePort* receiver(detail::PortCore& c, uint32_t& changes);
  friend bool detail::deliver(const std::shared_ptr<detail::PortCore>&, Message);

  std::shared_ptr<detail::PortCore> core_;  // what this port receives
  std::shared_ptr<detail::PortCore> peer_;  // where this port sends
  Handler handler_;
  UniqueFunction<void()> close_handler_;
  MailboxRef mailbox_;
  KeepAlive keep_;
  Loop* loop_ = nullptr;
  bool ref_ = true;
};

// Two entangled ports.
struct MessageChannel {
  MessageChannel();
  MessagePort port1;
  MessagePort port2;
};

}  // namespace brigade
