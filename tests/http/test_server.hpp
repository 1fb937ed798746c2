#pragma once
// Test support: a Server running an App on its own loop thread, blocking raw-socket clients and
// running real client programs (curl, python3, node, wrk) with a time limit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "brigade/http/app.hpp"
#include "brigade/loop/loop.hpp"

namespace brigade::http::testing {

// An App served on 127.0.0.1:0 by a loop in a thread. `setup` adds routes on the loop thread.
class TestServer {
 public:
  explicit TestServer(std::function<void(App&)> setup, ServerOptions options = {}) {
    std::promise<uint16_t> ready;
    auto port = ready.get_future();
    thread_ = std::thread([this, setup = std::move(setup), options, &ready] {
      Loop loop;
      KeepAlive until_stopped(loop);  // a test may close the server and still post to the loop
      until_stopped_ = &until_stopped;
      loop_ = &loop;
      App app;
      setup(app);
      Server server = app.listen(loop, "127.0.0.1", 0, options);
      server_ = &server;
      ready.set_value(server.port());
      loop.run();
      server_ = nullptr;
      loop_ = nullptr;
    });
    port_ = port.get();
  }
  ~TestServer() { stop(); }

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Runs fn on the loop thread and waits for it.
  template <typename F>
  auto on_loop(F fn) {
    std::packaged_task<std::invoke_result_t<F&, Server&>()> task([&] { return fn(*server_); });
    auto result = task.get_future();
    loop_->post([&task] { task(); });
    return result.get();
  }
  ServerStats stats() {
    return on_loop([](Server& s) { return s.stats(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    // Handlers still suspended (an SSE stream, a long poll) end when their connection closes;
    // the loop then runs out of work. The unref'd timer bounds a handler that never ends.
    loop_->post([this] {
      server_->close_all_connections();
      server_->close();
      until_stopped_->reset();
      Loop* loop = loop_;
      TimerId id = loop->set_timeout(2000, [loop] { loop->stop(); });
      loop->unref_timer(id);
    });
    thread_.join();
  }

 private:
  std::thread thread_;
  Loop* loop_ = nullptr;
  KeepAlive* until_stopped_ = nullptr;
  Server* server_ = nullptr;
  uint16_t port_ = 0;
};

// A blocking TCP client with a receive timeout.
class RawClient {
 public:
  explicit RawClient(uint16_t port, int timeout_ms = 3000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `until` appears in what was read (kept in buffer()), EOF or the timeout.
  bool read_until(std::string_view until) {
    while (buf_.find(until) == std::string::npos)
      if (!read_some()) return false;
    return true;
  }
  // Reads until `count` complete responses with Content-Length bodies are in the buffer.
  bool read_responses(int count) {
    while (complete_responses() < count)
      if (!read_some()) return false;
    return true;
  }
  // Reads until EOF; false on timeout or error.
  bool read_to_eof() {
    for (;;) {
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  // True if the server closed the connection within the timeout.
  bool closed_by_peer() { return read_to_eof(); }
  std::string& buffer() { return buf_; }

  int complete_responses() const {
    int n = 0;
    std::size_t pos = 0;
    for (;;) {
      std::size_t end = buf_.find("\r\n\r\n", pos);
      if (end == std::string::npos) return n;
      std::size_t cl = buf_.find("Content-Length: ", pos);
      std::size_t len = 0;
      if (cl != std::string::npos && cl < end) len = std::stoul(buf_.substr(cl + 16));
      if (buf_.size() < end + 4 + len) return n;
      pos = end + 4 + len;
      ++n;
    }
  }

 private:
  bool read_some() {
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Runs a shell command (bounded by `timeout`), returns its stdout and sets `status`.
inline std::string run_command(const std::string& cmd, int* status = nullptr, int limit_s = 30) {
  std::string full = "timeout " + std::to_string(limit_s) + " " + cmd;
  FILE* p = ::popen(full.c_str(), "r");
  std::string out;
  if (!p) return out;
  char tmp[4096];
  std::size_t n;
  while ((n = std::fread(tmp, 1, sizeof tmp, p)) > 0) out.append(tmp, n);
  int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Polls `done` every 10 ms until it holds or `ms` have passed: the server's state changes on its
// own thread, after what the test's client saw.
inline bool wait_until(const std::function<bool()>& done, int ms = 5000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline int count_of(std::string_view hay, std::string_view needle) {
  int n = 0;
  for (std::size_t p = hay.find(needle); p != std::string_view::npos;
       p = hay.find(needle, p + needle.size()))
    ++n;
  return n;
}

}  // namespace brigade::http::testing
