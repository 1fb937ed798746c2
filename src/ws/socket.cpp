#include <atomic>
#include <cstring>
#include <stdexcept>

#include "brigade/crypto/random.hpp"
#include "brigade/error.hpp"
#include "brigade/task/spawn.hpp"
#include "socket_core.hpp"

namespace brigade::ws {
namespace detail {

namespace {

std::atomic<uint64_t> g_next_id{1};

// Reads of plain sockets land here: the reader parses them before it suspends again (a read
// resumes its reader inline), so one buffer per thread serves every connection and an idle
// connection holds none.
std::span<char> scratch() {
  static thread_local std::unique_ptr<char[]> buf;
  constexpr std::size_t kSize = 64 * 1024;
  if (!buf) buf.reset(new char[kSize]);
  return {buf.get(), kSize};
}

void resume_later(Loop& loop, std::coroutine_handle<> h) {
  loop.queue_microtask([h] { h.resume(); });
}

std::size_t inbox_limit(const Options& o) {
  return std::max<std::size_t>(o.max_message_size, 1024 * 1024);
}

struct Park {
  SocketCore* core;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { core->reader_parked = h; }
  void await_resume() const noexcept {}
};

Task<void> read_loop(std::shared_ptr<SocketCore> c) {
  if (!c->pending.empty()) {
    std::string first = std::move(c->pending);
    c->feed(first);
  }
  while (!c->finished) {
    if (c->inbox_bytes >= inbox_limit(c->options) && !c->close_received) {
      co_await Park{c.get()};
      continue;
    }
    std::string_view data;
    try {
      if (c->tls) {
        std::span<char> buf(c->tls_buf.get(), 16 * 1024);
        auto read = c->tls->read(buf);
        std::size_t n = co_await read;
        data = std::string_view(buf.data(), n);
      } else {
        std::span<char> buf = scratch();
        std::size_t n = co_await c->tcp.read(buf);
        data = std::string_view(buf.data(), n);
      }
    } catch (const std::exception&) {
      c->finish(close_code::kAbnormal, {});
      break;
    }
    if (c->finished) break;
    if (data.empty()) {  // EOF: the end, after a close handshake or not
      c->finish(c->close_received ? c->code : close_code::kAbnormal, {});
      break;
    }
    if (!c->close_received && !c->parser.failed()) c->feed(data);
  }
}

Task<void> write_loop(std::shared_ptr<SocketCore> c) {
  while (!c->finished) {
    if (c->outbox.empty()) {
      if (c->close_after_write && !c->shut) {
        c->shut = true;
        try {
          if (c->tls) {
            auto s = c->tls->shutdown();
            co_await s;
          } else {
            co_await c->tcp.shutdown();
          }
        } catch (const std::exception&) {
          c->finish(c->close_received ? c->code : close_code::kAbnormal, {});
        }
        continue;
      }
      break;
    }
    std::shared_ptr<const std::string> frame = c->outbox.front();
    try {
      if (c->tls) {
        auto w = c->tls->write(*frame);
        co_await w;
      } else {
        co_await c->tcp.write(*frame);
      }
    } catch (const std::exception&) {
      c->finish(close_code::kAbnormal, {});
      break;
    }
    if (c->finished) break;
    c->outbox.pop_front();
    c->out_bytes -= frame->size();
    c->wake_senders();
  }
  c->writing = false;
}

}  // namespace

SocketCore::SocketCore(Loop& l, Role r, Options o, Negotiated n)
    : loop(&l),
      role(r),
      options(std::move(o)),
      negotiated(std::move(n)),
      id(g_next_id.fetch_add(1, std::memory_order_relaxed)),
      close_timer(l),
      heartbeat(l) {
  ParserOptions po;
  po.role = role;
  po.max_message_size = options.max_message_size;
  if (negotiated.deflate) {
    const DeflateParams& d = *negotiated.deflate;
    po.deflate = true;
    // What the peer compresses with: the client's parameters for a server, and back.
    po.inflate_no_context_takeover =
        role == Role::kServer ? d.client_no_context_takeover : d.server_no_context_takeover;
    bool mine_reset =
        role == Role::kServer ? d.server_no_context_takeover : d.client_no_context_takeover;
    int mine_bits = role == Role::kServer ? d.server_max_window_bits : d.client_max_window_bits;
    deflater = std::make_unique<Deflater>(mine_bits, mine_reset, options.deflate.level);
  }
  parser = Parser(po);
}

SocketCore::~SocketCore() = default;

void SocketCore::start(std::string buffered) {
  pending = std::move(buffered);
  if (!tls) tcp.set_drain_hook(&SocketCore::on_drain, this);
  if (options.ping_interval_ms) {
    heartbeat.start(
        options.ping_interval_ms, [this] { on_heartbeat(); }, true);
    heartbeat.unref();  // the socket keeps the loop alive, not its heartbeat
  }
  spawn(read_loop(shared_from_this()), "websocket");
}

std::shared_ptr<const std::string> SocketCore::encode(Opcode op, std::string_view data) {
  bool compress = deflater && (op == Opcode::kText || op == Opcode::kBinary) &&
                  data.size() >= options.deflate.threshold;
  std::string compressed;
  if (compress) {
    deflater->compress(data, compressed);
    data = compressed;
  }
  uint8_t mask[4];
  bool masked = role == Role::kClient;
  if (masked) crypto::random_fill(std::as_writable_bytes(std::span<uint8_t>(mask, 4)));
  char header[kMaxFrameHeader];
  std::size_t h =
      write_frame_header(header, op, true, compress, data.size(), masked ? mask : nullptr);
  auto frame = std::make_shared<std::string>();
  frame->reserve(h + data.size());
  frame->append(header, h);
  frame->append(data);
  if (masked) apply_mask(frame->data() + h, data.size(), mask);
  return frame;
}

std::size_t SocketCore::buffered() const noexcept {
  std::size_t n = out_bytes;
  if (tls)
    n += tls->socket().write_queue_size();
  else
    n += tcp.write_queue_size();
  return n;
}

bool SocketCore::enqueue(std::shared_ptr<const std::string> frame, bool control) {
  if (finished || (close_sent && !control)) return false;
  // The fast path: nothing of ours waits and the socket's queue is under its mark, so the
  // bytes go to the kernel now (the socket copies what it does not take).
  if (!tls && !writing && outbox.empty() && tcp.write_queue_size() < tcp.high_water_mark()) {
    int err = tcp.write_nowait(*frame);
    if (err) finish(close_code::kAbnormal, {});
    return !err;
  }
  out_bytes += frame->size();
  outbox.push_back(std::move(frame));
  kick_writer();
  return true;
}

void SocketCore::kick_writer() {
  if (writing || finished) return;
  writing = true;
  spawn(write_loop(shared_from_this()), "websocket write");
}

void SocketCore::send_close(uint16_t c, std::string_view why) {
  if (close_sent || finished) return;
  std::string payload = close_payload(c, why);
  auto frame = encode(Opcode::kClose, payload);
  close_sent = true;
  enqueue(std::move(frame), true);
}

void SocketCore::begin_close(uint16_t c, std::string_view why) {
  if (close_sent || finished) return;
  send_close(c, why);
  if (close_received) return;
  close_timer.start(options.close_timeout_ms, [this] { finish(close_code::kAbnormal, {}); });
}

void SocketCore::finish(uint16_t c, std::string_view why) noexcept {
  if (finished) return;
  finished = true;
  code = c;
  if (c == close_code::kAbnormal)
    reason.clear();
  else if (!why.empty())
    reason.assign(why);
  close_timer.clear();
  heartbeat.clear();
  if (tls)
    tls->close();
  else
    tcp.close();
  outbox.clear();
  out_bytes = 0;
  wake_receiver();
  wake_senders();
  if (reader_parked) resume_later(*loop, std::exchange(reader_parked, {}));
  for (auto h : close_waiters) resume_later(*loop, h);
  close_waiters.clear();
}

void SocketCore::feed(std::string_view bytes) {
  while (!bytes.empty() && !finished) {
    Event ev;
    std::size_t used = parser.parse(bytes, ev);
    bytes.remove_prefix(used);
    if (ev.kind == Event::Kind::kNone) {
      if (used == 0) break;
      continue;
    }
    heard = true;
    switch (ev.kind) {
      case Event::Kind::kText:
      case Event::Kind::kBinary:
        if (close_sent) break;  // we are closing: data that crossed our close frame is dropped
        inbox_bytes += ev.data.size();
        inbox.push_back(Message{std::move(ev.data), ev.kind == Event::Kind::kBinary});
        wake_receiver();
        break;
      case Event::Kind::kPing:
        if (!close_sent) enqueue(encode(Opcode::kPong, ev.data), true);
        break;
      case Event::Kind::kPong:
        break;
      case Event::Kind::kClose:
        close_received = true;
        code = ev.code;
        reason = std::move(ev.data);
        send_close(code == close_code::kNoStatus ? 0 : code, {});  // echo, unless we began
        close_timer.start(options.close_timeout_ms, [this] { finish(code, {}); });
        close_after_write = true;
        kick_writer();
        wake_receiver();
        return;
      case Event::Kind::kError:
        code = ev.code;
        reason = std::move(ev.data);
        send_close(ev.code, reason);
        close_received = true;  // nothing more is read: the connection is failed
        close_timer.start(options.close_timeout_ms, [this] { finish(code, {}); });
        close_after_write = true;
        kick_writer();
        wake_receiver();
        return;
      case Event::Kind::kNone:
        break;
    }
    if (used == 0) break;
  }
}

void SocketCore::wake_receiver() noexcept {
  if (receiver) resume_later(*loop, std::exchange(receiver, {}));
}

void SocketCore::wake_senders() noexcept {
  while (senders && (finished || buffered() <= options.high_water_mark)) {
    SendAwaiter* s = senders;
    senders = s->next_;
    if (!senders) senders_tail = nullptr;
    s->linked_ = false;
    if (finished) s->error_ = EPIPE;
    resume_later(*loop, s->waiter_);
  }
}

void SocketCore::on_drain(void* self) { static_cast<SocketCore*>(self)->wake_senders(); }

void SocketCore::on_heartbeat() {
  if (finished) return;
  if (heard) {
    heard = false;
    pinged = false;
  } else if (!pinged) {
    pinged = true;
    enqueue(encode(Opcode::kPing, {}), true);
  } else {
    finish(close_code::kAbnormal, {});  // silent for two intervals: a dead peer
  }
}

}  // namespace detail

// ---- Awaiters --------------------------------------------------------------------------------

ReceiveAwaiter::~ReceiveAwaiter() {
  if (linked_ && core_) core_->receiver = {};
}

bool ReceiveAwaiter::await_ready() {
  if (!core_) return true;
  if (core_->receiver) throw Error(EBUSY, "receive");
  return !core_->inbox.empty() || core_->finished || core_->close_received;
}

void ReceiveAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  core_->receiver = h;
  linked_ = true;
}

