#pragma once
// Test support for the ws suite: real peers (Python's websockets, Node's ws, Chromium) started
// as child processes on 127.0.0.1, each stopped when the test ends, even on failure.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/task.hpp"

namespace brigade::ws::testing {

inline bool have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Raises this process's soft fd limit to its hard one; false if even that is under `fds`.
inline bool raise_fd_limit(rlim_t fds) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < fds) return false;
  rl.rlim_cur = rl.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

// Debian's python3 (python3-websockets lives there, not in a pyenv one).
inline std::string python() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}
inline bool have_python_websockets() {
  return std::system((python() + " -c 'import websockets' >/dev/null 2>&1").c_str()) == 0;
}

// Node's `ws` package, installed once into the build folder (test-only); empty if npm failed.
// Tests run two at a time: the install holds a lock and marks its end, so no test sees half a
// package.
inline std::string node_ws_module() {
  std::string dir = std::string(BRIGADE_BINARY_DIR) + "/npm-ws";
  std::string module = dir + "/node_modules/ws", done = dir + "/.installed";
  if (access(done.c_str(), R_OK) != 0) {
    if (!have("node") || !have("npm")) return "";
    std::string cmd = "mkdir -p " + dir + " && flock " + dir + "/.lock sh -c 'test -f " + done +
                      " || (timeout 120 npm install --silent --no-audit --no-fund --prefix " + dir +
                      " ws@8 >" + dir + "/npm.log 2>&1 && touch " + done + ")'";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return module;
}

inline std::string write_file(const std::string& name, const std::string& text) {
  std::string path = std::string(BRIGADE_BINARY_DIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Debian's chromium (or chromium-browser), or empty if neither is installed.
inline std::string chromium() {
  return have("chromium") ? "chromium" : have("chromium-browser") ? "chromium-browser" : "";
}

// Opens `url` in headless Chromium with a profile of its own (two may run at once; as root it
// needs --no-sandbox; `extra` adds flags such as --ignore-certificate-errors) and waits until
// the page's messages have reached the server (`received` holds `count`, 30 s at most) and a
// little more, then kills the browser.
inline Task<void> run_chromium(std::string browser, std::string url, std::string profile,
                               std::vector<std::string> extra,
                               const std::vector<std::string>& received, std::size_t count) {
  process::SpawnOptions o;
  o.stdio[0] = o.stdio[1] = o.stdio[2] = process::Stdio::ignore();
  std::vector<std::string> args = {"--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--user-data-dir=" + profile};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  auto child = process::spawn(*Loop::current(), browser, std::move(args), o);
  for (int i = 0; i < 600 && received.size() < count; ++i) co_await sleep(50);
  co_await sleep(100);  // nothing more comes
  child.kill(SIGKILL);
  co_await child.wait();
}

// A child process that prints a line (its port) when ready; killed at destruction.
class Peer {
 public:
  Peer(Loop& loop, std::string file, std::vector<std::string> args) {
    process::SpawnOptions o;
    o.stdio[2] = process::Stdio::inherit();
    child_ = process::spawn(loop, std::move(file), std::move(args), o);
  }
  ~Peer() { child_.kill(SIGKILL); }
  // The first line the peer prints (with a time limit: the caller runs it under with_timeout).
  Task<std::string> line() {
    while (buffered_.find('\n') == std::string::npos) {
      char buf[512];
      std::size_t n = co_await child_.out().read(std::span<char>(buf, sizeof buf));
      if (n == 0) throw std::runtime_error("peer exited before printing: " + buffered_);
      buffered_.append(buf, n);
    }
    std::size_t eol = buffered_.find('\n');
    std::string l = buffered_.substr(0, eol);
    buffered_.erase(0, eol + 1);
    co_return l;
  }
  process::Child& child() { return child_; }

 private:
  process::Child child_;
  std::string buffered_;
};

}  // namespace brigade::ws::testing
