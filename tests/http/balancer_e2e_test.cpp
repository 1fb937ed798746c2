// Many hosts behind a real load balancer (Debian's nginx, then HAProxy): three demo clusters
// (a primary and two workers each) on 127.0.0.2, 127.0.0.3 and 127.0.0.4, the balancer on
// 127.0.0.1 with its own configuration in a temporary folder, and a steady, bounded GET load
// (tests/http/balancer_load.py). One host is drained (SIGTERM to its process group, with a
// drain delay), another is killed (SIGKILL to its whole process group) while the first drains:
// not one request fails (the balancer retries what a dead host dropped: GETs are idempotent).
// Both are started again on their ports and get traffic again. Every process the test starts
// runs in its own process group, killed on the way out whatever the outcome.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brigade/net/connect.hpp"
#include "brigade/process/exec.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task.hpp"

namespace brigade::http {
namespace {

namespace fs = std::filesystem;
using process::Child;
using process::SpawnOptions;
using process::Stdio;

const std::string kDemo = std::string(BRIGADE_BINARY_DIR) + "/examples/demo";
const std::string kLoad = std::string(BRIGADE_SOURCE_DIR) + "/tests/http/balancer_load.py";
constexpr uint64_t kDrainMs = 1000;

// A process in its own group, killed with its group when dropped.
struct Group {
  Child child;
  std::string log;
  ~Group() { kill(SIGKILL); }
  void kill(int signo) {
    if (child.pid() > 0 && !child.exited()) ::kill(-child.pid(), signo);
  }
};

Task<void> collect(net::Stream& out, std::string& log) {
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await out.read(buf);
      if (n == 0) break;
      log.append(buf, n);
    }
  } catch (const Error&) {
  }
}

Task<void> wait_until(Loop& loop, uint64_t limit_ms, std::function<bool()> done) {
  uint64_t end = loop.now() + limit_ms;
  while (!done() && loop.now() < end) co_await sleep(10);
}

// The status line of GET path on host:port over a new connection ("" when it failed).
Task<std::string> status_of(Loop& loop, std::string host, uint16_t port, std::string path) {
  std::string answer;
  try {
    net::Stream s = co_await net::connect(loop, host, port);
    co_await s.write("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    char buf[2048];
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      answer.append(buf, n);
    }
  } catch (const Error&) {
    co_return "";
  }
  co_return answer.substr(0, answer.find("\r\n"));
}

Task<bool> answers_200(Loop& loop, std::string host, uint16_t port, std::string path,
                       uint64_t limit_ms) {
  uint64_t end = loop.now() + limit_ms;
  for (;;) {
    std::string status = co_await status_of(loop, host, port, path);
    if (status.rfind("HTTP/1.1 200", 0) == 0) co_return true;
    if (loop.now() >= end) co_return false;
    co_await sleep(50);
  }
}

// A port free on every one of `hosts` now (the balancer and the restarted hosts need fixed ones).
uint16_t free_port(const std::vector<std::string>& hosts) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, hosts[0].c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      continue;
    }
    ::close(fd);
    uint16_t port = ntohs(a.sin_port);
    bool all = true;
    for (const std::string& h : hosts) {
      int f = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in b{};
      b.sin_family = AF_INET;
      b.sin_port = htons(port);
      ::inet_pton(AF_INET, h.c_str(), &b.sin_addr);
      all = all && ::bind(f, reinterpret_cast<sockaddr*>(&b), sizeof b) == 0;
      ::close(f);
    }
    if (all) return port;
  }
  return 0;
}

struct Host {
  std::string ip;
  uint16_t port = 0;
  Group group;
  std::string address() const { return ip + ":" + std::to_string(port); }
};

