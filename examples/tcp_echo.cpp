// A TCP echo server on 127.0.0.1; also the server of the TCP echo benchmark.
//
//   tcp_echo [--port N] [--self-check]
//
// Prints "listening on 127.0.0.1:PORT" once bound (port 0, the default, picks a free one).
// --self-check connects to itself, checks one echo and exits 0 (1 on failure).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brigade/error.hpp"
#include "brigade/loop.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

Task<void> echo(net::Stream s) {
  char buf[65536];
  try {
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write(std::span<const char>(buf, n));
    }
  } catch (const Error&) {  // a reset peer ends its connection, nothing else
  }
}

Task<int> self_check(Loop& loop, uint16_t port) {
  const std::string msg = "brigade echo self-check";
  net::Stream s = co_await net::connect(loop, "127.0.0.1", port);
  co_await s.write(msg);
  std::string got(msg.size(), '\0');
  got.resize(co_await s.read_full(got));
  co_return got == msg ? 0 : 1;
}

int usage() {
  std::fprintf(stderr, "usage: tcp_echo [--port N] [--self-check]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--self-check") == 0) {
      check = true;
    } else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
      if (port < 0 || port > 65535) return usage();
    } else {
      return usage();
    }
  }
  try {
    Loop loop;
    net::Listener server =
        net::listen_tcp(loop, "127.0.0.1", static_cast<uint16_t>(port), {.no_delay = true});
    std::printf("listening on 127.0.0.1:%u\n", server.port());
    std::fflush(stdout);
    server.serve(echo);
    if (!check) {
      loop.run();
      return 0;
    }
    int rc = run(loop, self_check(loop, server.port()));
    std::printf("self-check %s\n", rc == 0 ? "ok" : "FAILED");
    server.close();
    loop.run();  // the server side of the check sees EOF and ends
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcp_echo: %s\n", e.what());
    return 1;
  }
}
