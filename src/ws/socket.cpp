#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "brigade/crypto/random.hpp"
#include "brigade/error.hpp"
#include "brigade/task/spawn.hpp"
#include "socket_core.hpp"

namespace brigade::ws {
namespace detail {

// An idle callback socket is this struct and its TCP stream: keep it a 112-byte allocation.
static_assert(sizeof(SocketCore) <= 104, "SocketCore grew: move what idle sockets lack to Rare");

namespace {

std::atomic<uint64_t> g_next_id{1};

// Reads land here and are parsed before the hook returns, so one buffer per thread serves
// every connection and an idle connection holds none.
std::span<char> read_scratch() {
  static thread_local std::unique_ptr<char[]> buf;
  constexpr std::size_t kSize = 64 * 1024;
  if (!buf) buf.reset(new char[kSize]);
  return {buf.get(), kSize};
}

// Frames are encoded here when the transport takes them at once (the common case): no
// allocation per message. Released past 64 KiB so one big message does not pin its size.
std::string& frame_scratch() {
  static thread_local std::string buf;
  return buf;
}

void resume_later(Loop& loop, std::coroutine_handle<> h) {
  loop.queue_microtask([h] { h.resume(); });
}

}  // namespace

CoreRef::CoreRef(SocketCore* core) noexcept : core_(core) { ++core_->refs; }
CoreRef::~CoreRef() {
  if (core_ && --core_->refs == 0) delete core_;
}

SocketCore::SocketCore(Loop& l, Role r, std::shared_ptr<const Profile> o, Negotiated n)
    : role(r),
      loop(&l),
      options(std::move(o)),
      id(g_next_id.fetch_add(1, std::memory_order_relaxed)) {
  if (!n.protocol.empty()) rare_state().protocol = std::move(n.protocol);
  if (n.deflate) {
    const DeflateParams& d = *n.deflate;
    ParserOptions po;
    po.role = role;
    po.max_message_size = options->max_message_size;
    po.deflate = true;
    // What the peer compresses with: the client's parameters for a server, and back.
    po.inflate_no_context_takeover =
        role == Role::kServer ? d.client_no_context_takeover : d.server_no_context_takeover;
    bool mine_reset =
        role == Role::kServer ? d.server_no_context_takeover : d.client_no_context_takeover;
    int mine_bits = role == Role::kServer ? d.server_max_window_bits : d.client_max_window_bits;
    rare_state().deflater =
        std::make_unique<Deflater>(mine_bits, mine_reset, options->deflate.level);
    parser = std::make_unique<Parser>(po);
    keep_parser = true;
  }
}

SocketCore::~SocketCore() = default;

SocketCore::Rare& SocketCore::rare_state() {
  if (!rare) rare = std::make_unique<Rare>();
  return *rare;
}

SocketCore::Inbox& SocketCore::inbox_state() {
  if (!inbox) inbox = std::make_unique<Inbox>();
  return *inbox;
}

WebSocket SocketCore::handle() noexcept { return WebSocket(this); }

void SocketCore::callback_failed() { begin_close(close_code::kInternalError, "internal error"); }

std::size_t SocketCore::inbox_limit() const noexcept {
  return std::max<std::size_t>(options->max_message_size, 1024 * 1024);
}

void SocketCore::own() {
  assert(!owned);
  owned = true;
  ++refs;
  if (options->ping_interval_ms) {
    heartbeat = loop->set_interval(options->ping_interval_ms, [this] { on_heartbeat(); });
    loop->unref_timer(heartbeat);  // the socket keeps the loop alive, not its heartbeat
  }
}

void SocketCore::start(std::string_view buffered) {
  if (finished) return;
  if (!buffered.empty()) feed(buffered);
  if (finished) return;
  if (secure) {
    tls.set_read_hook(&SocketCore::on_readable, this);
    tls.set_drain_hook(&SocketCore::on_drain, this);
  } else {
    tcp.set_read_hook(&SocketCore::on_readable, this);
    tcp.set_drain_hook(&SocketCore::on_drain, this);
  }
  read_available();  // bytes may be waiting already
}

void SocketCore::on_readable(void* p) { static_cast<SocketCore*>(p)->read_available(); }

void SocketCore::read_available() {
  std::span<char> buf = read_scratch();
  while (!finished) {
    if (inbox_bytes() >= inbox_limit() && !close_received) {
      read_paused = true;  // resumed by receive(); meanwhile the peer is held by TCP
      return;
    }
    long n = secure ? tls.try_read(buf) : tcp.try_read(buf);
    if (n == -EAGAIN) return;
    if (n < 0) {
      finish(close_code::kAbnormal, {});
      return;
    }
    if (n == 0) {  // EOF: the end, after a close handshake or not
      finish(close_received ? code : close_code::kAbnormal, {});
      return;
    }
    if (!close_received) feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    // A short plain read drained the socket (the next arrival raises a new edge); TLS hands
    // out one record per call, so it reads on until -EAGAIN.
    if (!secure && static_cast<std::size_t>(n) < buf.size()) return;
  }
}

void SocketCore::resume_reading() {
  if (!read_paused || inbox_bytes() >= inbox_limit()) return;
  read_paused = false;
  assert(owned);  // paused reading implies open (finish() clears the flag)
  loop->queue_microtask([s = CoreRef(this)] {
    if (!s->finished && !s->read_paused) s->read_available();
  });
}

std::size_t SocketCore::transport_queue() const noexcept {
  return secure ? tls.write_queue_size() : tcp.write_queue_size();
}

int SocketCore::write_now(std::string_view bytes) noexcept {
  return secure ? tls.write_nowait(bytes) : tcp.write_nowait(bytes);
}

std::size_t SocketCore::buffered() const noexcept {
  return (batch ? batch->size() : 0) + (rare ? rare->out_bytes : 0) + transport_queue();
}

bool SocketCore::send_message(Opcode op, std::string_view data, bool control) {
  if (finished || (close_sent && !control)) return false;
  Deflater* deflater = rare ? rare->deflater.get() : nullptr;
  bool compress = deflater && (op == Opcode::kText || op == Opcode::kBinary) &&
                  data.size() >= options->deflate.threshold;
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
  std::string& frame = frame_scratch();
  frame.assign(header, h);
  frame.append(data);
  if (masked) apply_mask(frame.data() + h, data.size(), mask);
  bool ok = transmit(frame, nullptr, control);
  if (frame.capacity() > 64 * 1024) std::string().swap(frame);
  return ok;
}

bool SocketCore::send_shared(const std::shared_ptr<const std::string>& frame) {
  return transmit(*frame, &frame, false);
}

// Order is kept across the three ways out: this turn's batch, the transport (which copies what
// the kernel does not take), and the outbox while the transport is over its mark. Shared and
// large frames skip the batch, so a broadcast copies nothing per socket (and counts no reference
// unless the frame has to wait in the outbox).
bool SocketCore::transmit(std::string_view frame, const std::shared_ptr<const std::string>* shared,
                          bool control) {
  if (finished || (close_sent && !control)) return false;
  if (batch) {
    batch->append(frame);
    return true;
  }
  if ((!rare || rare->outbox.empty()) && transport_queue() < options->high_water_mark) {
    constexpr std::size_t kBatchUpTo = 16 * 1024;
    if (shared || frame.size() > kBatchUpTo) {
      if (write_now(frame) != 0) {
        finish(close_code::kAbnormal, {});
        return false;
      }
      return true;
    }
    batch = std::make_unique<std::string>(frame);
    assert(owned);  // not finished, so still owned by itself
    loop->queue_microtask([s = CoreRef(this)] { s->flush_batch(); });
    return true;
  }
  Rare& r = rare_state();
  r.out_bytes += frame.size();
  r.outbox.push_back(shared ? *shared : std::make_shared<const std::string>(frame));
  return true;
}

void SocketCore::flush_batch() {
  std::unique_ptr<std::string> out = std::move(batch);
  if (!out || finished) return;
  if (write_now(*out) != 0) {
    finish(close_code::kAbnormal, {});
    return;
  }
  end_if_flushed();
  wake_senders();  // the kernel may have taken it all: no drain hook would tell them
  drained();
}

void SocketCore::on_drain(void* p) { static_cast<SocketCore*>(p)->pump(); }

// The transport's queue emptied: hand it queued frames up to the mark, then wake senders.
void SocketCore::pump() {
  if (finished) return;
  if (rare) {
    auto& outbox = rare->outbox;
    while (!outbox.empty() && transport_queue() < options->high_water_mark) {
      std::shared_ptr<const std::string> frame = std::move(outbox.front());
      outbox.pop_front();
      rare->out_bytes -= frame->size();
      if (write_now(*frame) != 0) {
        finish(close_code::kAbnormal, {});
        return;
      }
    }
  }
  end_if_flushed();
  wake_senders();
  drained();
}

void SocketCore::drained() {
  if (!want_drain || finished || buffered() > options->high_water_mark) return;
  want_drain = false;
  if (!options->behavior->drain) return;
  WebSocket ws = handle();
  try {
    options->behavior->drain(ws);
  } catch (...) {
    callback_failed();
  }
}

void SocketCore::end_if_flushed() {
  if (!close_after_write || shut || finished || batch || (rare && !rare->outbox.empty())) return;
  shut = true;  // the transport half-closes once its own queue is out
  if (secure)
    tls.end();
  else
    tcp.end();
}

void SocketCore::send_close(uint16_t c, std::string_view why) {
  if (close_sent || finished) return;
  std::string payload = close_payload(c, why);
  close_sent = true;
  send_message(Opcode::kClose, payload, true);
}

void SocketCore::start_close_timer(uint16_t code_on_timeout) {
  TimerId& timer = rare_state().close_timer;
  if (timer) loop->clear_timer(timer);
  timer = loop->set_timeout(options->close_timeout_ms,
                            [this, code_on_timeout] { finish(code_on_timeout, {}); });
}

void SocketCore::begin_close(uint16_t c, std::string_view why) {
  if (close_sent || finished) return;
  send_close(c, why);
  if (close_received || finished) return;
  start_close_timer(close_code::kAbnormal);
}

void SocketCore::finish(uint16_t c, std::string_view why) noexcept {
  if (finished) return;
  finished = true;
  code = c;
  if (c == close_code::kAbnormal) {
    if (rare) rare->reason.clear();
  } else if (!why.empty()) {
    rare_state().reason.assign(why);
  }
  if (rare && rare->close_timer) loop->clear_timer(std::exchange(rare->close_timer, TimerId{}));
  if (heartbeat) loop->clear_timer(std::exchange(heartbeat, TimerId{}));
  if (secure)
    tls.close();
  else
    tcp.close();
  read_paused = false;
  batch.reset();
  if (rare) {
    rare->outbox.clear();
    rare->out_bytes = 0;
  }
  wake_receiver();
  wake_senders();
  if (rare) {
    for (auto h : rare->close_waiters) resume_later(*loop, h);
    rare->close_waiters.clear();
  }
  if (options->behavior && options->behavior->close) {
    WebSocket ws = handle();
    try {
      options->behavior->close(ws, code,
                               rare ? std::string_view(rare->reason) : std::string_view());
    } catch (...) {
      report_unhandled_rejection("websocket close callback", std::current_exception());
    }
  }
  // Released from the microtask queue: whoever called finish may still be using this.
  if (owned) {
    owned = false;
    loop->queue_microtask([s = CoreRef(this)] {});
    --refs;  // the microtask's reference keeps it
  }
}

void SocketCore::deliver(std::string data, bool binary) {
  if (const Behavior* behavior = options->behavior) {
    if (!behavior->message) return;
    WebSocket ws = handle();
    try {
      behavior->message(ws, data, binary);
    } catch (...) {
      callback_failed();
    }
    return;
  }
  Inbox& in = inbox_state();
  in.bytes += data.size();
  in.messages.push_back(Message{std::move(data), binary});
  wake_receiver();
}

void SocketCore::feed(std::string_view bytes) {
  std::optional<Parser> fresh;
  Parser* p = parser.get();
  if (!p) {
    ParserOptions po;
    po.role = role;
    po.max_message_size = options->max_message_size;
    p = &fresh.emplace(po);
  }
  while (!bytes.empty() && !finished && !close_received) {
    Event ev;
    std::size_t used = p->parse(bytes, ev);
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
        deliver(std::move(ev.data), ev.kind == Event::Kind::kBinary);
        break;
      case Event::Kind::kPing:
        if (!close_sent) send_message(Opcode::kPong, ev.data, true);
        break;
      case Event::Kind::kPong:
        break;
      case Event::Kind::kClose:
        close_received = true;
        code = ev.code;
        if (!ev.data.empty()) rare_state().reason = std::move(ev.data);
        send_close(code == close_code::kNoStatus ? 0 : code, {});  // echo, unless we began
        start_close_timer(code);
        close_after_write = true;
        end_if_flushed();
        wake_receiver();
        break;
      case Event::Kind::kError:
        code = ev.code;
        rare_state().reason = std::move(ev.data);
        send_close(ev.code, rare->reason);
        close_received = true;  // nothing more is read: the connection is failed
        start_close_timer(code);
        close_after_write = true;
        end_if_flushed();
        wake_receiver();
        break;
      case Event::Kind::kNone:
        break;
    }
    if (used == 0) break;
  }
  if (finished || close_received) {
    parser.reset();  // nothing more is parsed
  } else if (fresh) {
    if (!fresh->idle()) parser = std::make_unique<Parser>(std::move(*fresh));
  } else if (!keep_parser && parser->idle()) {
    parser.reset();  // between messages again: an idle connection holds no parser
  }
}

void SocketCore::wake_receiver() noexcept {
  if (inbox && inbox->receiver) resume_later(*loop, std::exchange(inbox->receiver, {}));
}

void SocketCore::wake_senders() noexcept {
  if (!rare) return;
  while (rare->senders && (finished || buffered() <= options->high_water_mark)) {
    SendAwaiter* s = rare->senders;
    rare->senders = s->next_;
    if (!rare->senders) rare->senders_tail = nullptr;
    s->linked_ = false;
    if (finished) s->error_ = EPIPE;
    resume_later(*loop, s->waiter_);
  }
}

void SocketCore::on_heartbeat() {
  if (finished) return;
  if (heard) {
    heard = false;
    pinged = false;
  } else if (!pinged) {
    pinged = true;
    send_message(Opcode::kPing, {}, true);
  } else {
    finish(close_code::kAbnormal, {});  // silent for two intervals: a dead peer
  }
}

namespace {

// The open callback runs before the handshake's trailing bytes are parsed, so before any message.
WebSocket open_server(SocketCore* core, std::string_view buffered, const Handshake& handshake) {
  WebSocket ws = core->handle();
  core->own();
  if (core->options->behavior && core->options->behavior->open) {
    try {
      core->options->behavior->open(ws, handshake);
    } catch (...) {
      core->callback_failed();
    }
  }
  core->start(buffered);
  return ws;
}

}  // namespace

WebSocket open_server_socket(net::Stream stream, std::string_view buffered,
                             std::shared_ptr<const Profile> profile, Negotiated negotiated,
                             const Handshake& handshake) {
  auto* core =
      new SocketCore(stream.loop(), Role::kServer, std::move(profile), std::move(negotiated));
  core->tcp = std::move(stream);
  return open_server(core, buffered, handshake);
}

WebSocket open_server_socket_tls(tls::Stream stream, std::string_view buffered,
                                 std::shared_ptr<const Profile> profile, Negotiated negotiated,
                                 const Handshake& handshake) {
  Loop& loop = stream.socket().loop();
  auto* core = new SocketCore(loop, Role::kServer, std::move(profile), std::move(negotiated));
  core->tls = std::move(stream);
  core->secure = true;
  return open_server(core, buffered, handshake);
}

}  // namespace detail

