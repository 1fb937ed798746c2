#pragma once
// SqliteDb: the embedded database, run on brigade's thread pool and never on the loop.
//   auto db = db::SqliteDb::open("app.db");                       // WAL mode, opened at once
//   co_await db.query("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)");
//   co_await db.query("INSERT INTO users(name) VALUES (?)", "ada");   // ?, ?1 or $1 placeholders
//   db::Rows rows = co_await db.query("SELECT id, name FROM users WHERE id = ?", 1);
//   std::string name = rows.front().get<std::string>("name");
// Connections: one per pool thread at most (max_connections), each with its own cache of prepared
// statements, so the same SQL text is compiled once per connection. WAL lets readers run beside
// the one writer; a writer waits for another up to busy_timeout_ms. A ":memory:" database has
// one connection (each connection would be another database). Use a SqliteDb from the loop
// thread it was first queried on.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brigade/db/rows.hpp"
#include "brigade/db/value.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::db {

struct SqliteOptions {
  std::size_t max_connections = 0;  // 0: the thread pool's size
  int busy_timeout_ms = 5000;       // how long a writer waits for another writer's lock
  bool wal = true;                  // journal_mode=WAL, synchronous=NORMAL
  bool create = true;               // create the file if missing
  ThreadPool* pool = nullptr;       // nullptr: ThreadPool::shared()
};

class SqliteTransaction;
struct SqliteConn;

class SqliteDb {
 public:
  // Opens (and creates) the database file now, on the calling thread, and checks it: a program's
  // start-up step, like opening a config file. Throws DbError if it cannot be opened.
  static SqliteDb open(const std::string& path, SqliteOptions options = SqliteOptions());

  SqliteDb(SqliteDb&&) noexcept;
  SqliteDb& operator=(SqliteDb&&) noexcept;
  ~SqliteDb();  // wait for every query first: queries in flight hold the database

  // (Arguments are taken by value: g++ 12 cannot keep a string literal by reference in a
  // co_await expression.)
  // One statement with parameters bound from C++ values (int, int64_t, double, bool, string,
  // string_view, const char*, Bytes, nullptr, std::optional<...>, db::Value).
  template <typename... Args>
  Task<Rows> query(std::string sql, Args... args) {
    return run(std::move(sql), to_values(std::move(args)...));
  }
  Task<Rows> run(std::string sql, std::vector<Value> params);

  // Several statements separated by ';', no parameters (schemas, migrations).
  Task<void> exec(std::string sql);

  // BEGIN IMMEDIATE on one connection, kept until commit or rollback; a transaction destroyed
  // without either is rolled back (on the pool) and its connection is given back.
  Task<SqliteTransaction> begin();

  // A moved-from SqliteDb: path() is empty, max_connections() 0, and a statement throws
  // DbError(kUsage).
  const std::string& path() const noexcept;
  std::size_t max_connections() const noexcept;

  struct Impl;

 private:
  explicit SqliteDb(std::unique_ptr<Impl> impl);
  Impl* checked() const;  // the Impl, or DbError(kUsage) if moved from
  std::unique_ptr<Impl> impl_;
};

class SqliteTransaction {
 public:
  SqliteTransaction(SqliteTransaction&& o) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  template <typename... Args>
  Task<Rows> query(std::string sql, Args... args) {
    return run(std::move(sql), to_values(std::move(args)...));
  }
  Task<Rows> run(std::string sql, std::vector<Value> params);
  Task<void> commit();
  Task<void> rollback();
  bool active() const noexcept { return conn_ != nullptr; }

 private:
  friend class SqliteDb;
  SqliteTransaction(SqliteDb::Impl* db, SqliteConn* conn) noexcept : db_(db), conn_(conn) {}
  Task<void> finish(const char* sql);
  SqliteDb::Impl* db_;
  SqliteConn* conn_;
};

}  // namespace brigade::db
