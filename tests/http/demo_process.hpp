#pragma once
// Test support: examples/demo (or another example that prints "http://127.0.0.1:PORT " once
// listening) started as a child process on a free port (its own database file), stopped with
// SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace brigade::http::testing {

class DemoProcess {
 public:
  // `extra`: more arguments after "--port 0" (e.g. "--workers", "2"); `example`: which one.
  explicit DemoProcess(std::vector<std::string> extra = {}, const std::string& example = "demo") {
    path_ = std::string(BRIGADE_BINARY_DIR) + "/examples/" + example;
    if (::access(path_.c_str(), X_OK) != 0) return;
    db_ = std::string(BRIGADE_BINARY_DIR) + "/demo_e2e_" + std::to_string(::getpid()) + ".db";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::unsetenv("DATABASE_URL");
      ::setenv("BRIGADE_DEMO_DB", db_.c_str(), 1);
      std::vector<std::string> args = {path_, "--port", "0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(path_.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    // "brigade demo listening on http://127.0.0.1:PORT ..."
    std::string text;
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) break;
      char buf[512];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      std::size_t at = text.find("http://127.0.0.1:");
      if (at != std::string::npos && text.find(' ', at) != std::string::npos) {
        port_ = static_cast<uint16_t>(std::atoi(text.c_str() + at + 17));
        seen_ = text.substr(at);
        break;
      }
    }
  }
  ~DemoProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (!db_.empty())
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db_ + suffix).c_str());
  }
  DemoProcess(const DemoProcess&) = delete;
  DemoProcess& operator=(const DemoProcess&) = delete;

  bool built() const { return ::access(path_.c_str(), X_OK) == 0; }

  // Reads the demo's output until a whole line with `needle` is in (or `ms` pass); returns the
  // output up to that line's end (consumed), empty if it never came.
  std::string wait_for(const std::string& needle, int ms = 10000) {
    for (;;) {
      std::size_t at = seen_.find(needle);
      std::size_t eol = at == std::string::npos ? at : seen_.find('\n', at);
      if (eol != std::string::npos) {  // the needle's whole line is in
        std::string upto = seen_.substr(0, eol + 1);
        seen_.erase(0, eol + 1);
        return upto;
      }
      pollfd p{out_, POLLIN, 0};
      if (out_ < 0 || ::poll(&p, 1, ms) <= 0) return {};
      char buf[512];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return {};
      seen_.append(buf, static_cast<std::size_t>(n));
    }
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // The process's resident set in KiB (VmRSS), 0 if unknown.
  long rss_kib() const {
    std::string status = "/proc/" + std::to_string(pid_) + "/status";
    FILE* f = std::fopen(status.c_str(), "r");
    if (!f) return 0;
    char line[256];
    long kib = 0;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    std::fclose(f);
    return kib;
  }

 private:
  std::string path_;
  std::string db_;
  pid_t pid_ = -1;
  int out_ = -1;
  uint16_t port_ = 0;
  std::string seen_;  // output read past the port line, not yet matched by wait_for
};

}  // namespace brigade::http::testing
