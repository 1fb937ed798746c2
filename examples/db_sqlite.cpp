// SQLite on the thread pool: a temporary database, a table, a transaction, typed reads.
// Run: ./build/<dir>/examples/db_sqlite
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "brigade/db/sqlite_db.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;

static Task<void> demo(db::SqliteDb& db) {
  co_await db.exec(
      "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, score REAL)");
  {
    db::SqliteTransaction tx = co_await db.begin();
    co_await tx.query("INSERT INTO users(name, email, score) VALUES (?, ?, ?)", "Ada",
                      "ada@example.com", 9.5);
    co_await tx.query("INSERT INTO users(name, email, score) VALUES (?, ?, ?)", "Grace", nullptr,
                      8.25);
    co_await tx.commit();
  }
  db::Rows rows = co_await db.query("SELECT id, name, email, score FROM users ORDER BY id");
  for (db::Row r : rows) {
    auto email = r.get<std::optional<std::string>>("email");
    std::printf("%lld  %-6s %-18s %.2f\n", static_cast<long long>(r.get<int64_t>("id")),
                r.get<std::string>("name").c_str(), email ? email->c_str() : "(none)",
                r.get<double>("score"));
  }
  db::Rows one = co_await db.query("SELECT name FROM users WHERE id = $1", 2);
  std::printf("user 2 is %s\n", one.front().get<std::string>("name").c_str());
}

int main() {
  auto dir =
      std::filesystem::temp_directory_path() / ("brigade-db-sqlite-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int status = 0;
  try {
    db::SqliteDb db = db::SqliteDb::open((dir / "example.db").string());
    Loop loop;
    run(loop, demo(db));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db_sqlite: %s\n", e.what());
    status = 1;
  }
  std::filesystem::remove_all(dir);
  return status;
}
