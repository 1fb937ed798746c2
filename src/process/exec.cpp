// exec / exec_file: spawn, feed stdin, collect stdout and stderr under a cap, wait, judge.
#include "brigade/process/exec.hpp"

#include "brigade/task/spawn.hpp"

namespace brigade::process {

namespace {

std::string describe(ExecError::Reason reason, const std::string& command, const ExecResult& r) {
  std::string what = "exec '" + command + "': ";
  switch (reason) {
    case ExecError::Reason::kTimeout:
      return what + "timed out (" + r.status.describe() + ")";
    case ExecError::Reason::kMaxBuffer:
      return what + "output exceeded max_buffer (" + r.status.describe() + ")";
    case ExecError::Reason::kExitStatus:
      break;
  }
  return what + r.status.describe();
}

int errno_of(ExecError::Reason reason) {
  switch (reason) {
    case ExecError::Reason::kTimeout:
      return ETIMEDOUT;
    case ExecError::Reason::kMaxBuffer:
      return ENOBUFS;
    case ExecError::Reason::kExitStatus:
      break;
  }
  return ECHILD;
}

// What exec shares between its collectors and the timer.
struct Run {
  Child child;
  std::size_t max_buffer;
  int kill_signal;
  bool overflow = false;
  bool timed_out = false;
  int open_streams = 0;
  std::coroutine_handle<> waiter;  // the exec coroutine, waiting for both streams to end
};

void stream_done(Run& run);

// Reads one stream to its end into `out`; past the cap, kills the child and stops reading.
Task<void> collect(Run& run, net::Stream& s, std::string& out) {
  char buf[16384];
  try {
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      if (out.size() + n > run.max_buffer) {
        out.append(buf, run.max_buffer - out.size());
        run.overflow = true;
        run.child.kill(run.kill_signal);
        break;
      }
      out.append(buf, n);
    }
  } catch (const Error&) {
  }
  s.close();
  stream_done(run);
}

void stream_done(Run& run) {
  if (--run.open_streams == 0 && run.waiter) std::exchange(run.waiter, {}).resume();
}

Task<void> feed(Run& run, std::string input) {
  net::Stream& in = run.child.in();
  try {
    if (!input.empty()) co_await in.write(input);
    co_await in.shutdown();
  } catch (const Error&) {  // the child did not read it all (EPIPE): not our failure
  }
  in.close();
  stream_done(run);
}

struct StreamsDone {
  Run& run;
  bool await_ready() const noexcept { return run.open_streams == 0; }
  void await_suspend(std::coroutine_handle<> h) noexcept { run.waiter = h; }
  void await_resume() const noexcept {}
};

}  // namespace

ExecError::ExecError(Reason reason, std::string command, ExecResult result)
    : Error(errno_of(reason), describe(reason, command, result)),
      reason_(reason),
      command_(std::move(command)),
      result_(std::move(result)) {}

Task<ExecResult> exec_file(Loop& loop, std::string file, std::vector<std::string> args,
                           ExecOptions options) {
  SpawnOptions so = options.spawn;
  so.stdio = {Stdio::pipe(), Stdio::pipe(), Stdio::pipe()};
  Run run{spawn(loop, file, args, so), options.max_buffer, options.kill_signal};
  ExecResult result;
  Timer timer(loop);
  if (options.timeout_ms) {
    timer.start(options.timeout_ms, [&run] {
      run.timed_out = true;
      run.child.kill(run.kill_signal);
    });
  }
  // Killed on timeout or overflow, the child may leave a grandchild holding the pipes: stop
  // reading when it exits.
  run.child.on_exit([&run](ExitStatus) {
    if (run.timed_out || run.overflow) {
      run.child.out().close();
      run.child.err().close();
    }
  });
  run.open_streams = 3;
  brigade::spawn(feed(run, std::move(options.input)), "exec stdin");
  brigade::spawn(collect(run, run.child.out(), result.out), "exec stdout");
  brigade::spawn(collect(run, run.child.err(), result.err), "exec stderr");
  StreamsDone streams_done{run};
  co_await streams_done;
  result.status = co_await run.child.wait();
  timer.clear();
  std::string command = file;
  for (const auto& a : args) command += " " + a;
  if (run.timed_out) throw ExecError(ExecError::Reason::kTimeout, command, std::move(result));
  if (run.overflow) throw ExecError(ExecError::Reason::kMaxBuffer, command, std::move(result));
  if (!result.status.ok())
    throw ExecError(ExecError::Reason::kExitStatus, command, std::move(result));
  co_return result;
}

Task<ExecResult> exec_file(Loop& loop, std::string file, std::vector<std::string> args) {
  ExecOptions options;
  co_return co_await exec_file(loop, std::move(file), std::move(args), std::move(options));
}

Task<ExecResult> exec(Loop& loop, std::string command, ExecOptions options) {
  std::vector<std::string> args{"-c", command};
  try {
    co_return co_await exec_file(loop, "/bin/sh", std::move(args), std::move(options));
  } catch (const ExecError& e) {
    throw ExecError(e.reason(), command, e.result());
  }
}

Task<ExecResult> exec(Loop& loop, std::string command) {
  ExecOptions options;
  co_return co_await exec(loop, std::move(command), std::move(options));
}

}  // namespace brigade::process
