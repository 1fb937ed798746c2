// cluster: fault tests against examples/cluster_hello under load from real loopback clients.
#include <signal.h>
#include <sys/stat.h>

#include <map>
#include <optional>
#include <vector>

#include "brigade/net/connect.hpp"
#include "brigade/process/exec.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/tls/certificate.hpp"
#include "process_support.hpp"

namespace {

using namespace brigade;
using namespace brigade::process;
using namespace process_test;

const std::string kProgram = std::string(BRIGADE_BINARY_DIR) + "/examples/cluster_hello";

// What the primary printed, as events with loop times.
struct Events {
  uint16_t port = 0;
  std::vector<std::pair<unsigned, pid_t>> ready;  // (id, pid) in order
  std::map<pid_t, uint64_t> ready_at_ms;
  std::vector<pid_t> exited;
  int messages = 0;
  bool eof = false;
  std::string log;  // every line, with its loop time, for failure messages
};

Task<void> read_events(Loop& loop, net::Stream& out, Events& ev) {
  std::string buf;
  char tmp[4096];
  try {
    for (;;) {
      std::size_t n = co_await out.read(tmp);
      if (n == 0) break;
      buf.append(tmp, n);
      std::size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        ev.log += std::to_string(loop.now()) + " " + line + "\n";
        unsigned id = 0, port = 0;
        int pid = 0;
        if (std::sscanf(line.c_str(), "listening on 127.0.0.1:%u", &port) == 1) {
          ev.port = static_cast<uint16_t>(port);
        } else if (std::sscanf(line.c_str(), "worker %u ready pid %d", &id, &pid) == 2) {
          ev.ready.emplace_back(id, pid);
          ev.ready_at_ms[pid] = loop.now();
        } else if (std::sscanf(line.c_str(), "worker %u exit pid %d", &id, &pid) == 2) {
          ev.exited.push_back(pid);
        } else if (line.find(" says: got 'hello worker") != std::string::npos) {
          ++ev.messages;
        }
      }
    }
  } catch (const Error&) {
  }
  ev.eof = true;
}

// Load: `clients` loops of one request per connection (Connection: close).
struct Load {
  uint16_t port = 0;
  bool stop = false;
  uint64_t ok = 0;
  uint64_t failed = 0;   // connected, then no complete answer
  uint64_t refused = 0;  // could not connect
  int running = 0;
};

Task<void> client(Loop& loop, Load& load) {
  ++load.running;
  static constexpr std::string_view kRequest =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  while (!load.stop) {
    std::optional<net::Stream> s;
    try {
      s.emplace(co_await net::connect(loop, "127.0.0.1", load.port));
    } catch (const Error&) {
      ++load.refused;
    }
    if (!s) {
      co_await brigade::sleep(5);
      continue;
    }
    try {
      co_await s->write(kRequest);
      std::string answer = co_await read_all(*s);
      bool good = answer.rfind("HTTP/1.1 200 OK", 0) == 0 && answer.size() >= 13 &&
                  answer.compare(answer.size() - 13, 13, "Hello, World!") == 0;
      good ? ++load.ok : ++load.failed;
    } catch (const Error&) {
      ++load.failed;
    }
  }
  --load.running;
}

Task<void> wait_until(Loop& loop, uint64_t limit_ms, std::function<bool()> done) {
  uint64_t end = loop.now() + limit_ms;
  while (!done() && loop.now() < end) co_await brigade::sleep(5);
}

// A cluster_hello run with its events.
struct Cluster {
  Child child;
  Events ev;
  bool term_sent = false;  // a second SIGTERM could land after the primary dropped its handler
};

Task<void> start_cluster(Loop& loop, Cluster& c, std::vector<std::string> args, unsigned workers) {
  if (::access(kProgram.c_str(), X_OK) != 0) {
    ADD_FAILURE() << kProgram << " is missing: build the examples (cluster_hello)";
    co_return;
  }
  SpawnOptions o;
  o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
  c.child = spawn(loop, kProgram, args, o);
  brigade::spawn(read_events(loop, c.child.out(), c.ev), "events");
  co_await wait_until(loop, 10000, [&] { return c.ev.ready.size() >= workers; });
  EXPECT_GE(c.ev.ready.size(), workers) << "workers did not come up";
}

