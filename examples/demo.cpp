// The demo service: brigade's HTTP server, thread pool, database and loop metrics together.
//
//   demo [--host IP] [--port N] [--https-port N] [--workers N] [--drain-ms N]
//        [--trust-proxy HOPS|LIST] [--self-check]
//
//   GET /                 plain text
//   GET /json             a JSON object
//   GET /users/:id        a row from SQLite (demo.db, created and seeded on first run, queried
//                         on the thread pool), or PostgreSQL when DATABASE_URL=postgres://...
//   GET /heavy?n=30       naive fibonacci on the WorkerPool: the loop stays responsive
//   GET /heavy-blocking?n=30   the same on the loop: watch /stats' delay and blocked reports
//   GET /stats            loop delay histogram, utilization, blocked reports, pool queue depth,
//                         open connections, requests served
//   GET /metrics          the same and per-route request durations for Prometheus (text format)
//   GET /dashboard        a live page of the loop delay, utilization, req/s and pool queues
//                         (Server-Sent Events), with buttons running /heavy and /heavy-blocking
//   GET /healthz          liveness: 200 while the loop answers
//   GET /readyz           readiness: 503 while starting, draining, or overloaded (loop delay p99
//                         over 500 ms, more than 64 jobs queued on either pool)
//   GET /whoami           the client as the server sees it: ip, ips, protocol (through the
//                         proxies --trust-proxy trusts: a hop count, or addresses and CIDRs)
//   POST /jobs?n=30       with REDIS_URL=redis://...: enqueue fib(n) on the "jobs" queue (run by
//                         examples/queue_worker processes on any host); 202 {"id": ...}
//   GET /jobs/:id         that job's state, and its result once completed
//   GET /fanout           fetches /json and /users/1 from this server at once (when_all) and
//                         returns both with the time each took
//
// HTTPS: the same routes on --https-port (default 8443; a free one with --port 0; -1: off),
// with a self-signed certificate for localhost and 127.0.0.1 made on first run next to the
// database (demo-cert.pem, demo-key.pem; trust it with the printed `curl --cacert` line).
// SIGHUP re-reads the certificate files: new connections get them, open ones stay.
//
// --host picks the address (default 127.0.0.1), --port 0 a free port. --workers N (N > 0) runs
// N worker processes behind one port (cluster). SIGINT / SIGTERM close gracefully; with
// --drain-ms N, /readyz answers 503 and the demo serves on for N ms first (behind a balancer,
// see docs/deploy.md). --self-check starts on a free port, requests every URL with a small
// in-process client, prints the answers and exits 0 if all were 200.
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brigade/db/pg_pool.hpp"
#include "brigade/db/sqlite_db.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/cluster_metrics.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/http/health.hpp"
#include "brigade/http/metrics.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/metrics/runtime.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/queue/queue.hpp"
#include "brigade/redis/client.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/worker/pool_stats_json.hpp"
#include "brigade/worker/worker_pool.hpp"
#include "demo_dashboard.hpp"

using namespace brigade;
using http::Req;
using http::Res;
using nlohmann::json;

namespace {

struct DemoOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int https_port = 8443;  // -1: no HTTPS
  uint64_t drain_ms = 0;
  std::string trust_proxy;  // "" none; "1": one hop; "loopback,10.0.0.0/8": these addresses
  unsigned workers = 0;
  int metrics_port = 9464;  // cluster: the primary's /metrics of all workers (-1: off)
  bool self_check = false;
};