// demo --workers 2 on host.ip:host.port, ready when both workers answer /readyz.
Task<bool> start_host(Loop& loop, Host& h, const std::string& db) {
  SpawnOptions o;
  o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::pipe()};
  o.detached = true;
  o.env_add = {"BRIGADE_DEMO_DB=" + db};
  std::vector<std::string> args{"--host",        h.ip, "--port",     std::to_string(h.port),
                                "--workers",     "2",  "--drain-ms", std::to_string(kDrainMs),
                                "--trust-proxy", "1"};  // the balancer in front
  h.group.child = process::spawn(loop, kDemo, args, o);
  spawn(collect(h.group.child.out(), h.group.log), "demo out");
  spawn(collect(h.group.child.err(), h.group.log), "demo err");
  for (int i = 0; i < 2; ++i)  // round robin: two answers, one per worker
    if (!co_await answers_200(loop, h.ip, h.port, "/readyz", 20000)) co_return false;
  co_return true;
}

struct Balancer {
  std::string name;
  std::vector<std::string> argv;  // the command, given the folder and its config
};

std::string nginx_config(const fs::path& dir, uint16_t port, const std::vector<Host*>& hosts) {
  std::string servers;
  for (Host* h : hosts) servers += "    server " + h->address() + " max_fails=1 fail_timeout=1s;\n";
  std::string d = dir.string();
  return "worker_processes 1;\n"
         "daemon off;\n"
         "pid " +
         d +
         "/nginx.pid;\n"
         "error_log " +
         d +
         "/error.log warn;\n"
         "events { worker_connections 1024; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " +
         d +
         "/body;\n"
         "  proxy_temp_path " +
         d +
         "/proxy;\n"
         "  fastcgi_temp_path " +
         d +
         "/fastcgi;\n"
         "  uwsgi_temp_path " +
         d +
         "/uwsgi;\n"
         "  scgi_temp_path " +
         d +
         "/scgi;\n"
         "  upstream brigade {\n" +
         servers +
         "    keepalive 16;\n"
         "  }\n"
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) +
         ";\n"
         "    location / {\n"
         "      proxy_pass http://brigade;\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_set_header Connection \"\";\n"
         "      proxy_set_header Host $host;\n"
         "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
         "      proxy_set_header X-Forwarded-Proto $scheme;\n"
         "      proxy_next_upstream error timeout;\n"
         "      proxy_next_upstream_tries 3;\n"
         "      proxy_connect_timeout 1s;\n"
         "      proxy_read_timeout 10s;\n"
         "      add_header X-Upstream $upstream_addr always;\n"
         "    }\n"
         "  }\n"
         "}\n";
}

std::string haproxy_config(const fs::path& dir, uint16_t port, const std::vector<Host*>& hosts) {
  std::string servers;
  char name = 'a';
  for (Host* h : hosts)
    servers += std::string("  server ") + name++ + " " + h->address() + " check\n";
  return "global\n"
         "  pidfile " +
         (dir / "haproxy.pid").string() +
         "\n"
         "defaults\n"
         "  mode http\n"
         "  timeout connect 1s\n"
         "  timeout client 10s\n"
         "  timeout server 10s\n"
         "  retries 3\n"
         "  option redispatch 1\n"
         "  retry-on all-retryable-errors\n"
         "frontend web\n"
         "  bind 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "  option forwardfor\n"
         "  http-request set-header X-Forwarded-Proto http\n"
         "  default_backend brigade\n"
         "backend brigade\n"
         "  balance roundrobin\n"
         "  option httpchk GET /readyz\n"
         "  http-check expect status 200\n"
         "  default-server inter 200ms fall 1 rise 2\n"
         "  http-response set-header X-Upstream %si:%sp\n" +
         servers;
}

// What the load client saw in one phase.
struct Phase {
  int ok = 0;
  int failed = 0;
  nlohmann::json errors;
  nlohmann::json by_upstream;
};

