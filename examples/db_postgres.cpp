// PostgreSQL driven by the loop: a pool, a table, a transaction, concurrent queries, NOTIFY.
// Run: DATABASE_URL=postgresql://user@127.0.0.1:5432/db ./build/<dir>/examples/db_postgres
// A throwaway server: scripts/pg-test-server.sh start /tmp/pg  (prints the conninfo to use;
// scripts/pg-test-server.sh stop /tmp/pg  afterwards).
#include <cstdio>
#include <cstdlib>

#include "brigade/db/pg_pool.hpp"
#include "brigade/task/combinators.hpp"

using namespace brigade;

static Task<void> demo(db::PgPool& pool) {
  co_await pool.query(
      "CREATE TABLE IF NOT EXISTS brigade_example_users(id serial PRIMARY KEY, name text, "
      "score float8)");
  {
    db::PgTransaction tx = co_await pool.begin();
    co_await tx.query("DELETE FROM brigade_example_users");
    co_await tx.query("INSERT INTO brigade_example_users(name, score) VALUES ($1, $2), ($3, $4)",
                      "Ada", 9.5, "Grace", 8.25);
    co_await tx.commit();
  }
  // Ten lookups at once over the pool's connections.
  auto lookup = [&](int i) -> Task<int> {
    db::Rows r = co_await pool.query("SELECT count(*) FROM brigade_example_users WHERE id > $1", i);
    co_return r.front().get<int>(0);
  };
  std::vector<Task<int>> lookups;
  for (int i = 0; i < 10; ++i) lookups.push_back(lookup(i));
  std::vector<int> counts = co_await when_all(std::move(lookups));
  std::printf("10 concurrent lookups done (first: %d)\n", counts[0]);

  db::Rows rows =
      co_await pool.query("SELECT id, name, score FROM brigade_example_users ORDER BY id");
  for (db::Row r : rows)
    std::printf("%d  %-6s %.2f\n", r.get<int>("id"), r.get<std::string>("name").c_str(),
                r.get<double>("score"));

  auto listener = co_await pool.connect_dedicated();
  co_await listener->listen("brigade_example");
  co_await pool.query("SELECT pg_notify('brigade_example', $1)", "hello from brigade");
  db::Notification n = co_await listener->next_notification(2000);
  std::printf("notification on %s: %s\n", n.channel.c_str(), n.payload.c_str());
  co_await pool.query("DROP TABLE brigade_example_users");
}

int main() {
  const char* url = std::getenv("DATABASE_URL");
  if (!url || !*url) {
    std::printf(
        "db_postgres: set DATABASE_URL to run it, e.g.\n"
        "  scripts/pg-test-server.sh start /tmp/brigade-pg   # prints a conninfo\n"
        "  DATABASE_URL='host=127.0.0.1 port=... user=postgres dbname=postgres' %s\n"
        "  scripts/pg-test-server.sh stop /tmp/brigade-pg\n",
        "db_postgres");
    return 0;
  }
  try {
    Loop loop;
    db::PgPoolOptions options;
    options.conninfo = url;
    options.max_connections = 4;
    db::PgPool pool(options);
    run(loop, demo(pool));
  } catch (const db::DbError& e) {
    std::fprintf(stderr, "db_postgres: %s (SQLSTATE %s)\n", e.what(), e.sqlstate().c_str());
    return 1;
  }
  return 0;
}