DemoOptions parse_args(int argc, char** argv) {
  DemoOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      o.port = static_cast<uint16_t>(std::atoi(argv[++i]));
      if (o.port == 0 && o.https_port == 8443) o.https_port = 0;  // tests: all ports free
      if (o.port == 0 && o.metrics_port == 9464) o.metrics_port = 0;
    } else if (a == "--https-port" && i + 1 < argc)
      o.https_port = std::atoi(argv[++i]);
    else if (a == "--host" && i + 1 < argc)
      o.host = argv[++i];
    else if (a == "--drain-ms" && i + 1 < argc)
      o.drain_ms = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--trust-proxy" && i + 1 < argc)
      o.trust_proxy = argv[++i];
    else if (a == "--metrics-port" && i + 1 < argc)
      o.metrics_port = std::atoi(argv[++i]);
    else if (a == "--workers" && i + 1 < argc)
      o.workers = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--self-check")
      o.self_check = true;
    else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: demo [--host IP] [--port N] [--https-port N|-1] [--workers N] "
          "[--metrics-port N|-1] [--drain-ms N] [--trust-proxy HOPS|LIST] [--self-check]\n");
      std::exit(0);
    }
  }
  if (o.self_check) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.https_port = -1;
    o.workers = 0;
  }
  return o;
}

uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// The whole of `text` as a decimal integer (no sign, space, NUL or trailing junk).
template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

constexpr unsigned kMaxFib = 42;  // fib(42) is a few seconds already

// /heavy's n (default 30); a bad or out-of-range value is answered with 400 naming the limit.
std::optional<unsigned> fib_arg(const Req& req, Res& res) {
  if (!req.has_query("n")) return 30u;
  std::optional<unsigned> n = parse_integer<unsigned>(req.query("n"));
  if (n && *n <= kMaxFib) return n;
  res.status(400).json(
      {{"error", "n must be an integer from 0 to " + std::to_string(kMaxFib)}, {"param", "n"}});
  return std::nullopt;
}

// ---- The users table: SQLite by default, PostgreSQL with DATABASE_URL --------------------------

std::string sqlite_path() {
  if (const char* p = std::getenv("BRIGADE_DEMO_DB")) return p;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<std::size_t>(n));
    return dir.substr(0, dir.rfind('/')) + "/demo.db";  // next to the binary, under build/
  }
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/brigade-demo.db";
}

class Users {
 public:
  Users() {
    const char* url = std::getenv("DATABASE_URL");
    if (url && (std::strncmp(url, "postgres://", 11) == 0 ||
                std::strncmp(url, "postgresql://", 13) == 0)) {
      db::PgPoolOptions o;
      o.conninfo = url;
      pg_ = std::make_unique<db::PgPool>(o);
      where_ = "PostgreSQL";
    } else {
      sqlite_.emplace(db::SqliteDb::open(sqlite_path()));
      where_ = "SQLite " + sqlite_->path();
    }
  }
  const std::string& where() const { return where_; }

  // Creates and seeds the table on first run.
  Task<void> seed() {
    co_await query(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "email TEXT NOT NULL)");
    db::Rows count = co_await query("SELECT COUNT(*) AS n FROM users");
    if (count.front().get<int64_t>("n") > 0) co_return;
    static const char* const kNames[] = {"Ada",    "Grace",  "Linus",  "Barbara", "Ken",
                                         "Dennis", "Edsger", "Donald", "Frances", "Margaret"};
    for (int id = 1; id <= 100; ++id) {
      std::string name = std::string(kNames[(id - 1) % 10]) + " " + std::to_string(id);
      std::string email = "user" + std::to_string(id) + "@example.com";
      co_await query("INSERT INTO users (id, name, email) VALUES ($1, $2, $3)", id, name, email);
    }
  }

  // The user as JSON, or null.
  Task<json> find(int64_t id) {
    db::Rows rows = co_await query("SELECT id, name, email FROM users WHERE id = $1", id);
    if (rows.empty()) co_return json();
    db::Row r = rows.front();
    co_return json{{"id", r.get<int64_t>("id")},
                   {"name", r.get<std::string>("name")},
                   {"email", r.get<std::string>("email")}};
  }

 private:
  template <typename... Args>
  Task<db::Rows> query(std::string sql, Args... args) {
    if (pg_) co_return co_await pg_->query(std::move(sql), std::move(args)...);
    co_return co_await sqlite_->query(std::move(sql), std::move(args)...);
  }

  std::optional<db::SqliteDb> sqlite_;
  std::unique_ptr<db::PgPool> pg_;
  std::string where_;
};