Task<void> stop_cluster(Loop& loop, Cluster& c) {
  if (!c.child.pid() || c.child.exited()) co_return;
  if (!c.term_sent) c.child.kill(SIGTERM);
  c.term_sent = true;
  uint64_t start = loop.now();
  co_await wait_until(loop, 15000, [&] { return c.child.exited(); });
  EXPECT_TRUE(c.child.exited()) << "primary did not exit after SIGTERM";
  if (!c.child.exited()) c.child.kill(SIGKILL);
  ExitStatus st = co_await c.child.wait();
  EXPECT_TRUE(st.ok()) << st.describe();
  EXPECT_LT(loop.now() - start, 10000u);
}

std::vector<pid_t> live_pids(const Events& ev) {
  std::vector<pid_t> out;
  for (auto [id, pid] : ev.ready)
    if (std::find(ev.exited.begin(), ev.exited.end(), pid) == ev.exited.end()) out.push_back(pid);
  return out;
}

Task<void> wait_load_done(Loop& loop, Load& load) {
  load.stop = true;
  co_await wait_until(loop, 10000, [&] { return load.running == 0; });
}

// Kill -9 one worker a second for 5 s (the issue says 10; 5 keeps the suite fast) under load.
TEST(Cluster, KillNineUnderLoadRoundRobin) {
  Loop loop;
  HangGuard guard(loop, 60000);
  constexpr unsigned kWorkers = 3;
  constexpr int kClients = 8, kKills = 5;
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "3", "--policy", "rr"};
    co_await start_cluster(loop, c, args, kWorkers);
    if (c.ev.port == 0) co_return;
    Load load;
    load.port = c.ev.port;
    for (int i = 0; i < kClients; ++i) brigade::spawn(client(loop, load), "client");
    co_await brigade::sleep(300);
    uint64_t worst_back_ms = 0;
    for (int k = 0; k < kKills; ++k) {
      std::vector<pid_t> live = live_pids(c.ev);
      EXPECT_EQ(live.size(), kWorkers);
      if (live.empty()) break;
      pid_t victim = live[static_cast<std::size_t>(k) % live.size()];
      std::size_t ready_before = c.ev.ready.size();
      uint64_t killed_at = loop.now();
      ::kill(victim, SIGKILL);
      // Respawn takes ~10 ms on a quiet machine; the bound is for a loaded CI one.
      co_await wait_until(loop, 10000, [&] { return c.ev.ready.size() > ready_before; });
      EXPECT_GT(c.ev.ready.size(), ready_before) << "worker not respawned";
      if (c.ev.ready.size() > ready_before) {
        pid_t fresh = c.ev.ready.back().second;
        worst_back_ms = std::max(worst_back_ms, c.ev.ready_at_ms[fresh] - killed_at);
      }
      co_await brigade::sleep(1000 - std::min<uint64_t>(1000, loop.now() - killed_at));
    }
    co_await wait_load_done(loop, load);
    std::printf("[ kill -9 rr ] %d kills, %lu ok, %lu failed, %lu refused, worst respawn %lu ms\n",
                kKills, (unsigned long)load.ok, (unsigned long)load.failed,
                (unsigned long)load.refused, (unsigned long)worst_back_ms);
    EXPECT_GT(load.ok, 100u);
    EXPECT_EQ(load.refused, 0u);  // the primary's listener never closed
    // Only requests in flight on a killed worker may fail: at most one per client per kill.
    EXPECT_LE(load.failed, uint64_t(kKills) * kClients);
    EXPECT_LT(worst_back_ms,
              5000u);  // ~10 ms quiet (printed above); the bound is for a loaded CI machine
    co_await stop_cluster(loop, c);
  }());
}

TEST(Cluster, SigtermUnderLoadFailsNothingAccepted) {
  Loop loop;
  HangGuard guard(loop, 60000);
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "2", "--policy", "rr"};
    co_await start_cluster(loop, c, args, 2);
    if (c.ev.port == 0) co_return;
    Load load;
    load.port = c.ev.port;
    for (int i = 0; i < 8; ++i) brigade::spawn(client(loop, load), "client");
    co_await brigade::sleep(500);
    // No new connection after this point; every one already made must be answered.
    load.stop = true;
    c.child.kill(SIGTERM);
    c.term_sent = true;
    co_await wait_load_done(loop, load);
    std::printf("[ sigterm rr ] %lu ok, %lu failed\n", (unsigned long)load.ok,
                (unsigned long)load.failed);
    EXPECT_EQ(load.failed, 0u);
    EXPECT_GT(load.ok, 10u);
    co_await stop_cluster(loop, c);
  }());
}

