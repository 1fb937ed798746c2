// One pipelined Redis connection on a net::Stream (see connection.hpp).
#include "brigade/redis/connection.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "brigade/error.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/net/dns.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"

namespace brigade::redis {

namespace {

bool is_numeric_ip(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

uint16_t parse_port(std::string_view text) {
  unsigned long v = 0;
  if (text.empty() || text.size() > 5) throw Error("redis: bad port in URL");
  for (char c : text) {
    if (c < '0' || c > '9') throw Error("redis: bad port in URL");
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v == 0 || v > 65535) throw Error("redis: bad port in URL");
  return static_cast<uint16_t>(v);
}

}  // namespace

Options parse_url(std::string_view url) {
  Options o;
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme)
    throw Error("redis: URL must start with redis:// (got \"" + std::string(url) + "\")");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      o.username = auth.substr(0, colon);
      o.password = auth.substr(colon + 1);
    } else {
      o.password = auth;
    }
  }
  if (!rest.empty() && rest.front() == '[') {  // [::1]:6379
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw Error("redis: bad IPv6 host in URL");
    o.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw Error("redis: bad IPv6 host in URL");
      o.port = parse_port(rest.substr(1));
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    o.host = rest.substr(0, colon);
    o.port = parse_port(rest.substr(colon + 1));
  } else if (!rest.empty()) {
    o.host = rest;
  }
  if (o.host.empty()) o.host = "127.0.0.1";
  if (!path.empty()) {
    o.db = 0;
    for (char c : path) {
      if (c < '0' || c > '9' || o.db > 100000) throw Error("redis: bad database number in URL");
      o.db = o.db * 10 + (c - '0');
    }
  }
  return o;
}

// ---- CommandAwaiter ---------------------------------------------------------------------

CommandAwaiter::~CommandAwaiter() {
  if (slot_.linked) conn_->forget(&slot_);  // the awaiting frame was destroyed
}

bool CommandAwaiter::await_ready() { return !conn_->enqueue(encoded_, &slot_); }

Reply CommandAwaiter::await_resume() {
  if (!slot_.error.empty()) {
    if (slot_.protocol) throw ProtocolError(slot_.error);
    throw ConnectionError(slot_.error);
  }
  if (slot_.reply.is_error()) throw ServerError(slot_.reply.str);
  return std::move(slot_.reply);
}

// ---- Connection -------------------------------------------------------------------------

Task<std::unique_ptr<Connection>> Connection::open(Options options, std::stop_token stop) {
  Loop& loop = brigade::detail::loop_or_current(options.loop);
  std::string ip = options.host;
  if (ip == "localhost") ip = "127.0.0.1";
  if (!is_numeric_ip(ip)) {
    try {
      auto lookup = dns::lookup(ip);
      std::vector<dns::Address> found = co_await lookup;
      ip = found.at(0).address;
    } catch (const std::exception& e) {
      throw ConnectionError("redis: cannot resolve " + options.host + ": " + e.what());
    }
  }
  std::stop_source timeout_source;
  std::stop_callback forward(stop, [&] { timeout_source.request_stop(); });
  net::Stream stream;
  try {
    auto make = [&](std::stop_token t) { return net::connect(loop, ip, options.port, t); };
    auto attempt = with_timeout(options.connect_timeout_ms, make);
    stream = co_await attempt;
  } catch (const TimeoutError&) {
    throw;
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConnectionError("redis: connect " + ip + ":" + std::to_string(options.port) + ": " +
                          e.what());
  }
  stream.set_no_delay(true);
  std::unique_ptr<Connection> conn(new Connection(std::move(stream)));
  if (!options.password.empty()) {
    auto auth = options.username.empty()
                    ? conn->command("AUTH", options.password)
                    : conn->command("AUTH", options.username, options.password);
    co_await auth;
  }
  if (options.db != 0) {
    std::string db = std::to_string(options.db);
    auto select = conn->command("SELECT", db);
    co_await select;
  }
  co_return conn;
}

