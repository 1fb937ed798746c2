// child_exec: run a shell command and print what it wrote (Node's child_process.exec).
//   child_exec [COMMAND]      (default: "ls -la")
#include <cstdio>
#include <string>

#include "brigade/loop.hpp"
#include "brigade/process/exec.hpp"
#include "brigade/task.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "ls -la";
  Loop loop;
  return run(loop, [&]() -> Task<int> {
    process::ExecOptions options;
    options.timeout_ms = 10000;
    try {
      process::ExecResult r = co_await process::exec(loop, command, options);
      std::fwrite(r.out.data(), 1, r.out.size(), stdout);
      std::fwrite(r.err.data(), 1, r.err.size(), stderr);
      co_return 0;
    } catch (const process::ExecError& e) {
      std::fwrite(e.result().out.data(), 1, e.result().out.size(), stdout);
      std::fprintf(stderr, "%s\n%s", e.what(), e.result().err.c_str());
      co_return e.result().status.code > 0 ? e.result().status.code : 1;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      co_return 127;
    }
  }());
}
