// brigade's side of the database benchmark: GET /users/:id as JSON from PostgreSQL (db::PgPool)
// or SQLite (db::SqliteDb, queried on the thread pool); GET /stats answers the loop delay p99
// and max since the previous /stats (then starts a new histogram).
// Usage: db_users --pg CONNINFO [--pool N] [--port P]
//        db_users --sqlite PATH [--port P]
// Prints "listening on 127.0.0.1:PORT". The table: users(id, name, email), seeded beforehand
// (bench/node/db_seed.js).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "brigade/db/pg_pool.hpp"
#include "brigade/db/sqlite_db.hpp"
#include "brigade/http/app.hpp"

using namespace brigade;
using nlohmann::json;

namespace {

constexpr const char* kSelect = "SELECT id, name, email FROM users WHERE id = $1";

struct Args {
  uint16_t port = 8080;
  std::string pg;      // conninfo
  std::string sqlite;  // path
  std::size_t pool = 10;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--port")
      a.port = static_cast<uint16_t>(std::atoi(argv[i + 1]));
    else if (k == "--pg")
      a.pg = argv[i + 1];
    else if (k == "--sqlite")
      a.sqlite = argv[i + 1];
    else if (k == "--pool")
      a.pool = static_cast<std::size_t>(std::atoi(argv[i + 1]));
  }
  if (a.pg.empty() == a.sqlite.empty()) {
    std::fprintf(stderr, "usage: db_users (--pg CONNINFO [--pool N] | --sqlite PATH) [--port P]\n");
    std::exit(2);
  }
  return a;
}

// The one database this server reads from.
struct Users {
  std::unique_ptr<db::PgPool> pg;
  std::optional<db::SqliteDb> sqlite;

  // The tasks are named before co_await: g++ 12 destroys temporaries in a co_await twice.
  Task<db::Rows> find(int64_t id) {
    if (pg) {
      Task<db::Rows> job = pg->query(kSelect, id);
      co_return co_await job;
    }
    Task<db::Rows> job = sqlite->query(kSelect, id);
    co_return co_await job;
  }
};

void answer_user(const db::Rows& rows, int64_t id, http::Res& res) {
  if (rows.empty()) {
    res.status(404).json({{"error", "no such user"}, {"id", id}});
    return;
  }
  db::Row r = rows.front();
  res.json({{"id", r.get<int64_t>("id")},
            {"name", r.get<std::string>("name")},
            {"email", r.get<std::string>("email")}});
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  Loop loop;
  Users users;
  if (!args.pg.empty()) {
    db::PgPoolOptions o;
    o.conninfo = args.pg;
    o.max_connections = args.pool;
    o.loop = &loop;
    users.pg = std::make_unique<db::PgPool>(o);
  } else {
    users.sqlite.emplace(db::SqliteDb::open(args.sqlite));
  }
  http::App app;
  app.get("/users/:id", [&users](http::Req& req, http::Res& res) -> Task<void> {
    int64_t id = std::atoll(std::string(req.param("id")).c_str());
    Task<db::Rows> job = users.find(id);
    db::Rows rows = co_await job;
    answer_user(rows, id, res);
  });
  app.get("/stats", [&loop](http::Req&, http::Res& res) {
    LatencyHistogram& delay = loop.metrics().delay;
    res.json({{"delay_p99_ms", double(delay.percentile(99)) / 1e6},
              {"delay_max_ms", double(delay.max()) / 1e6}});
    delay.reset();
  });
  http::ServerOptions options;
  options.keep_alive_timeout_ms = 60'000;  // as the Node twin
  http::Server server = app.listen(loop, "127.0.0.1", args.port, options);
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