TEST(Cluster, RollingRestartUnderLoadFailsNothing) {
  Loop loop;
  HangGuard guard(loop, 60000);
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "2", "--policy", "rr"};
    co_await start_cluster(loop, c, args, 2);
    if (c.ev.port == 0) co_return;
    std::vector<pid_t> before = live_pids(c.ev);
    Load load;
    load.port = c.ev.port;
    for (int i = 0; i < 8; ++i) brigade::spawn(client(loop, load), "client");
    co_await brigade::sleep(300);
    c.child.kill(SIGHUP);
    co_await wait_until(loop, 15000, [&] {
      return c.ev.ready.size() >= 4 && c.ev.exited.size() >= 2 && live_pids(c.ev).size() == 2;
    });
    co_await brigade::sleep(300);
    co_await wait_load_done(loop, load);
    std::vector<pid_t> after = live_pids(c.ev);
    std::printf("[ rolling restart rr ] %lu ok, %lu failed, %lu refused\n", (unsigned long)load.ok,
                (unsigned long)load.failed, (unsigned long)load.refused);
    EXPECT_EQ(after.size(), 2u) << c.ev.log;
    for (pid_t p : before) EXPECT_EQ(std::count(after.begin(), after.end(), p), 0);
    EXPECT_EQ(load.failed, 0u);
    EXPECT_EQ(load.refused, 0u);
    EXPECT_GT(load.ok, 10u);
    co_await stop_cluster(loop, c);
  }());
}

TEST(Cluster, ReusePortServesAndExchangesMessages) {
  Loop loop;
  HangGuard guard(loop, 60000);
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "2", "--policy", "reuseport"};
    co_await start_cluster(loop, c, args, 2);
    if (c.ev.port == 0) co_return;
    Load load;
    load.port = c.ev.port;
    for (int i = 0; i < 4; ++i) brigade::spawn(client(loop, load), "client");
    co_await brigade::sleep(400);
    co_await wait_load_done(loop, load);
    EXPECT_GT(load.ok, 10u);
    EXPECT_EQ(load.failed, 0u);
    co_await wait_until(loop, 2000, [&] { return c.ev.messages >= 2; });
    EXPECT_GE(c.ev.messages, 2);  // primary -> worker -> primary
    co_await stop_cluster(loop, c);
  }());
}

TEST(Cluster, CrashLoopBacksOff) {
  Loop loop;
  HangGuard guard(loop, 60000);
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "1", "--crash"};
    SpawnOptions o;
    o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
    c.child = spawn(loop, kProgram, args, o);
    brigade::spawn(read_events(loop, c.child.out(), c.ev), "events");
    co_await brigade::sleep(2000);
    // Backoff 100, 200, 400, 800 ms: about five exits in 2 s, never hundreds.
    std::printf("[ crash loop ] %zu worker exits in 2 s\n", c.ev.exited.size());
    EXPECT_GE(c.ev.exited.size(), 2u);
    EXPECT_LE(c.ev.exited.size(), 8u);
    co_await stop_cluster(loop, c);
  }());
}

// The cluster serves HTTPS: each worker does the handshakes of the connections it is handed.
TEST(Cluster, ServesHttpsFromItsWorkers) {
  std::string dir = ::testing::TempDir() + "cluster_tls_" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  Loop loop;
  HangGuard guard(loop, 60000);
  run_test(loop, [&]() -> Task<void> {
    Cluster c;
    std::vector<std::string> args{"--workers", "2", "--tls", cert,
                                  key};  // g++ 12: no braces in co_await
    co_await start_cluster(loop, c, args, 2);
    if (c.ev.port == 0) co_return;
    std::string url = "https://127.0.0.1:" + std::to_string(c.ev.port) + "/";
    for (int i = 0; i < 4; ++i) {  // a new connection each: both workers take some
      ExecOptions o;
      o.timeout_ms = 10000;
      std::vector<std::string> curl_args{"-sS", "--cacert", cert, url};
      ExecResult r = co_await exec_file(loop, "curl", curl_args, o);
      EXPECT_EQ(r.out, "Hello, World!");
    }
    ExecOptions plain;
    plain.timeout_ms = 10000;
    std::string http_url = "http://127.0.0.1:" + std::to_string(c.ev.port) + "/";
    try {  // plain HTTP on the TLS port: closed, no answer
      std::vector<std::string> plain_args{"-sS", http_url};
      co_await exec_file(loop, "curl", plain_args, plain);
      ADD_FAILURE() << "plain HTTP was answered";
    } catch (const ExecError&) {
    }
    co_await stop_cluster(loop, c);
  }());
  std::string rm = "rm -rf " + dir;
  std::system(rm.c_str());
}

}  // namespace