std::optional<Message> ReceiveAwaiter::await_resume() {
  linked_ = false;
  if (!core_ || core_->inbox.empty()) return std::nullopt;
  Message m = std::move(core_->inbox.front());
  core_->inbox.pop_front();
  core_->inbox_bytes -= m.data.size();
  if (core_->reader_parked && core_->inbox_bytes < detail::inbox_limit(core_->options))
    detail::resume_later(*core_->loop, std::exchange(core_->reader_parked, {}));
  return m;
}

SendAwaiter::~SendAwaiter() {
  if (!linked_) return;
  SendAwaiter** p = &core_->senders;  // the awaiting frame was destroyed: unlink
  SendAwaiter* prev = nullptr;
  while (*p != this) {
    prev = *p;
    p = &(*p)->next_;
  }
  *p = next_;
  if (core_->senders_tail == this) core_->senders_tail = prev;
}

bool SendAwaiter::await_ready() {
  if (!core_ || !core_->can_send()) {
    error_ = EPIPE;
    return true;
  }
  core_->enqueue(core_->encode(op_, data_));
  if (core_->finished) error_ = EPIPE;
  return core_->finished || core_->buffered() <= core_->options.high_water_mark;
}

void SendAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  waiter_ = h;
  linked_ = true;
  if (core_->senders_tail)
    core_->senders_tail->next_ = this;
  else
    core_->senders = this;
  core_->senders_tail = this;
}

