#pragma once
// The TLS Filter of an HTTPS connection's transport: tls::Session's non-suspending reads and
// writes, given the connection's socket.
#include <utility>

#include "brigade/tls/stream.hpp"
#include "transport.hpp"

namespace brigade::http::detail {

class TlsFilter final : public Filter {
 public:
  explicit TlsFilter(tls::Session session) : session_(std::move(session)) {}
  long try_read(net::Stream& socket, std::span<char> buf) noexcept override {
    return session_.try_read(socket, buf);
  }
  long try_peek(net::Stream& socket, std::span<char> buf) noexcept override {
    return session_.try_peek(socket, buf);
  }
  int write_nowait(net::Stream& socket, std::span<const char> bytes) noexcept override {
    return session_.write_nowait(socket, bytes);
  }
  Task<void> write(net::Stream& socket, std::span<const char> bytes) override {
    return session_.write(socket, bytes);
  }
  void end(net::Stream& socket) noexcept override { session_.end(socket); }
  tls::Session release() && { return std::move(session_); }  // an Upgrade takes it along

 private:
  tls::Session session_;
};

}  // namespace brigade::http::detail
