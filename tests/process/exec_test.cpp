// exec / exec_file: output, exit status in the error, timeout, max buffer, stdin input.
#include "brigade/process/exec.hpp"

#include "process_support.hpp"

namespace {

using namespace brigade;
using namespace brigade::process;
using namespace process_test;

TEST(Exec, CollectsOutput) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    ExecResult r = co_await exec(loop, "echo hello; echo world >&2");
    EXPECT_EQ(r.out, "hello\n");
    EXPECT_EQ(r.err, "world\n");
    EXPECT_TRUE(r.status.ok());
    std::vector<std::string> args{"-la", "/"};  // no braced list inside co_await (g++ 12)
    ExecResult ls = co_await exec_file(loop, "ls", args);
    EXPECT_NE(ls.out.find(".."), std::string::npos);
  }());
}

TEST(Exec, NonZeroExitIsAnErrorWithTheOutput) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    try {
      co_await exec(loop, "echo partial; echo oops >&2; exit 4");
      ADD_FAILURE() << "no error for exit 4";
    } catch (const ExecError& e) {
      EXPECT_EQ(e.reason(), ExecError::Reason::kExitStatus);
      EXPECT_EQ(e.result().status.code, 4);
      EXPECT_EQ(e.result().out, "partial\n");
      EXPECT_EQ(e.result().err, "oops\n");
      EXPECT_NE(std::string(e.what()).find("exit code 4"), std::string::npos);
    }
  }());
}

TEST(Exec, TimeoutKillsWithTheSignal) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    ExecOptions o;
    o.timeout_ms = 100;
    o.kill_signal = SIGKILL;
    uint64_t start = Loop::hrtime();
    try {
      co_await exec(loop, "echo started; sleep 5", o);
      ADD_FAILURE() << "no timeout";
    } catch (const ExecError& e) {
      EXPECT_EQ(e.reason(), ExecError::Reason::kTimeout);
      EXPECT_EQ(e.errno_value(), ETIMEDOUT);
      EXPECT_EQ(e.result().status.signal, SIGKILL);
      EXPECT_EQ(e.result().out, "started\n");
    }
    EXPECT_LT(Loop::hrtime() - start, 3'000'000'000ull);
  }());
}

TEST(Exec, MaxBufferKillsAndFails) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    ExecOptions o;
    o.max_buffer = 1000;
    try {
      std::vector<std::string> none;
      co_await exec_file(loop, "yes", none, o);
      ADD_FAILURE() << "no max_buffer error";
    } catch (const ExecError& e) {
      EXPECT_EQ(e.reason(), ExecError::Reason::kMaxBuffer);
      EXPECT_EQ(e.result().out.size(), 1000u);
      EXPECT_EQ(e.result().status.signal, SIGTERM);
    }
  }());
}

TEST(Exec, InputGoesToStdin) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    ExecOptions o;
    o.input = "line one\nline two\n";
    ExecResult r = co_await exec(loop, "wc -l", o);
    EXPECT_EQ(r.out, "2\n");
  }());
}

TEST(Exec, MissingProgramThrowsSpawnError) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    EXPECT_THROW(co_await exec_file(loop, "brigade-no-such-program"), SpawnError);
  }());
}

}  // namespace
