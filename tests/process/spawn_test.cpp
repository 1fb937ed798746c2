// spawn: exit codes and signals, pipes both ways, options, errors, kill, zombies.
#include "brigade/process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "brigade/loop/signal.hpp"
#include "process_support.hpp"

namespace {

using namespace brigade;
using namespace brigade::process;
using namespace process_test;

SpawnOptions quiet() {
  SpawnOptions o;
  o.stdio = {Stdio::ignore(), Stdio::ignore(), Stdio::inherit()};
  return o;
}

TEST(Spawn, ExitCodeAndSignal) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    Child ok = spawn(loop, "/bin/true", {}, quiet());
    EXPECT_GT(ok.pid(), 0);
    ExitStatus st = co_await ok.wait();
    EXPECT_TRUE(st.ok());
    Child three = spawn(loop, "sh", {"-c", "exit 3"}, quiet());
    st = co_await three.wait();
    EXPECT_EQ(st.code, 3);
    EXPECT_EQ(st.signal, 0);
    EXPECT_EQ(st.describe(), "exit code 3");
    Child killed = spawn(loop, "sh", {"-c", "kill -KILL $$"}, quiet());
    st = co_await killed.wait();
    EXPECT_EQ(st.signal, SIGKILL);
    EXPECT_EQ(st.code, -1);
    EXPECT_EQ(st.describe(), "killed by SIGKILL");
    EXPECT_TRUE(killed.exited());
    // A second wait after the exit returns at once.
    st = co_await killed.wait();
    EXPECT_EQ(st.signal, SIGKILL);
  }());
}

TEST(Spawn, PipesBothWays) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    Child cat = spawn(loop, "cat");
    std::string big(300000, 'x');  // above the pipe's capacity: exercises backpressure
    auto feed = [](net::Stream& in, const std::string& bytes) -> Task<void> {
      co_await in.write(bytes);
      co_await in.shutdown();
    };
    brigade::spawn(feed(cat.in(), big), "feed");
    std::string got = co_await read_all(cat.out());
    EXPECT_EQ(got.size(), big.size());
    EXPECT_TRUE(got == big);
    ExitStatus st = co_await cat.wait();
    EXPECT_TRUE(st.ok()) << st.describe() << " " << co_await read_all(cat.err());

    Child both = spawn(loop, "sh", {"-c", "echo out; echo err >&2"});
    EXPECT_EQ(co_await read_all(both.out()), "out\n");
    EXPECT_EQ(co_await read_all(both.err()), "err\n");
    co_await both.wait();
  }());
}

TEST(Spawn, CwdEnvArgv0AndFile) {
  Loop loop;
  HangGuard guard(loop, 10000);
  std::string file = std::string("/tmp/brigade_spawn_test_") + std::to_string(getpid());
  run_test(loop, [&]() -> Task<void> {
    SpawnOptions o;
    o.cwd = "/tmp";
    o.env_add = {"BRIGADE_TEST_VAR=hello there"};
    Child c = spawn(loop, "sh", {"-c", "pwd; echo \"$BRIGADE_TEST_VAR\"; echo $0"}, o);
    EXPECT_EQ(co_await read_all(c.out()), "/tmp\nhello there\nsh\n");
    co_await c.wait();

    SpawnOptions only;
    only.env = std::vector<std::string>{"ONLY=1", "PATH=/usr/bin:/bin"};
    Child e = spawn(loop, "env", {}, only);
    EXPECT_EQ(co_await read_all(e.out()), "ONLY=1\nPATH=/usr/bin:/bin\n");
    co_await e.wait();

    SpawnOptions to_file;
    to_file.stdio[1] = Stdio::file(file);
    Child f = spawn(loop, "echo", {"into a file"}, to_file);
    EXPECT_FALSE(f.out().is_open());
    co_await f.wait();
  }());
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "into a file");
  ::unlink(file.c_str());
}

TEST(Spawn, BadInputGivesClearErrors) {
  Loop loop;
  try {
    spawn(loop, "brigade-no-such-program");
    ADD_FAILURE() << "spawned a missing program";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.step(), "exec");
    EXPECT_NE(std::string(e.what()).find("brigade-no-such-program"), std::string::npos);
  }
  try {
    spawn(loop, "/nonexistent/dir/prog");
    ADD_FAILURE() << "spawned a missing path";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.path(), "/nonexistent/dir/prog");
  }
  std::string plain = std::string("/tmp/brigade_not_exec_") + std::to_string(getpid());
  { std::ofstream(plain) << "#!/bin/sh\necho hi\n"; }
  ::chmod(plain.c_str(), 0644);
  try {
    spawn(loop, plain);
    ADD_FAILURE() << "spawned a non-executable file";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.errno_value(), EACCES);
    EXPECT_EQ(e.step(), "exec");
    EXPECT_EQ(e.path(), plain);
  }
  ::unlink(plain.c_str());
  SpawnOptions bad_cwd;
  bad_cwd.cwd = "/nonexistent/cwd";
  try {
    spawn(loop, "/bin/true", {}, bad_cwd);
    ADD_FAILURE() << "spawned into a missing cwd";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.step(), "chdir");
    EXPECT_EQ(e.path(), "/nonexistent/cwd");
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cwd"), std::string::npos);
  }
  EXPECT_EQ(count_zombies(), 0);
}

