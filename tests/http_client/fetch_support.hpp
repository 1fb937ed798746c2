#pragma once
// Test support for fetch: an App served on the test's own loop, and peer servers in child
// processes (node, python3) that print their port on their first line and are killed at the end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/loop/loop.hpp"

namespace fetch_test {

inline bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// A child process serving HTTP; its first stdout line holds the port (the last number on it).
class PeerServer {
 public:
  PeerServer(const std::string& program, const std::vector<std::string>& args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(program.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(program.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512] = {};
    if (!fgets(line, sizeof line, f)) {
      fclose(f);
      stop();
      throw std::runtime_error(program + " did not start");
    }
    fclose(f);
    std::string s(line);
    std::size_t end = s.find_last_of("0123456789");
    std::size_t begin = s.find_last_not_of("0123456789", end);
    port_ = std::stoi(s.substr(begin + 1, end - begin));
  }
  ~PeerServer() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace fetch_test