Connection::Connection(net::Stream stream) : stream_(std::move(stream)), loop_(stream_.loop()) {
  stream_.set_read_hook(&Connection::on_readable, this);
  update_ref();
}

Connection::~Connection() { fail("redis: connection closed", false, false); }

void Connection::close() noexcept { fail("redis: connection closed", false, false); }

bool Connection::enqueue(const std::string& encoded, detail::Slot* slot) {
  if (broken_) {
    slot->error = "redis: connection lost (" + broken_reason_ + ")";
    return false;
  }
  out_ += encoded;
  slot->linked = true;
  inflight_.push_back(slot);
  if (inflight_.size() == 1) update_ref();
  schedule_flush();  // never here: the awaiter has not suspended yet, so it cannot be failed
  return true;
}

void Connection::forget(detail::Slot* slot) noexcept {
  for (auto it = inflight_.rbegin(); it != inflight_.rend(); ++it) {
    if (*it == slot) {
      *it = nullptr;  // the reply still comes; nobody takes it
      slot->linked = false;
      return;
    }
  }
}

void Connection::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_.queue_microtask([w = std::weak_ptr<Connection*>(self_)] {
    if (auto p = w.lock()) (*p)->flush();
  });
}

void Connection::flush() {
  flush_scheduled_ = false;
  if (broken_ || out_.empty()) return;
  int err = stream_.write_nowait(out_);
  out_.clear();
  if (err) fail(std::string("redis: write: ") + std::strerror(err), false, true);
}

void Connection::on_readable(void* ctx) { static_cast<Connection*>(ctx)->read(); }

void Connection::read() {
  for (;;) {
    std::span<char> room = parser_.prepare();
    long n = stream_.try_read(room);
    if (n == -EAGAIN) break;
    if (n == 0) return fail("redis: the server closed the connection", false, true);
    if (n < 0)
      return fail(std::string("redis: read: ") + std::strerror(static_cast<int>(-n)), false, true);
    parser_.commit(static_cast<std::size_t>(n));
    Reply reply;
    for (;;) {
      RespParser::Status status = parser_.next(reply);
      if (status == RespParser::Status::kNeedMore) break;
      if (status == RespParser::Status::kError)
        return fail("redis: protocol error: " + parser_.error(), true, true);
      if (push_ && push_(push_ctx_, reply)) continue;
      if (inflight_.empty())
        return fail("redis: protocol error: a reply nobody asked for", true, true);
      detail::Slot* slot = inflight_.front();
      inflight_.pop_front();
      if (slot) {
        slot->reply = std::move(reply);
        complete(slot);
      }
    }
    if (static_cast<std::size_t>(n) < room.size()) break;  // a short read: wait for the next edge
  }
  if (inflight_.empty()) update_ref();
}

void Connection::complete(detail::Slot* slot) {
  slot->linked = false;
  loop_.queue_microtask([h = slot->waiter] { h.resume(); });
}

void Connection::fail(std::string reason, bool protocol, bool notify) {
  if (broken_) return;
  broken_ = true;
  broken_reason_ = reason;
  Loop& loop = loop_;
  stream_.close();
  out_.clear();
  std::deque<detail::Slot*> failed;
  failed.swap(inflight_);
  for (detail::Slot* slot : failed) {
    if (!slot) continue;
    slot->error = reason;
    slot->protocol = protocol;
    slot->linked = false;
    loop.queue_microtask([h = slot->waiter] { h.resume(); });
  }
  if (notify && lost_) lost_(lost_ctx_, reason);
}

void Connection::update_ref() {
  if (broken_) return;
  bool want = !inflight_.empty();
  if (want == refd_) return;
  refd_ = want;
  if (want)
    stream_.ref();
  else
    stream_.unref();
}

}  // namespace brigade::redis