TEST(Spawn, KillAndSignalsResetInChild) {
  Loop loop;
  HangGuard guard(loop, 10000);
  // Our SignalWatcher blocks SIGTERM in this thread; the child must get the default back.
  SignalWatcher term(loop, SIGTERM, [](int) {});
  run_test(loop, [&]() -> Task<void> {
    Child sleeper = spawn(loop, "sleep", {"30"}, quiet());
    EXPECT_EQ(sleeper.kill(SIGTERM), 0);
    ExitStatus st = co_await sleeper.wait();
    EXPECT_EQ(st.signal, SIGTERM);
    EXPECT_EQ(sleeper.kill(SIGTERM), ESRCH);

    Child self = spawn(loop, "sh", {"-c", "kill -TERM $$; sleep 5"}, quiet());
    st = co_await self.wait();
    EXPECT_EQ(st.signal, SIGTERM);
  }());
}

TEST(Spawn, OnExitCallbackAndDroppedChildIsReaped) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    int exits = 0;
    Child c = spawn(loop, "sh", {"-c", "exit 7"}, quiet());
    c.on_exit([&](ExitStatus st) {
      EXPECT_EQ(st.code, 7);
      ++exits;
    });
    co_await c.wait();
    EXPECT_EQ(exits, 1);
    {
      Child dropped = spawn(loop, "sleep", {"0.1"}, quiet());
    }  // destroyed while running: the loop reaps it on exit
    co_await brigade::sleep(400);
    EXPECT_EQ(count_zombies(), 0);
  }());
}

// The loop is destroyed before a dropped child exits: the child is still reaped (no zombie) and
// nothing of it leaks (LSan, under the asan preset).
TEST(Spawn, DroppedChildIsReapedAfterItsLoopIsGone) {
  pid_t pid = -1;
  {
    Loop loop;
    {
      Child c = spawn(loop, "sleep", {"0.3"}, quiet());
      pid = c.pid();
    }
    loop.run();  // nothing keeps it alive: returns at once
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "the child should still run";
  // A zombie answers kill(pid, 0) too: only reaping makes the pid disappear.
  for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) ::usleep(20000);
  EXPECT_NE(::kill(pid, 0), 0) << "the dropped child was never reaped";
  EXPECT_EQ(count_zombies(), 0);
}

// An executable script without #! runs with /bin/sh, as execvp does (ENOEXEC fallback).
TEST(Spawn, ScriptWithoutShebangRunsWithBinSh) {
  Loop loop;
  HangGuard guard(loop, 10000);
  std::string script = std::string("/tmp/brigade_no_shebang_") + std::to_string(getpid());
  { std::ofstream(script) << "echo \"script $1 $2\"\nexit 3\n"; }
  ::chmod(script.c_str(), 0755);
  run_test(loop, [&]() -> Task<void> {
    SpawnOptions o;
    o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
    std::vector<std::string> args{"a b", "c"};
    Child c = spawn(loop, script, args, o);
    std::string out = co_await read_all(c.out());
    ExitStatus st = co_await c.wait();
    EXPECT_EQ(out, "script a b c\n");
    EXPECT_EQ(st.code, 3);
  }());
  // Found through PATH as well.
  std::string dir = script.substr(0, script.rfind('/'));
  run_test(loop, [&]() -> Task<void> {
    SpawnOptions o;
    o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
    o.env_add = {"PATH=" + dir};
    std::vector<std::string> args{"x"};
    Child c = spawn(loop, script.substr(dir.size() + 1), args, o);
    std::string out = co_await read_all(c.out());
    co_await c.wait();
    EXPECT_EQ(out, "script x \n");
  }());
  ::unlink(script.c_str());
  // A file the kernel refuses for another reason still fails clearly (not handed to sh).
  std::string empty_dir = script + "_dir";
  ::mkdir(empty_dir.c_str(), 0755);
  EXPECT_THROW(spawn(loop, empty_dir), SpawnError);
  ::rmdir(empty_dir.c_str());
}

// The README's child-process snippet as written: grep reads to the end of its input, so its
// stdin pipe must be ended (it hung in child.wait() when the snippet did not).
TEST(Spawn, ReadmeGrepSnippetEndsItsInput) {
  Loop loop;
  HangGuard guard(loop, 10000);
  run_test(loop, [&]() -> Task<void> {
    brigade::process::SpawnOptions opts;  // stdio: pipe (default) / inherit / ignore / a file
    opts.stdio[2] = brigade::process::Stdio::inherit();
    auto child = brigade::process::spawn(loop, "grep", {"x"}, opts);
    co_await child.in().write("one\nx two\n");
    child.in().end();  // grep reads to the end of its input: end it, as Node's
    char buf[256];     // child.stdin.end() (else child.wait() waits forever)
    std::size_t n = co_await child.out().read(buf);  // "x two\n"
    brigade::process::ExitStatus status = co_await child.wait();
    EXPECT_EQ(std::string(buf, n), "x two\n");
    EXPECT_TRUE(status.ok()) << status.describe();
  }());
}

// 10,000 short children, 32 at a time: none is left a zombie. The guard is for a hang, not a
// speed bound: a sanitized build on a loaded 2-core machine has taken over 80 s (ctest's limit
// for a test is 300 s).
TEST(Spawn, TenThousandChildrenLeaveNoZombie) {
  Loop loop;
  HangGuard guard(loop, 240000);
  constexpr int kTotal = 10000, kAtOnce = 32;
  int started = 0, finished = 0, failed = 0;
  auto one = [&]() -> Task<void> {
    while (started < kTotal) {
      ++started;
      Child c = spawn(loop, "/bin/true", {}, quiet());
      ExitStatus st = co_await c.wait();
      if (!st.ok()) ++failed;
      ++finished;
    }
  };
  run_test(loop, [&]() -> Task<void> {
    std::vector<Task<void>> workers;
    for (int i = 0; i < kAtOnce; ++i) workers.push_back(one());
    co_await when_all(std::move(workers));
  }());
  EXPECT_EQ(finished, kTotal);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(count_zombies(), 0);
}

}  // namespace