// ---- The service -----------------------------------------------------------------------------

json loop_stats(Loop& loop, const http::Server* server, const WorkerPool& heavy) {
  const LoopMetrics& m = loop.metrics();
  auto ms = [](uint64_t ns) { return double(ns) / 1e6; };
  json blocked = json::array();
  for (const BlockedReport& b : m.blocked_recent)
    blocked.push_back({{"activity", b.activity}, {"ms", ms(b.duration_ns)}});
  ThreadPoolStats pool = ThreadPool::shared().stats();
  json out = {
      {"pid", ::getpid()},
      {"loop",
       {{"delay_ms",
         {{"p50", ms(m.delay.percentile(50))},
          {"p90", ms(m.delay.percentile(90))},
          {"p99", ms(m.delay.percentile(99))},
          {"max", ms(m.delay.max())}}},
        {"utilization", m.elu.utilization()},
        {"blocked_count", m.blocked_count},
        {"blocked_recent", blocked}}},
      {"worker_pool", to_json(heavy.stats())},
      {"pool",
       {{"threads", pool.threads},
        {"queued", pool.queued},
        {"running", pool.running},
        {"completed", pool.completed}}},
  };
  if (server) {
    http::ServerStats s = server->stats();
    out["http"] = {{"connections", s.connections},
                   {"requests", s.requests},
                   {"active_requests", s.active_requests},
                   {"bad_requests", s.bad_requests},
                   {"timeouts", s.timeouts}};
  }
  return out;
}

// Readiness: not while starting or draining, nor while the loop or either pool is overloaded.
http::ReadinessOptions readiness() {
  http::ReadinessOptions o;
  o.max_loop_delay_ms = 500;
  o.max_pool_queue = 64;
  return o;
}

// --trust-proxy: a hop count ("1": the balancer in front), or a comma-separated list of
// addresses, CIDR ranges and Express's names ("loopback").
void set_trust_proxy(http::App& app, const std::string& spec) {
  if (spec.empty()) return;
  if (std::optional<std::size_t> hops = parse_integer<std::size_t>(spec)) {
    app.trust_proxy(http::TrustProxy::hops(*hops));
    return;
  }
  std::vector<std::string> list;
  for (std::size_t at = 0; at <= spec.size();) {
    std::size_t comma = std::min(spec.find(',', at), spec.size());
    list.push_back(spec.substr(at, comma - at));
    at = comma + 1;
  }
  app.trust_proxy(http::TrustProxy::addresses(list));
}

void add_health(http::App& app, http::Health& health, WorkerPool& heavy) {
  health.add_check([&heavy]() -> std::string {
    std::size_t queued = heavy.stats().queue_size;
    return queued > 64 ? "worker pool queue " + std::to_string(queued) + " > 64" : "";
  });
  http::mount_health(app, health);
}

// Routes; `server` is set once the server exists (for /stats).
uint16_t g_cluster_port = 0;  // a cluster worker's own port, for /fanout

