#include "brigade/worker/worker.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "brigade/loop/thread.hpp"
#include "brigade/task/spawn.hpp"
#include "large_blocks.hpp"

namespace brigade {

namespace {
std::atomic<int> g_next_worker_id{1};
thread_local int t_worker_id = 0;
thread_local bool t_terminated = false;  // this worker's loop was stopped by terminate()
}  // namespace

int current_worker_id() noexcept { return t_worker_id; }

struct detail::WorkerShared {
  std::mutex mu;
  std::shared_ptr<LoopHandle> worker_inbox;  // guarded by mu; set while the worker's loop runs
  bool terminating = false;                  // guarded by mu
  std::stop_source stop;
  std::shared_ptr<LoopHandle> parent_inbox;  // the parent loop's handle: the exit event's way
  Worker* owner = nullptr;  // the parent's thread only; nullptr once the Worker is gone
  WorkerMain main;
  Message data;
  MessagePort port;  // the worker's end
  std::string name;
  int thread_id = 0;

  void deliver_exit(int code, std::exception_ptr error) {
    if (owner) owner->handle_exit(code, error);
  }
};

namespace {

struct MainOutcome {
  Loop* loop;
  std::exception_ptr error;
};

// Awaits the worker's main task; an exception escaping it ends the worker's loop.
Task<void> watch_main(Task<void>& main, MainOutcome& out) {
  try {
    co_await main;
  } catch (...) {
    out.error = std::current_exception();
    out.loop->stop();
  }
}

// Runs the worker function and its loop; returns the exit code (error set if it failed).
int run_worker_loop(detail::WorkerShared& s, Loop& loop, std::exception_ptr& error) {
  WorkerContext ctx{loop, s.port, s.data, s.stop.get_token(), s.thread_id, s.name};
  MainOutcome out{&loop, nullptr};
  Task<void> main;
  Task<void> watcher;
  int code = 0;
  try {
    main = s.main(ctx);
    watcher = watch_main(main, out);
    watcher.handle().resume();
    if (!out.error) loop.run();
    if (out.error) std::rethrow_exception(out.error);
  } catch (const WorkerExit& e) {
    code = e.code;
  } catch (...) {
    error = std::current_exception();
    code = 1;
  }
  watcher = {};  // coroutine frames go while their loop is still here
  main = {};
  // terminate() stops the token before its message reaches this loop: a main that saw the token
  // and returned was terminated too (exit code 1, as in Node).
  bool terminated = t_terminated || s.stop.get_token().stop_requested();
  return terminated && !error ? 1 : code;
}

void worker_thread(std::shared_ptr<detail::WorkerShared> s) {
  t_worker_id = s->thread_id;
  int code = 1;
  std::exception_ptr error;
  {
    Loop loop;
    loop.set_blocked_threshold_ms(0);  // workers are where long computations belong
    // An exception escaping a callback (worker_exit() included) ends the worker's loop and
    // becomes its exit code or 'error' event, as in Node, instead of ending the process.
    loop.on_uncaught_exception(
        [](std::exception_ptr e, const char*) { std::rethrow_exception(e); });
    MailboxRef mailbox(loop);
    bool terminated;
    {
      std::lock_guard lock(s->mu);
      s->worker_inbox = mailbox.handle();
      terminated = s->terminating;
    }
    if (!terminated) code = run_worker_loop(*s, loop, error);
    {
      std::lock_guard lock(s->mu);
      s->worker_inbox.reset();
    }
    s->port.close();  // the parent's port gets its close event after the last message
    s->main.reset();
    s->data = Message{};
  }
  s->parent_inbox->post([s, code, error] { s->deliver_exit(code, error); });
}

}  // namespace

Worker::Worker(Loop& parent, WorkerMain main, Message worker_data, WorkerOptions options)
    : parent_(parent),
      options_(std::move(options)),
      shared_(std::make_shared<detail::WorkerShared>()),
      mailbox_(parent),
      keep_(parent),
      grace_timer_(parent),
      thread_id_(g_next_worker_id.fetch_add(1)) {
  detail::keep_large_blocks_in_heap();
  MessageChannel channel;
  port_ = std::move(channel.port1);
  shared_->port = std::move(channel.port2);
  shared_->main = std::move(main);
  shared_->data = std::move(worker_data);
  shared_->name = options_.name;
  shared_->thread_id = thread_id_;
  shared_->owner = this;
  shared_->parent_inbox = mailbox_.handle();
  // Receive from the start, so no message can be overtaken by the exit event.
  port_.on_message({}, &parent_);
  port_.unref();  // the worker itself keeps the parent loop alive while it runs
  thread_ = start_thread("brigade-worker", [s = shared_] { worker_thread(s); });
}

Worker::~Worker() {
  if (!exit_code_) terminate();
  if (thread_.joinable()) thread_.join();
  shared_->owner = nullptr;
}

void Worker::on_message(MessagePort::Handler handler) {
  port_.on_message(std::move(handler), &parent_);
}

void Worker::terminate() {
  if (exit_code_ || terminating_) return;
  terminating_ = true;
  shared_->stop.request_stop();
  std::shared_ptr<LoopHandle> box;
  {
    std::lock_guard lock(shared_->mu);
    shared_->terminating = true;
    box = shared_->worker_inbox;
  }
  if (box) {
    box->post([] {
      t_terminated = true;
      if (Loop* loop = Loop::current()) loop->stop();
    });
  }
  if (options_.terminate_grace_ms == 0) return;
  grace_timer_.start(options_.terminate_grace_ms, [this] {
    auto e = std::make_exception_ptr(WorkerUnresponsiveError(
        "worker '" + options_.name + "' still running " +
        std::to_string(options_.terminate_grace_ms) + " ms after terminate()"));
    if (on_error_)
      on_error_(e);
    else
      std::fprintf(stderr, "brigade: %s\n", describe_exception(e).c_str());
  });
}

void Worker::handle_exit(int code, std::exception_ptr error) {
  if (thread_.joinable()) thread_.join();
  grace_timer_.clear();
  exit_code_ = code;
  keep_.reset();
  auto shared = shared_;  // a handler may destroy this Worker
  if (error) {
    if (on_error_)
      on_error_(error);
    else
      std::fprintf(stderr, "brigade: worker '%s' failed: %s\n", options_.name.c_str(),
                   describe_exception(error).c_str());
  }
  if (shared->owner != this) return;
  if (on_exit_) on_exit_(code);
  if (shared->owner != this) return;
  if (exit_waiter_) std::exchange(exit_waiter_, {}).resume();
}

}  // namespace brigade
