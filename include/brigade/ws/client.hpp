#pragma once
// The client side: ws::connect (the browser's and Node ws's `new WebSocket(url)`), as a coroutine.
//
//   ws::ClientOptions o;
//   o.protocols = {"chat"};
//   ws::WebSocket ws = co_await ws::connect("ws://127.0.0.1:8080/chat", o);
//   co_await ws.send("hello");
//   auto reply = co_await ws.receive();
//
// "wss://" goes through the tls layer (the system's CAs, or tls.ca_file). Host names are
// resolved with dns::lookup. The handshake fails with HandshakeError (a status other than 101,
// a wrong Sec-WebSocket-Accept, a protocol or extension we did not offer), with TimeoutError
// past handshake_timeout_ms, or with the connect's brigade::Error. Name the options as a
// variable (g++ 12 destroys a braced temporary in a co_await expression twice).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "brigade/task/task.hpp"
#include "brigade/tls/context.hpp"
#include "brigade/ws/websocket.hpp"

namespace brigade::ws {

struct ClientOptions : Options {
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  uint64_t handshake_timeout_ms = 10'000;                    // TCP + TLS + HTTP upgrade
  tls::ClientOptions tls;                                    // wss://
  std::size_t max_response_head = 16 * 1024;
};

class HandshakeError : public std::runtime_error {
 public:
  HandshakeError(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const noexcept { return status_; }  // the server's HTTP status, 0 if none

 private:
  int status_;
};

Task<WebSocket> connect(std::string url, ClientOptions options = {});

}  // namespace brigade::ws