void add_routes(http::App& app, Loop& loop, Users& users, http::Server** server,
                WorkerPool& heavy) {
  app.get("/", [](Req&, Res& res) { res.send("Hello from brigade!\n"); });
  app.get("/json", [](Req&, Res& res) {
    res.json({{"message", "Hello, World!"}, {"server", "brigade"}});
  });
  app.get("/users/:id", [&users](Req& req, Res& res) -> Task<void> {
    std::optional<int64_t> parsed = parse_integer<int64_t>(req.param("id"));
    if (!parsed) {  // "abc", "1%00", "1x": not a user id
      res.status(400).json({{"error", "id must be an integer"}, {"param", "id"}});
      co_return;
    }
    int64_t id = *parsed;
    json user = co_await users.find(id);
    if (user.is_null())
      res.status(404).json({{"error", "no such user"}, {"id", id}});
    else
      res.json(user);
  });
  app.get("/heavy", [&heavy](Req& req, Res& res) -> Task<void> {
    std::optional<unsigned> arg = fib_arg(req, res);
    if (!arg) co_return;
    unsigned n = *arg;
    uint64_t start = Loop::hrtime();
    auto job = heavy.run([n] { return fib(n); });  // named: g++ 12 and temporaries in co_await
    uint64_t value = co_await job;
    res.json({{"n", n},
              {"fib", value},
              {"ms", double(Loop::hrtime() - start) / 1e6},
              {"where", "worker pool"}});
  });
  app.get("/heavy-blocking", [](Req& req, Res& res) {
    std::optional<unsigned> arg = fib_arg(req, res);
    if (!arg) return;
    unsigned n = *arg;
    uint64_t start = Loop::hrtime();
    uint64_t value = fib(n);
    res.json({{"n", n},
              {"fib", value},
              {"ms", double(Loop::hrtime() - start) / 1e6},
              {"where", "event loop (blocked it)"}});
  });
  app.get("/stats",
          [&loop, server, &heavy](Req&, Res& res) { res.json(loop_stats(loop, *server, heavy)); });
  app.after(http::track_requests());  // brigade_http_request_duration_seconds per route
  app.get("/metrics", http::metrics_handler());
  demo::add_dashboard(app, loop, server, heavy);  // GET /dashboard: the figures, live
  // Two requests to this very server at once, on the loop's shared fetch client.
  app.get("/fanout", [server](Req&, Res& res) -> Task<void> {
    uint16_t port = (*server)->port();  // 0 in a cluster worker: the cluster's port
    std::string base = "http://127.0.0.1:" + std::to_string(port ? port : g_cluster_port);
    auto timed = [](std::string url) -> Task<json> {
      uint64_t start = Loop::hrtime();
      http::Response r = co_await http::fetch(url);
      json body = co_await r.json();
      co_return json{
          {"status", r.status()}, {"ms", double(Loop::hrtime() - start) / 1e6}, {"body", body}};
    };
    uint64_t start = Loop::hrtime();
    auto json_task = timed(base + "/json");  // named: see "g++ 12" in the README
    auto user_task = timed(base + "/users/1");
    auto [j, u] = co_await when_all(std::move(json_task), std::move(user_task));
    res.json({{"json", j}, {"user", u}, {"total_ms", double(Loop::hrtime() - start) / 1e6}});
  });
  app.get("/whoami", [](Req& req, Res& res) {
    res.json({{"ip", req.ip()}, {"ips", req.ips()}, {"protocol", std::string(req.protocol())}});
  });
  app.on_error([](Req& req, Res& res, std::exception_ptr e) {
    std::fprintf(stderr, "demo: %.*s %.*s failed: %s\n", int(req.method_name().size()),
                 req.method_name().data(), int(req.target().size()), req.target().data(),
                 describe_exception(e).c_str());
    res.status(500).json({{"error", "internal error"}});
  });
}

void print_urls(const std::string& host, uint16_t port, const Users& users) {
  std::printf("brigade demo listening on http://%s:%u  (pid %d, db: %s)\n", host.c_str(), port,
              int(::getpid()), users.where().c_str());
  for (const char* path : {"/", "/json", "/users/1", "/heavy?n=30", "/heavy-blocking?n=30",
                           "/stats", "/metrics", "/dashboard", "/healthz", "/readyz", "/fanout"})
    std::printf("  http://%s:%u%s\n", host.c_str(), port, path);
  std::fflush(stdout);
}

// ---- HTTPS: a self-signed certificate made on first run ----------------------------------------

struct HttpsFiles {
  std::string cert, key;
};

HttpsFiles https_files() {
  std::string db = sqlite_path();
  std::string dir = db.find('/') == std::string::npos ? "." : db.substr(0, db.rfind('/'));
  HttpsFiles f{dir + "/demo-cert.pem", dir + "/demo-key.pem"};
  if (::access(f.cert.c_str(), R_OK) == 0 && ::access(f.key.c_str(), R_OK) == 0) return f;
  // Made aside and renamed in place: a demo starting at the same time never reads half a file.
  std::string tmp = "." + std::to_string(::getpid()) + ".tmp";
  tls::write_self_signed(f.cert + tmp, f.key + tmp, {"localhost", "127.0.0.1"});
  std::rename((f.key + tmp).c_str(), f.key.c_str());
  std::rename((f.cert + tmp).c_str(), f.cert.c_str());
  return f;
}

