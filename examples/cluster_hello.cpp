// cluster_hello: N hello-world HTTP workers on one port (Node's cluster + http hello).
//   cluster_hello [--workers N] [--port P] [--policy rr|reuseport] [--crash]
// The primary prints "listening on 127.0.0.1:PORT" and one line per worker event; SIGTERM
// drains and exits, SIGHUP restarts the workers one at a time. --crash makes every worker exit
// at once (to watch the respawn backoff). The HTTP side is a tiny fixed responder (read up to
// the blank line, answer), enough for load and fault tests until brigade::http is wired in.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "brigade/net/stream.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

constexpr std::string_view kKeepAlive =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
constexpr std::string_view kClose =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
    "close\r\n\r\nHello, World!";

bool wants_close(std::string_view head) {
  for (std::string_view v : {"Connection: close", "connection: close", "Connection: Close"})
    if (head.find(v) != std::string_view::npos) return true;
  return false;
}

// Answers each request on the connection; an idle keep-alive connection closes once the worker
// stops.
Task<void> respond(net::Stream s, cluster::Worker& worker) {
  std::string in;
  char buf[4096];
  bool answered = false;
  try {
    for (;;) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        // A new connection gets its first answer even while stopping; only a keep-alive
        // connection idle between requests is closed then.
        std::stop_token idle = answered && in.empty() ? worker.stopping() : std::stop_token{};
        std::size_t n = co_await s.read(buf, idle);
        if (n == 0) co_return;
        in.append(buf, n);
      }
      bool close =
          wants_close(std::string_view(in).substr(0, end)) || worker.stopping().stop_requested();
      in.erase(0, end + 4);
      co_await s.write(close ? kClose : kKeepAlive);
      answered = true;
      if (close) {
        co_await s.shutdown();
        co_return;
      }
    }
  } catch (const Error&) {  // reset by the peer, or cancelled while idle at shutdown
  }
}

}  // namespace

int main(int argc, char** argv) {
  cluster::Options options;
  bool crash = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--workers" && i + 1 < argc) {
      options.workers = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--port" && i + 1 < argc) {
      options.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--policy" && i + 1 < argc) {
      std::string_view p = argv[++i];
      options.policy =
          p == "reuseport" ? cluster::Policy::kReusePort : cluster::Policy::kRoundRobin;
    } else if (a == "--crash") {
      crash = true;
    } else {
      std::fprintf(stderr, "usage: %s [--workers N] [--port P] [--policy rr|reuseport] [--crash]\n",
                   argv[0]);
      return 2;
    }
  }
  options.on_primary = [](cluster::Primary& primary) {
    std::printf("listening on 127.0.0.1:%u\n", primary.port());
    std::fflush(stdout);
    primary.on_worker_ready([&primary](unsigned id, pid_t pid) {
      std::printf("worker %u ready pid %d\n", id, pid);
      std::fflush(stdout);
      primary.send(id, "hello worker " + std::to_string(id));
    });
    primary.on_worker_exit([](unsigned id, pid_t pid, int code, int signal) {
      std::printf("worker %u exit pid %d code %d signal %d\n", id, pid, code, signal);
      std::fflush(stdout);
    });
    primary.on_message([](unsigned id, std::string m) {
      std::printf("worker %u says: %s\n", id, m.c_str());
      std::fflush(stdout);
    });
  };
  return cluster::run(options, [crash](cluster::Worker& worker) -> Task<void> {
    if (crash) std::_Exit(3);  // a crash: no cleanup
    worker.serve([&worker](net::Stream s) { return respond(std::move(s), worker); });
    worker.on_message([&worker](std::string m) { spawn(worker.send("got '" + m + "'"), "reply"); });
    co_return;
  });
}
