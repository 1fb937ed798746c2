// Channel: frames both ways, many small and one large message, end of channel; and the
// child_ipc example end to end (a parent and itself as a child).
#include "brigade/process/channel.hpp"

#include <sys/socket.h>

#include "brigade/process/exec.hpp"
#include "process_support.hpp"

namespace {

using namespace brigade;
using namespace brigade::process;
using namespace process_test;

TEST(Channel, FramesBothWaysAndEnd) {
  Loop loop;
  HangGuard guard(loop, 10000);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Channel a = Channel::adopt(loop, sv[0]);
  Channel b = Channel::adopt(loop, sv[1]);
  run_test(loop, [&]() -> Task<void> {
    for (int i = 0; i < 1000; ++i) co_await a.send("message " + std::to_string(i));
    std::string big(1 << 20, 'z');
    auto send_big = [](Channel& c, const std::string& m) -> Task<void> { co_await c.send(m); };
    brigade::spawn(send_big(a, big), "big");
    for (int i = 0; i < 1000; ++i) {
      std::optional<std::string> m = co_await b.receive();
      EXPECT_TRUE(m && *m == "message " + std::to_string(i));
    }
    std::optional<std::string> m = co_await b.receive();
    EXPECT_TRUE(m && m->size() == big.size() && *m == big);
    co_await b.send("");  // an empty message is a message
    std::optional<std::string> empty = co_await a.receive();
    EXPECT_TRUE(empty && empty->empty());
    a.close();
    EXPECT_FALSE(co_await b.receive());
  }());
}

TEST(Channel, ChildIpcExample) {
  Loop loop;
  HangGuard guard(loop, 20000);
  std::string program = std::string(BRIGADE_BINARY_DIR) + "/examples/child_ipc";
  ASSERT_EQ(::access(program.c_str(), X_OK), 0) << program << " missing: build the examples";
  run_test(loop, [&]() -> Task<void> {
    std::vector<std::string> args{"5"};
    ExecResult r = co_await exec_file(loop, program, args);
    EXPECT_NE(r.out.find("parent got: pong 1 from pid"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("parent got: pong 5 from pid"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("child exit code 0"), std::string::npos) << r.out;
  }());
}

}  // namespace