// ---- Awaiters --------------------------------------------------------------------------------

ReceiveAwaiter::~ReceiveAwaiter() {
  if (linked_ && core_) core_->inbox->receiver = {};
}

bool ReceiveAwaiter::await_ready() {
  if (!core_) return true;
  if (core_->options->behavior)
    throw std::logic_error(
        "receive() on a socket of a Behavior route: Behavior::message gets them");
  detail::SocketCore::Inbox& in = core_->inbox_state();
  if (in.receiver) throw Error(EBUSY, "receive");
  return !in.messages.empty() || core_->finished || core_->close_received;
}

void ReceiveAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  core_->inbox->receiver = h;  // made by await_ready
  linked_ = true;
}

std::optional<Message> ReceiveAwaiter::await_resume() {
  linked_ = false;
  if (!core_ || !core_->inbox || core_->inbox->messages.empty()) return std::nullopt;
  detail::SocketCore::Inbox& in = *core_->inbox;
  Message m = std::move(in.messages.front());
  in.messages.pop_front();
  in.bytes -= m.data.size();
  core_->resume_reading();
  return m;
}

SendAwaiter::~SendAwaiter() {
  if (!linked_) return;
  auto& r = *core_->rare;        // linked: the waiting list lives there
  SendAwaiter** p = &r.senders;  // the awaiting frame was destroyed: unlink
  SendAwaiter* prev = nullptr;
  while (*p != this) {
    prev = *p;
    p = &(*p)->next_;
  }
  *p = next_;
  if (r.senders_tail == this) r.senders_tail = prev;
}