void run_balancer_case(const std::string& balancer) {
  const char* binary = balancer == "nginx" ? "/usr/sbin/nginx" : "/usr/sbin/haproxy";
  if (::access(binary, X_OK) != 0)
    GTEST_SKIP() << binary << " is not installed (scripts/install-deps.sh)";
  Loop loop;

  fs::path dir =
      fs::path(BRIGADE_BINARY_DIR) / ("balancer_" + balancer + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string db = (dir / "demo.db").string();
  std::array<Host, 3> hosts;
  hosts[0].ip = "127.0.0.2";
  hosts[1].ip = "127.0.0.3";
  hosts[2].ip = "127.0.0.4";
  for (Host& h : hosts) h.port = free_port({h.ip});
  uint16_t lb_port = free_port({"127.0.0.1"});
  Group lb;
  Group load;
  Timer hang(loop);  // a hang is a failure, not a stuck CI: everything is killed, waits end
  hang.start(90000, [&] {
    ADD_FAILURE() << "timed out";
    for (Group* g : {&lb, &load, &hosts[0].group, &hosts[1].group, &hosts[2].group})
      g->kill(SIGKILL);
  });
  hang.unref();

  run(loop, [&]() -> Task<void> {
    {  // the database, seeded once (three clusters' workers would race to seed it)
      SpawnOptions o;
      o.stdio = {Stdio::ignore(), Stdio::ignore(), Stdio::inherit()};
      o.env_add = {"BRIGADE_DEMO_DB=" + db};
      std::vector<std::string> args{"--self-check"};
      Child seed = process::spawn(loop, kDemo, args, o);
      process::ExitStatus st = co_await seed.wait();
      EXPECT_TRUE(st.ok()) << st.describe();
    }
    for (Host& h : hosts) {
      bool up = co_await start_host(loop, h, db);
      EXPECT_TRUE(up) << h.address() << "\n" << h.group.log;
      if (!up) co_return;
    }

    std::vector<Host*> all{&hosts[0], &hosts[1], &hosts[2]};
    SpawnOptions lo;
    lo.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::pipe()};
    lo.detached = true;
    std::vector<std::string> args;
    if (balancer == "nginx") {
      std::ofstream(dir / "nginx.conf") << nginx_config(dir, lb_port, all);
      args = {"-p", dir.string(),
              "-c", (dir / "nginx.conf").string(),
              "-e", (dir / "error.log").string()};
    } else {
      std::ofstream(dir / "haproxy.cfg") << haproxy_config(dir, lb_port, all);
      args = {"-db", "-f", (dir / "haproxy.cfg").string()};
    }
    lb.child = process::spawn(loop, binary, args, lo);
    spawn(collect(lb.child.out(), lb.log), "balancer out");
    spawn(collect(lb.child.err(), lb.log), "balancer err");
    bool lb_up = co_await answers_200(loop, "127.0.0.1", lb_port, "/", 10000);
    EXPECT_TRUE(lb_up) << balancer << ":\n" << lb.log;
    if (!lb_up) co_return;
    if (balancer == "haproxy")  // every server seen up by its checks (rise 2 x 200 ms)
      co_await sleep(600);

    // Trust proxy (one hop): the client's address and scheme as the balancer saw them; what the
    // client itself claimed in X-Forwarded-* is not believed.
    std::vector<std::string> curl_args{"-s",
                                       "--interface",
                                       "127.0.0.9",
                                       "-H",
                                       "X-Forwarded-For: 203.0.113.9",
                                       "-H",
                                       "X-Forwarded-Proto: https",
                                       "http://127.0.0.1:" + std::to_string(lb_port) + "/whoami"};
    process::ExecResult who = co_await process::exec_file(loop, "curl", curl_args);
    nlohmann::json seen = nlohmann::json::parse(who.out, nullptr, false);
    EXPECT_TRUE(seen.is_object()) << who.out << who.err;
    if (seen.is_object()) {
      EXPECT_EQ(seen.value("ip", ""), "127.0.0.9") << seen.dump();
      EXPECT_EQ(seen.value("protocol", ""), "http") << seen.dump();
    }

    SpawnOptions co;
    co.stdio = {Stdio::pipe(), Stdio::pipe(), Stdio::inherit()};
    co.detached = true;
    std::vector<std::string> load_args{kLoad, std::to_string(lb_port), "3", "10"};
    // Debian's python3 (a version manager's shim on PATH may take seconds to start).
    const char* python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    load.child = process::spawn(loop, python, load_args, co);
    std::string summary;
    spawn(collect(load.child.out(), summary), "load out");
    co_await wait_until(loop, 10000, [&] { return summary.find("ready\n") != std::string::npos; });
    EXPECT_EQ(summary, "ready\n");
    summary.clear();
    auto phase = [&](std::string name) -> Task<void> {
      co_await load.child.in().write(name + "\n");
    };
    co_await phase("steady");
    co_await sleep(1500);

    // Host A drains (its whole group gets SIGTERM, as systemd sends it); while it drains,
    // host B's whole group is killed.
    Host& a = hosts[0];
    Host& b = hosts[1];
    co_await phase("drain");
    a.group.kill(SIGTERM);
    co_await sleep(300);
    std::string a_ready = co_await status_of(loop, a.ip, a.port, "/readyz");
    EXPECT_EQ(a_ready.rfind("HTTP/1.1 503", 0), 0u) << "draining host's /readyz: " << a_ready;
    co_await phase("kill");
    b.group.kill(SIGKILL);
    co_await wait_until(loop, 15000, [&] { return a.group.child.exited(); });
    EXPECT_TRUE(a.group.child.exited()) << a.group.log;
    if (a.group.child.exited()) {
      process::ExitStatus st = co_await a.group.child.wait();
      EXPECT_TRUE(st.ok()) << st.describe() << "\n" << a.group.log;
    }
    co_await wait_until(loop, 5000, [&] { return b.group.child.exited(); });
    co_await sleep(500);  // only host C serves

    // Both come back on their addresses; the balancer sends them traffic again.
    co_await phase("restarting");
    for (Host* h : {&a, &b}) {
      bool up = co_await start_host(loop, *h, db);
      EXPECT_TRUE(up) << h->address() << "\n" << h->group.log;
    }
    co_await phase("restarted");
    co_await sleep(balancer == "nginx" ? 2500 : 2000);  // nginx: fail_timeout 1s; HAProxy: rise
    load.child.in().end();
    co_await wait_until(loop, 15000, [&] { return load.child.exited(); });
    co_await sleep(50);  // the last of its output
    EXPECT_TRUE(load.child.exited());

    nlohmann::json phases = nlohmann::json::parse(summary, nullptr, false);
    EXPECT_TRUE(phases.is_object()) << "load client: " << summary;
    if (!phases.is_object()) co_return;
    for (auto& [name, p] : phases.items()) {
      EXPECT_EQ(p["failed"].get<int>(), 0) << balancer << ", phase " << name << ": " << p.dump();
      EXPECT_GT(p["ok"].get<int>(), 0) << name;
    }
    for (const char* name : {"steady", "restarted"}) {
      EXPECT_TRUE(phases.contains(name)) << phases.dump();
      if (!phases.contains(name)) continue;
      for (Host& h : hosts)
        EXPECT_GT(phases[name]["by_upstream"].value(h.address(), 0), 0)
            << balancer << ": no traffic to " << h.address() << " in phase " << name << ": "
            << phases[name].dump();
    }
    // While B was dead and A gone, only C answered (what reached B was retried elsewhere).
    EXPECT_TRUE(phases.contains("kill")) << phases.dump();
    if (phases.contains("kill")) {
      EXPECT_GT(phases["kill"]["by_upstream"].value(hosts[2].address(), 0), 0) << phases.dump();
    }
    std::printf("%s: %s\n", balancer.c_str(), phases.dump().c_str());

    lb.kill(SIGTERM);
    co_await wait_until(loop, 5000, [&] { return lb.child.exited(); });
    for (Host& h : hosts) h.group.kill(SIGTERM);
    co_await wait_until(loop, 15000, [&] {
      for (Host& h : hosts)
        if (!h.group.child.exited()) return false;
      return true;
    });
  }());
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST(Balancer, NginxDrainAndKillLoseNoRequest) { run_balancer_case("nginx"); }

TEST(Balancer, HaproxyDrainAndKillLoseNoRequest) { run_balancer_case("haproxy"); }

}  // namespace
}  // namespace brigade::http