// The same app over TLS; nullopt (and a note) when the port cannot be had.
std::optional<http::Server> listen_https(http::App& app, Loop& loop, const DemoOptions& opts) {
  if (opts.https_port < 0) return std::nullopt;
  try {
    HttpsFiles files = https_files();
    http::ServerOptions so;
    so.tls.emplace();
    so.tls->cert_file = files.cert;
    so.tls->key_file = files.key;
    http::Server server = app.listen(loop, opts.host, uint16_t(opts.https_port), so);
    std::printf("HTTPS on https://localhost:%u  (SIGHUP reloads the certificate)\n", server.port());
    std::printf("  curl --cacert %s https://localhost:%u/fanout\n", files.cert.c_str(),
                server.port());
    std::fflush(stdout);
    return server;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo: no HTTPS: %s\n", e.what());
    return std::nullopt;
  }
}

// ---- --self-check: a tiny HTTP/1.1 client ------------------------------------------------------

Task<std::string> fetch(Loop& loop, uint16_t port, std::string path) {
  net::Stream s = co_await net::connect(loop, "127.0.0.1", port);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  co_await s.write(request);
  std::string answer;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(std::span<char>(buf, sizeof buf));
    if (n == 0) break;
    answer.append(buf, n);
  }
  co_return answer;
}

Task<void> self_check(Loop& loop, http::Server& server, int& failures) {
  for (const char* path : {"/", "/json", "/users/1", "/users/42", "/heavy?n=25",
                           "/heavy-blocking?n=25", "/stats", "/metrics", "/healthz", "/readyz"}) {
    std::string answer;
    try {
      answer = co_await fetch(loop, server.port(), path);
    } catch (const std::exception& e) {
      answer = std::string("error: ") + e.what();
    }
    std::string status = answer.substr(0, answer.find("\r\n"));
    std::size_t body_at = answer.find("\r\n\r\n");
    std::string body = body_at == std::string::npos ? "" : answer.substr(body_at + 4);
    while (!body.empty() && body.back() == '\n') body.pop_back();
    if (body.size() > 160) body = body.substr(0, 157) + "...";
    bool ok = status.rfind("HTTP/1.1 200", 0) == 0;
    if (!ok) ++failures;
    std::printf("%s GET %-22s %s  %s\n", ok ? "ok  " : "FAIL", path, status.c_str(), body.c_str());
  }
  std::printf("self-check: %s\n", failures ? "FAILED" : "all URLs answered 200");
  std::fflush(stdout);
  server.close();
}

// ---- Jobs on Redis (REDIS_URL): POST /jobs?n= enqueues fib(n), GET /jobs/:id reads it ---------

struct Jobs {
  Jobs(const char* url, Loop& loop) : redis(options(url, loop)), queue(redis, "jobs") {}
  static redis::Options options(const char* url, Loop& loop) {
    redis::Options o = redis::parse_url(url);
    o.loop = &loop;
    return o;
  }
  redis::Client redis;
  queue::Queue queue;
};

std::unique_ptr<Jobs> make_jobs(Loop& loop) {
  const char* url = std::getenv("REDIS_URL");
  if (!url || !*url) return nullptr;
  return std::make_unique<Jobs>(url, loop);
}

