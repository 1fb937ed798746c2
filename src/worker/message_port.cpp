#include "brigade/worker/message_port.hpp"

#include "large_blocks.hpp"

// Locks: PortCore::mu is a leaf. A delivery is decided under it (the `scheduled` flag: at most one
// on its way) and posted to the receiving loop's LoopHandle after it is released; order needs no
// more, since a delivery takes the whole queue and a stale one (the port moved) does nothing.

namespace brigade {

bool detail::deliver(const std::shared_ptr<PortCore>& to, Message m) {
  std::shared_ptr<LoopHandle> wake;
  {
    std::lock_guard lock(to->mu);
    if (to->closed) return false;
    to->queue.push_back(std::move(m));
    wake = MessagePort::schedule_locked(*to);
  }
  if (wake) MessagePort::post_delivery(*wake, to);
  return true;
}

std::shared_ptr<LoopHandle> MessagePort::schedule_locked(detail::PortCore& c) {
  if (!c.inbox || c.scheduled) return nullptr;
  c.scheduled = true;
  return c.inbox;
}

void MessagePort::post_delivery(LoopHandle& to, const std::shared_ptr<detail::PortCore>& c) {
  to.post([c] { deliver_batch(c); });  // false: the loop is gone, and its port detached before
}

// The port that receives c on this thread now, or nullptr (moved away, closed, not started);
// `changes` gets the core's change count it was read at.
MessagePort* MessagePort::receiver(detail::PortCore& c, uint32_t& changes) {
  std::lock_guard lock(c.mu);
  changes = c.changes.load(std::memory_order_relaxed);
  return c.inbox.get() == LoopHandle::current() ? c.owner : nullptr;
}

// Takes the queue round after round while it refills, with `scheduled` still set, so a sender
// that keeps up only queues: no post, no wakeup. Past kYieldAfter messages it yields to the loop.
void MessagePort::deliver_batch(const std::shared_ptr<detail::PortCore>& c) {
  constexpr std::size_t kYieldAfter = 4096;
  std::size_t delivered = 0;
  for (;;) {
    bool closed;
    std::shared_ptr<LoopHandle> again;
    {
      std::lock_guard lock(c->mu);
      if (c->inbox.get() != LoopHandle::current()) return;  // stale: the port moved on
      closed = c->closed;
      if (c->queue.empty() && !closed) {
        c->scheduled = false;
        return;
      }
      if (delivered >= kYieldAfter) {
        again = c->inbox;  // still scheduled: this delivery goes to the back of the loop's line
      } else {
        c->scheduled = !closed;  // a close is the last round: after it, a delivery starts anew
        c->batch.swap(c->queue);
      }
    }
    if (again) return post_delivery(*again, c);
    delivered += c->batch.size();
    if (!deliver_round(c, closed) || closed) return;
  }
}

// Hands c->batch to the receiving port; false when the port left during it (the rest is queued
// again for its next home). Fires the close event after a closing round delivered everything.
bool MessagePort::deliver_round(const std::shared_ptr<detail::PortCore>& c, bool closed) {
  uint32_t seen = 0;
  MessagePort* port = receiver(*c, seen);
  std::size_t i = 0;
  for (; i < c->batch.size(); ++i) {
    // Relaxed: a change that matters here was made by this thread, in the last handler.
    if (c->changes.load(std::memory_order_relaxed) != seen) port = receiver(*c, seen);
    if (!port) break;
    if (!port->handler_) continue;
    // Call a moved-out handler: the handler may replace itself, move or destroy the port.
    Handler h = std::move(port->handler_);
    h(std::move(c->batch[i]));
    if (c->changes.load(std::memory_order_relaxed) != seen) port = receiver(*c, seen);
    if (port && !port->handler_) port->handler_ = std::move(h);
  }
  bool all = i == c->batch.size();
  if (!all) {  // the port left mid-batch: the rest waits for its next home
    std::shared_ptr<LoopHandle> wake;
    {
      std::lock_guard lock(c->mu);
      c->queue.insert(c->queue.begin(), std::make_move_iterator(c->batch.begin() + long(i)),
                      std::make_move_iterator(c->batch.end()));
      wake = schedule_locked(*c);
    }
    if (wake) post_delivery(*wake, c);
  }
  c->batch.clear();
  if (closed && all) {
    if (MessagePort* now = receiver(*c, seen)) now->fire_close();
  }
  return all && port;
}

MessagePort::MessagePort(MessagePort&& o) noexcept
    : core_(std::move(o.core_)),
      peer_(std::move(o.peer_)),
      handler_(std::move(o.handler_)),
      close_handler_(std::move(o.close_handler_)),
      mailbox_(std::move(o.mailbox_)),
      keep_(std::move(o.keep_)),
      loop_(std::exchange(o.loop_, nullptr)),
      ref_(o.ref_) {
  if (mailbox_) {
    std::lock_guard lock(core_->mu);
    core_->set_receiver(this, core_->inbox);
  }
}

MessagePort& MessagePort::operator=(MessagePort&& o) noexcept {
  if (this != &o) {
    close();
    core_ = std::move(o.core_);
    peer_ = std::move(o.peer_);
    handler_ = std::move(o.handler_);
    close_handler_ = std::move(o.close_handler_);
    mailbox_ = std::move(o.mailbox_);
    keep_ = std::move(o.keep_);
    loop_ = std::exchange(o.loop_, nullptr);
    ref_ = o.ref_;
    if (mailbox_) {
      std::lock_guard lock(core_->mu);
      core_->set_receiver(this, core_->inbox);
    }
  }
  return *this;
}

bool MessagePort::post_message(Message m) const {
  return peer_ && detail::deliver(peer_, std::move(m));
}

void MessagePort::on_message(Handler handler, Loop* loop) {
  if (!core_) throw std::logic_error("MessagePort::on_message: the port is closed");
  detail::keep_large_blocks_in_heap();  // ports carry messages between threads
  handler_ = std::move(handler);
  Loop* target = loop ? loop : Loop::current();
  if (!target) throw std::logic_error("MessagePort::on_message: no loop on this thread");
  if (loop_ && loop_ != target) detach();
  attach(*target);
}

void MessagePort::attach(Loop& loop) {
  if (mailbox_) return;
  mailbox_ = MailboxRef(loop);
  loop_ = &loop;
  if (ref_) keep_ = KeepAlive(loop);
  std::shared_ptr<LoopHandle> wake;
  {
    std::lock_guard lock(core_->mu);
    core_->set_receiver(this, mailbox_.handle());
    if (!core_->queue.empty() || core_->closed) wake = schedule_locked(*core_);
  }
  if (wake) post_delivery(*wake, core_);
}

void MessagePort::detach() {
  if (!mailbox_) return;
  {
    std::lock_guard lock(core_->mu);
    core_->set_receiver(nullptr, nullptr);
    core_->scheduled = false;
  }
  keep_.reset();
  mailbox_.reset();
  loop_ = nullptr;
}

void MessagePort::detach_for_transfer() {
  if (!core_) return;
  detach();
  handler_.reset();
  close_handler_.reset();
}

void MessagePort::ref() {
  ref_ = true;
  if (mailbox_) keep_ = KeepAlive(*loop_);
}

void MessagePort::unref() {
  ref_ = false;
  keep_.reset();
}

void MessagePort::close() {
  if (!core_) return;
  detach();
  {
    std::lock_guard lock(core_->mu);
    core_->closed = true;
    core_->queue.clear();
  }
  if (peer_) {
    std::shared_ptr<LoopHandle> wake;
    {
      std::lock_guard lock(peer_->mu);
      peer_->closed = true;
      wake = schedule_locked(*peer_);
    }
    if (wake) post_delivery(*wake, peer_);
  }
  core_.reset();
  peer_.reset();
  handler_.reset();
  close_handler_.reset();
}

void MessagePort::fire_close() {
  UniqueFunction<void()> h = std::move(close_handler_);
  close();
  if (h) h();
}

MessageChannel::MessageChannel() {
  auto a = std::make_shared<detail::PortCore>();
  auto b = std::make_shared<detail::PortCore>();
  port1 = MessagePort(a, b);
  port2 = MessagePort(b, a);
}

}  // namespace brigade