bool SendAwaiter::await_ready() {
  if (!core_ || !core_->can_send()) {
    error_ = EPIPE;
    return true;
  }
  core_->send_message(op_, data_);
  if (core_->finished) error_ = EPIPE;
  bool ready = core_->finished || core_->buffered() <= core_->options->high_water_mark;
  if (!ready) core_->rare_state();  // where await_suspend links the waiter
  return ready;
}

void SendAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  waiter_ = h;
  linked_ = true;
  auto& r = *core_->rare;  // made by await_ready
  if (r.senders_tail)
    r.senders_tail->next_ = this;
  else
    r.senders = this;
  r.senders_tail = this;
}

void SendAwaiter::await_resume() const {
  if (error_) throw Error(error_, "send");
}

ClosedAwaiter::~ClosedAwaiter() {
  if (linked_ && core_) std::erase(core_->rare->close_waiters, waiter_);
}
bool ClosedAwaiter::await_ready() const noexcept { return !core_ || core_->finished; }
void ClosedAwaiter::await_suspend(std::coroutine_handle<> h) {
  waiter_ = h;
  linked_ = true;
  core_->rare_state().close_waiters.push_back(h);
}

// ---- WebSocket -------------------------------------------------------------------------------

WebSocket::WebSocket() noexcept = default;
WebSocket::~WebSocket() {
  if (core_ && --core_->refs == 0) delete core_;
}
WebSocket::WebSocket(const WebSocket& o) noexcept : WebSocket(o.core_) {}
WebSocket& WebSocket::operator=(const WebSocket& o) noexcept {
  WebSocket copy(o);
  std::swap(core_, copy.core_);
  return *this;
}
WebSocket::WebSocket(WebSocket&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
WebSocket& WebSocket::operator=(WebSocket&& o) noexcept {
  WebSocket moved(std::move(o));
  std::swap(core_, moved.core_);
  return *this;
}
WebSocket::WebSocket(detail::SocketCore* core) noexcept : core_(core) {
  if (core_) ++core_->refs;
}

WebSocket WebSocket::open(net::Stream stream, std::string buffered, Role role, Options options,
                          Negotiated negotiated) {
  auto* core = new detail::SocketCore(
      stream.loop(), role,
      std::make_shared<const detail::Profile>(detail::Profile{std::move(options)}),
      std::move(negotiated));
  core->tcp = std::move(stream);
  WebSocket ws(core);
  core->own();
  core->start(buffered);
  return ws;
}

WebSocket WebSocket::open_tls(tls::Stream stream, std::string buffered, Role role, Options options,
                              Negotiated negotiated) {
  Loop& loop = stream.socket().loop();
  auto* core = new detail::SocketCore(
      loop, role, std::make_shared<const detail::Profile>(detail::Profile{std::move(options)}),
      std::move(negotiated));
  core->tls = std::move(stream);
  core->secure = true;
  WebSocket ws(core);
  core->own();
  core->start(buffered);
  return ws;
}

bool WebSocket::send_nowait(std::string_view data, bool binary) {
  if (!core_ || !core_->can_send()) return false;
  if (!core_->send_message(binary ? Opcode::kBinary : Opcode::kText, data)) return false;
  std::size_t buffered = core_->buffered();
  if (buffered > core_->options->max_buffered) {
    core_->begin_close(close_code::kPolicyViolation, "send buffer over its limit");
    return false;
  }
  if (buffered > core_->options->high_water_mark && core_->options->behavior)
    core_->want_drain = true;
  return true;
}

bool WebSocket::send_frame(const std::shared_ptr<const std::string>& frame) {
  if (!core_ || !core_->can_send() || core_->role != Role::kServer) return false;
  if (core_->buffered() + frame->size() > core_->options->max_buffered) {
    core_->begin_close(close_code::kPolicyViolation, "send buffer over its limit");
    return false;
  }
  if (!core_->send_shared(frame)) return false;
  if (core_->options->behavior && core_->buffered() > core_->options->high_water_mark)
    core_->want_drain = true;
  return true;
}

void WebSocket::ping(std::string_view payload) {
  if (!core_ || !core_->can_send()) return;
  if (payload.size() > kMaxControlPayload)
    throw std::invalid_argument("ping payload over 125 bytes");
  core_->send_message(Opcode::kPing, payload, true);
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
  return core_ && core_->rare ? std::string_view(core_->rare->reason) : std::string_view();
}
std::string_view WebSocket::protocol() const noexcept {
  return core_ && core_->rare ? std::string_view(core_->rare->protocol) : std::string_view();
}
bool WebSocket::compressed() const noexcept {
  return core_ && core_->rare && core_->rare->deflater;
}
Role WebSocket::role() const noexcept { return core_ ? core_->role : Role::kServer; }
uint64_t WebSocket::id() const noexcept { return core_ ? core_->id : 0; }
std::any& WebSocket::data() {
  if (!core_) throw std::logic_error("ws::WebSocket::data() on an empty handle");
  return core_->rare_state().data;
}

}  // namespace brigade::ws