void add_job_routes(http::App& app, Jobs& jobs) {
  app.post("/jobs", [&jobs](Req& req, Res& res) -> Task<void> {
    std::optional<unsigned> arg = fib_arg(req, res);
    if (!arg) co_return;
    std::string n = std::to_string(*arg);
    auto add = jobs.queue.add("fib", n, {.attempts = 3, .backoff_ms = 500});
    std::string id = co_await add;
    res.status(202).json({{"id", id}, {"status", "/jobs/" + id}});
  });
  app.get("/jobs/:id", [&jobs](Req& req, Res& res) -> Task<void> {
    auto read = jobs.queue.get(std::string(req.param("id")));
    std::optional<queue::JobInfo> job = co_await read;
    if (!job) {
      res.status(404).json({{"error", "no such job"}});
      co_return;
    }
    json out = {{"id", job->id},
                {"name", job->name},
                {"n", job->payload},
                {"state", queue::state_name(job->state)},
                {"attempts_made", job->attempts_made}};
    if (job->state == queue::JobState::kCompleted) out["result"] = job->result;
    if (!job->error.empty()) out["error"] = job->error;
    res.json(out);
  });
}

// ---- Running: one process, or a cluster worker --------------------------------------------------

int run_single(const DemoOptions& opts) {
  Loop loop;
  Users users;
  run(loop, users.seed());
  http::App app;
  http::Server* server_ptr = nullptr;
  WorkerPool heavy(loop);
  http::Health health(loop, readiness());
  set_trust_proxy(app, opts.trust_proxy);
  add_health(app, health, heavy);
  add_routes(app, loop, users, &server_ptr, heavy);
  std::unique_ptr<Jobs> jobs = make_jobs(loop);
  if (jobs) add_job_routes(app, *jobs);
  http::Server server = app.listen(loop, opts.host, opts.port);
  server_ptr = &server;
  // What /metrics reports besides the request durations (read while these live).
  metrics::Registry& registry = metrics::Registry::global();
  metrics::RuntimeCollectors runtime = metrics::collect_runtime(registry, loop);
  metrics::Collector heavy_metrics = metrics::collect_worker_pool(registry, heavy, "heavy");
  metrics::Collector server_metrics = http::collect_server(registry, server);
  health.started();
  int failures = 0;
  // SIGINT / SIGTERM: /readyz says 503 for drain_ms while serving on, then a graceful close.
  http::DrainOptions drain;
  drain.delay_ms = opts.drain_ms;
  http::DrainOnSignal on_signal(loop, server, health, drain, [] {
    std::printf("closed\n");
    std::fflush(stdout);
  });
  auto say = [&opts](int signo) {
    std::printf("\nsignal %d: /readyz 503 for %llu ms, then closing gracefully\n", signo,
                static_cast<unsigned long long>(opts.drain_ms));
    std::fflush(stdout);
  };
  std::optional<http::Server> https;
  SignalWatcher say_int(loop, SIGINT, say);
  SignalWatcher say_term(loop, SIGTERM, say);
  // The HTTPS server closes with the plain one: at once on the signal, gracefully.
  SignalWatcher close_int(loop, SIGINT, [&https](int) {
    if (https) https->close();
  });
  SignalWatcher close_term(loop, SIGTERM, [&https](int) {
    if (https) https->close();
  });
  SignalWatcher reload(loop, SIGHUP, [&https](int) {
    if (!https) return;
    try {
      https->reload_tls();  // open connections keep the certificate they started with
      std::printf("SIGHUP: certificate reloaded\n");
    } catch (const std::exception& e) {
      std::printf("SIGHUP: kept the current certificate: %s\n", e.what());
    }
    std::fflush(stdout);
  });
  if (opts.self_check) {
    std::printf("self-check on http://127.0.0.1:%u (db: %s)\n", server.port(),
                users.where().c_str());
    spawn(self_check(loop, server, failures), "self-check");
  } else {
    print_urls(opts.host, server.port(), users);
    https = listen_https(app, loop, opts);
  }
  loop.run();
  return failures ? 1 : 0;
}

