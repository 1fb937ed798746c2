#pragma once
// A raw WebSocket client for the ws suite's RFC tests: writes the bytes a test chooses (masked
// frames, or any violation) and parses what the server sends back, frame by frame.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "brigade/net/connect.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "brigade/ws/frame.hpp"

namespace brigade::ws::testing {

inline const uint8_t kMask[4] = {1, 2, 3, 4};

inline std::string masked(Opcode op, std::string_view payload, bool fin = true) {
  return encode_frame(op, payload, fin, kMask);
}

struct RawPeer {
  net::Stream s;
  Parser parser{[] {
    ParserOptions o;
    o.role = Role::kClient;
    o.max_message_size = 0;
    return o;
  }()};
  std::string pending;

  // The next event from the server, or kind kNone at EOF.
  Task<Event> next() {
    for (;;) {
      Event ev;
      std::size_t used = parser.parse(pending, ev);
      pending.erase(0, used);
      if (ev.kind != Event::Kind::kNone) co_return ev;
      char buf[65536];
      std::size_t n = co_await s.read(std::span<char>(buf, sizeof buf));
      if (n == 0) co_return Event{};
      pending.append(buf, n);
    }
  }
  Task<bool> at_eof() {
    char buf[4096];
    for (;;) {
      std::size_t n = co_await s.read(std::span<char>(buf, sizeof buf));
      if (n == 0) co_return true;
    }
  }
};

// A RawPeer upgraded on `path` of a server on 127.0.0.1:`port`; `first` goes out in the same
// write as the request (frames sent before the 101 arrives). Fails the test on another status.
inline Task<RawPeer> upgraded_peer(uint16_t port, std::string path, std::string first) {
  RawPeer p;
  auto connecting = net::connect(*Loop::current(), "127.0.0.1", port);
  p.s = co_await connecting;
  std::string request = "GET " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" +
                        first;
  co_await p.s.write(request);
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    char buf[4096];
    std::size_t n = co_await p.s.read(std::span<char>(buf, sizeof buf));
    if (n == 0) break;
    head.append(buf, n);
  }
  std::size_t end = head.find("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  if (end != std::string::npos) p.pending = head.substr(end + 4);
  co_return p;
}

}  // namespace brigade::ws::testing
