// child_ipc: a parent starts itself as a child with an IPC channel and they exchange messages
// (Node's child_process.fork + process.send / on('message')).
//   child_ipc [COUNT]     the parent sends COUNT pings; the child answers each with a pong.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "brigade/loop.hpp"
#include "brigade/process/channel.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

// The child: answers every message until the parent closes the channel.
Task<void> child_main(Loop& loop) {
  std::optional<process::Channel> parent = process::parent_channel(loop);
  if (!parent) {
    std::fprintf(stderr, "child: no channel\n");
    co_return;
  }
  while (std::optional<std::string> m = co_await parent->receive()) {
    co_await parent->send("pong " + m->substr(m->find(' ') + 1) + " from pid " +
                          std::to_string(getpid()));
  }
}

Task<int> parent_main(Loop& loop, int count) {
  process::SpawnOptions options;
  options.ipc = true;
  options.stdio = {process::Stdio::inherit(), process::Stdio::inherit(), process::Stdio::inherit()};
  options.env_add = {"CHILD_IPC_ROLE=child"};
  std::vector<std::string> none;
  process::Child child = process::spawn(loop, "/proc/self/exe", none, options);
  process::Channel& ch = child.channel();
  for (int i = 1; i <= count; ++i) {
    co_await ch.send("ping " + std::to_string(i));
    std::optional<std::string> answer = co_await ch.receive();
    if (!answer) {
      std::fprintf(stderr, "parent: the child closed the channel\n");
      co_return 1;
    }
    std::printf("parent got: %s\n", answer->c_str());
  }
  ch.close();  // the child sees the end of the channel and exits
  process::ExitStatus st = co_await child.wait();
  std::printf("child %s\n", st.describe().c_str());
  co_return st.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Loop loop;
  const char* role = std::getenv("CHILD_IPC_ROLE");
  if (role && std::string(role) == "child") {
    run(loop, child_main(loop));
    return 0;
  }
  return run(loop, parent_main(loop, argc > 1 ? std::atoi(argv[1]) : 3));
}