// A cluster worker: the same service on connections handed over by the primary. The worker
// main only sets up (the cluster starts serving once it returns); the service lives until the
// worker is told to stop and its server has closed gracefully.
struct WorkerService {
  explicit WorkerService(cluster::Worker& worker)
      : server_loop(worker.loop()),
        heavy(worker.loop()),
        server(worker.loop(), app.handler()),
        hold(worker.hold()) {}
  Loop& server_loop;
  Users users;
  WorkerPool heavy;
  http::App app;
  http::Health health{server_loop, readiness()};
  http::Server server;
  http::Server* server_ptr = &server;
  std::unique_ptr<Jobs> jobs = make_jobs(server_loop);
  metrics::RuntimeCollectors runtime =
      metrics::collect_runtime(metrics::Registry::global(), server_loop);
  metrics::Collector heavy_metrics =
      metrics::collect_worker_pool(metrics::Registry::global(), heavy, "heavy");
  metrics::Collector server_metrics = http::collect_server(metrics::Registry::global(), server);
  cluster::Worker::Hold hold;  // the worker exits only once the server has drained (reset below)
  std::optional<std::stop_callback<std::function<void()>>> on_stop;
};
std::unique_ptr<WorkerService> g_worker;

Task<void> worker_main(cluster::Worker& worker, DemoOptions opts) {
  Loop* loop = &worker.loop();
  g_cluster_port = opts.port;
  g_worker = std::make_unique<WorkerService>(worker);
  WorkerService* w = g_worker.get();
  co_await w->users.seed();
  set_trust_proxy(w->app, opts.trust_proxy);
  add_health(w->app, w->health, w->heavy);
  add_routes(w->app, *loop, w->users, &w->server_ptr, w->heavy);
  if (w->jobs) add_job_routes(w->app, *w->jobs);
  worker.on_drain([w] { w->health.begin_drain(); });  // this worker's /readyz: 503
  http::answer_metrics_requests(worker);  // the primary's /metrics asks each worker for its own
  w->health.started();
  worker.serve([w](net::Stream s) { w->server.adopt(std::move(s)); });
  std::function<void()> stop = [w, loop] {
    w->server.close([loop] { loop->set_immediate([] { g_worker.reset(); }); });
  };
  w->on_stop.emplace(worker.stopping(), std::move(stop));
}

// The primary's /metrics: every worker's registry, merged, and the primary's own process figures.
// Lives as long as the primary (the process).
void serve_cluster_metrics(cluster::Primary& primary, const std::string& host, uint16_t port) {
  struct PrimaryMetrics {
    explicit PrimaryMetrics(cluster::Primary& p) : merged(p, &metrics::Registry::global()) {}
    metrics::Collector process = metrics::collect_process(metrics::Registry::global());
    http::ClusterMetrics merged;
    http::App app;
    std::optional<http::Server> server;
  };
  static PrimaryMetrics* m = new PrimaryMetrics(primary);  // never freed: serves until exit
  m->app.get("/metrics", http::cluster_metrics_handler(m->merged));
  try {
    m->server = m->app.listen(primary.loop(), host, port);
    std::printf("metrics of all workers on http://%s:%u/metrics\n", host.c_str(),
                m->server->port());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo: no cluster /metrics: %s\n", e.what());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  DemoOptions opts = parse_args(argc, argv);
  if (opts.workers == 0) return run_single(opts);
  cluster::Options co;
  co.workers = opts.workers;
  co.host = opts.host;
  co.port = opts.port;
  co.drain_delay_ms = opts.drain_ms;
  co.on_primary = [workers = opts.workers, host = opts.host,
                   metrics_port = opts.metrics_port](cluster::Primary& primary) {
    std::printf("brigade demo: cluster primary %d, %u workers on http://%s:%u\n", int(::getpid()),
                workers, host.c_str(), primary.port());
    if (metrics_port >= 0) serve_cluster_metrics(primary, host, uint16_t(metrics_port));
    for (const char* path : {"/", "/json", "/users/1", "/heavy?n=30", "/stats", "/readyz"})
      std::printf("  http://%s:%u%s\n", host.c_str(), primary.port(), path);
    std::fflush(stdout);
  };
  return cluster::run(co, [opts](cluster::Worker& w) { return worker_main(w, opts); });
}