void SendAwaiter::await_resume() const {
  if (error_) throw Error(error_, "send");
}

ClosedAwaiter::~ClosedAwaiter() {
  if (linked_ && core_) std::erase(core_->close_waiters, waiter_);
}
bool ClosedAwaiter::await_ready() const noexcept { return !core_ || core_->finished; }
void ClosedAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter_ = h;
  linked_ = true;
  core_->close_waiters.push_back(h);
}

// ---- WebSocket -------------------------------------------------------------------------------

WebSocket::WebSocket() noexcept = default;
WebSocket::~WebSocket() = default;
WebSocket::WebSocket(const WebSocket&) noexcept = default;
WebSocket& WebSocket::operator=(const WebSocket&) noexcept = default;
WebSocket::WebSocket(WebSocket&&) noexcept = default;
WebSocket& WebSocket::operator=(WebSocket&&) noexcept = default;
WebSocket::WebSocket(std::shared_ptr<detail::SocketCore> core) noexcept : core_(std::move(core)) {}

WebSocket WebSocket::open(net::Stream stream, std::string buffered, Role role, Options options,
                          Negotiated negotiated) {
  auto core = std::make_shared<detail::SocketCore>(stream.loop(), role, std::move(options),
                                                   std::move(negotiated));
  core->tcp = std::move(stream);
  core->start(std::move(buffered));
  return WebSocket(std::move(core));
}

