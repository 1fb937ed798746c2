// README: PostgreSQL, workers and the worker pool, child processes and cluster.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "brigade/db/pg_pool.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/cluster_server.hpp"
#include "brigade/loop.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/process/exec.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task.hpp"
#include "brigade/worker/worker.hpp"
#include "brigade/worker/worker_pool.hpp"

namespace {

uint64_t fib(int n) {  // iterative: the README's fib(40) at once
  uint64_t a = 0, b = 1;
  for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
  return a;
}

// Compiled only: it needs a PostgreSQL server (tests/db runs PgPool against its own).
[[maybe_unused]] brigade::Task<void> pg_query(int64_t id) {
  // clang-format off
// readme:begin pg-pool
brigade::db::PgPoolOptions o;          // libpq's async API, its socket on brigade's poller
const char* url = std::getenv("DATABASE_URL");  // e.g. postgresql://app@localhost/app
o.conninfo = url ? url : "";           // "": libpq's defaults (PGHOST, PGUSER, ...)
o.max_connections = 10;
brigade::db::PgPool pool(o);
brigade::db::Rows rows = co_await pool.query("SELECT name FROM users WHERE id = $1", id);
// readme:end
  // clang-format on
}

TEST(Readme, WorkerAndWorkerPool) {
  brigade::Loop loop;
  ::testing::internal::CaptureStdout();
  uint64_t got = 0;
  std::string got_text;
  auto body = [&]() -> brigade::Task<void> {
    // clang-format off
// readme:begin workers
brigade::Worker w(loop, [](brigade::WorkerContext& ctx) {
  ctx.parent_port.post_message(fib(ctx.worker_data.get<int>()));
}, brigade::Message(40));
w.on_message([](brigade::Message m) { std::printf("%llu\n", m.get<unsigned long long>()); });

brigade::PoolOptions po;
po.max_threads = 2;
brigade::WorkerPool pool(loop, po);
auto job = pool.run([](int n) { return fib(n); }, 25);
uint64_t r = co_await job;

// A task that is a coroutine runs on its worker's own loop (it may await timers, files,
// sockets there); po.max_concurrent_per_worker says how many run at once on one worker.
auto page = pool.run([]() -> brigade::Task<std::string> { co_await brigade::sleep(100); co_return "done"; });
std::string text = co_await page;
// readme:end
    // clang-format on
    got = r;
    got_text = text;
    co_await brigade::sleep(500);  // margin for the worker's message on a loaded machine
  };
  brigade::run(loop, body());
  loop.run();
  std::fflush(stdout);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), std::to_string(fib(40)) + "\n");
  EXPECT_EQ(got, fib(25));
  EXPECT_EQ(got_text, "done");
}

TEST(Readme, ChildProcesses) {
  brigade::Loop loop;
  std::string listing, grepped;
  int code = -1;
  auto body = [&]() -> brigade::Task<void> {
    // clang-format off
// readme:begin child-cluster
std::vector<std::string> args{"-la"};
auto out = co_await brigade::process::exec_file(loop, "ls", args);   // out.out, out.err, out.status
brigade::process::SpawnOptions opts;   // stdio: pipe (default) / inherit / ignore / a file
opts.stdio[2] = brigade::process::Stdio::inherit();
auto child = brigade::process::spawn(loop, "grep", {"x"}, opts);
co_await child.in().write("one\nx two\n");
child.in().end();                      // grep reads to the end of its input: end it, as Node's
char buf[256];                         // child.stdin.end() (else child.wait() waits forever)
std::size_t n = co_await child.out().read(buf);   // "x two\n"
brigade::process::ExitStatus status = co_await child.wait();

// readme:end
    // clang-format on
    listing = out.out;
    grepped.assign(buf, n);
    code = status.code;
  };
  brigade::run(loop, body());
  EXPECT_NE(listing.find(".."), std::string::npos) << listing;
  EXPECT_EQ(grepped, "x two\n");
  EXPECT_EQ(code, 0);
}

// Compiled only: cluster::run forks this test binary's processes.
[[maybe_unused]] int cluster_main(brigade::http::App& app) {
  // clang-format off
// readme:begin child-cluster
brigade::cluster::Options o;  // round-robin (SCM_RIGHTS) or SO_REUSEPORT
o.workers = 2;
o.port = 8080;
return brigade::cluster::run(o, [&app](brigade::cluster::Worker& w) -> brigade::Task<void> {
  brigade::http::serve(w, app.handler());  // an http::Server in each worker (cluster_server.hpp)
  co_return;
});
// readme:end
  // clang-format on
}

}  // namespace