WebSocket WebSocket::open_tls(tls::Stream stream, std::string buffered, Role role, Options options,
                              Negotiated negotiated) {
  Loop& loop = stream.socket().loop();
  auto core =
      std::make_shared<detail::SocketCore>(loop, role, std::move(options), std::move(negotiated));
  core->tls = std::make_unique<tls::Stream>(std::move(stream));
  core->tls_buf.reset(new char[16 * 1024]);
  core->start(std::move(buffered));
  return WebSocket(std::move(core));
}

bool WebSocket::send_nowait(std::string_view data, bool binary) {
  if (!core_ || !core_->can_send()) return false;
  if (!core_->enqueue(core_->encode(binary ? Opcode::kBinary : Opcode::kText, data))) return false;
  if (core_->buffered() > core_->options.max_buffered) {
    core_->begin_close(close_code::kPolicyViolation, "send buffer over its limit");
    return false;
  }
  return true;
}

bool WebSocket::send_frame(std::shared_ptr<const std::string> frame) {
  if (!core_ || !core_->can_send() || core_->role != Role::kServer) return false;
  if (core_->buffered() + frame->size() > core_->options.max_buffered) {
    core_->begin_close(close_code::kPolicyViolation, "send buffer over its limit");
    return false;
  }
  return core_->enqueue(std::move(frame));
}

void WebSocket::ping(std::string_view payload) {
  if (!core_ || !core_->can_send()) return;
  if (payload.size() > kMaxControlPayload)
    throw std::invalid_argument("ping payload over 125 bytes");
  core_->enqueue(core_->encode(Opcode::kPing, payload), true);
}

void WebSocket::close(uint16_t code, std::string_view reason) {
  if (!core_) return;
  if (code != close_code::kNoStatus && !is_valid_close_code(code))
    throw std::invalid_argument("invalid close code " + std::to_string(code));
  core_->begin_close(code, reason);
}

void WebSocket::terminate() noexcept {
  if (core_) core_->finish(close_code::kAbnormal, {});
}

bool WebSocket::is_open() const noexcept {
  return core_ && !core_->finished && !core_->close_sent && !core_->close_received;
}
std::size_t WebSocket::buffered_amount() const noexcept { return core_ ? core_->buffered() : 0; }
uint16_t WebSocket::close_code() const noexcept {
  return core_ ? core_->code : close_code::kAbnormal;
}
std::string_view WebSocket::close_reason() const noexcept {
  return core_ ? std::string_view(core_->reason) : std::string_view();
}
std::string_view WebSocket::protocol() const noexcept {
  return core_ ? std::string_view(core_->negotiated.protocol) : std::string_view();
}
bool WebSocket::compressed() const noexcept { return core_ && core_->deflater; }
Role WebSocket::role() const noexcept { return core_ ? core_->role : Role::kServer; }
uint64_t WebSocket::id() const noexcept { return core_ ? core_->id : 0; }

}  // namespace brigade::ws
