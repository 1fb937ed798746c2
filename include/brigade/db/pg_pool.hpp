#pragma once
// PgPool: PostgreSQL connections shared by the tasks of one loop (node-postgres's Pool).
//   db::PgPoolOptions o;
//   o.conninfo = "host=127.0.0.1 port=5432 user=app dbname=app";
//   o.max_connections = 10;
//   db::PgPool pool(o);
//   db::Rows rows = co_await pool.query("SELECT name FROM users WHERE id = $1", id);
//
// Each statement borrows a connection for its own time: at most max_connections at once, the
// rest wait in a queue (first come first served) for up to acquire_timeout_ms, then fail with
// DbError(kTimeout). Connections are opened on demand and kept; one whose server went away (a
// restart, a crash, an admin's pg_terminate_backend) is seen at once — its socket is watched
// while idle — and dropped, so the next statement gets a fresh one. A statement caught on a
// connection as it dies fails with DbError(kConnection); nothing is retried behind your back.
// Idle connections do not keep the loop alive.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "brigade/db/pg_connection.hpp"
#include "brigade/db/wait_list.hpp"

namespace brigade::db {

struct PgPoolOptions {
  std::string conninfo;
  std::size_t min_connections = 0;  // opened by start(), kept open by the health check
  std::size_t max_connections = 10;
  uint64_t acquire_timeout_ms = 5000;  // longest wait in the queue for a connection
  uint64_t connect_timeout_ms = 5000;
  uint64_t query_timeout_ms = 0;     // client deadline per statement (0: none)
  uint64_t health_check_ms = 30000;  // pings idle connections this often (0: never)
  Loop* loop = nullptr;              // nullptr: the current loop
};

struct PgPoolStats {
  std::size_t open = 0;  // idle + lent + connecting
  std::size_t idle = 0;
  std::size_t waiting = 0;  // tasks queued for a connection
  uint64_t connects = 0;    // connections opened so far
};

class PgPool;

// A connection borrowed from the pool; going out of scope gives it back.
class PgLease {
 public:
  PgLease() noexcept = default;
  PgLease(PgLease&& o) noexcept;
  PgLease& operator=(PgLease&& o) noexcept;
  ~PgLease() { release(); }

  // An empty lease (moved from, released or default) throws DbError(kUsage) here.
  PgConnection* operator->() const { return &**this; }
  PgConnection& operator*() const;
  PgConnection* get() const noexcept { return conn_.get(); }
  explicit operator bool() const noexcept { return bool(conn_); }
  void release();

 private:
  friend class PgPool;
  PgLease(PgPool* pool, std::unique_ptr<PgConnection> conn) noexcept
      : pool_(pool), conn_(std::move(conn)) {}
  PgPool* pool_ = nullptr;
  std::unique_ptr<PgConnection> conn_;
};

// BEGIN ... COMMIT on one connection. Destroyed while open (an exception, an early return), it
// sends ROLLBACK without waiting: the connection's later statements queue behind it.
class PgTransaction {
 public:
  // On a connection of your own (no other task may use it meanwhile).
  static Task<PgTransaction> begin(PgConnection& conn);

  PgTransaction(PgTransaction&& o) noexcept;
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();

  template <typename... Args>
  Task<Rows> query(std::string sql, Args... args) {
    return run(std::move(sql), to_values(std::move(args)...));
  }
  Task<Rows> run(std::string sql, std::vector<Value> params);
  // Throws DbError("25P02") if a statement inside failed: the server rolled back instead.
  Task<void> commit();
  Task<void> rollback();
  bool active() const noexcept { return active_; }
  PgConnection& connection() const noexcept { return *conn_; }

 private:
  friend class PgPool;
  PgTransaction(PgConnection* conn, PgLease lease) noexcept
      : lease_(std::move(lease)), conn_(conn) {}
  Task<void> finish(const char* sql);
  PgLease lease_;
  PgConnection* conn_;
  bool active_ = true;
  bool failed_ = false;
};

class PgPool {
 public:
  explicit PgPool(PgPoolOptions options);
  // Closes the idle connections. Destroy the pool after the tasks that use it have finished.
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Opens min_connections now (throws if the server cannot be reached); optional.
  Task<void> start();

  template <typename... Args>
  Task<Rows> query(std::string sql, Args... args) {
    return run(std::move(sql), to_values(std::move(args)...));
  }
  Task<Rows> run(std::string sql, std::vector<Value> params, uint64_t timeout_ms = 0);

  // Named statements: registered here, prepared on each connection the first time it runs them.
  void prepare(std::string name, std::string sql);
  template <typename... Args>
  Task<Rows> execute(std::string name, Args... args) {
    return run_prepared(std::move(name), to_values(std::move(args)...));
  }
  Task<Rows> run_prepared(std::string name, std::vector<Value> params, uint64_t timeout_ms = 0);

  // A batch on one connection in one round trip (see PgConnection::pipeline).
  Task<std::vector<Rows>> pipeline(std::vector<Statement> statements);

  Task<PgTransaction> begin();
  Task<PgLease> acquire();
  // A connection outside the pool, for LISTEN (it is held for as long as you listen).
  Task<std::unique_ptr<PgConnection>> connect_dedicated();

  // Pings the idle connections, drops the dead, tops up to min_connections. Returns how many
  // were dropped. Runs by itself every health_check_ms.
  Task<std::size_t> check_health();

  PgPoolStats stats() const noexcept;
  const PgPoolOptions& options() const noexcept { return options_; }

 private:
  friend class PgLease;
  void give_back(std::unique_ptr<PgConnection> conn);
  void drop(std::unique_ptr<PgConnection> conn);
  Task<std::unique_ptr<PgConnection>> open_one();

  PgPoolOptions options_;
  Loop& loop_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  std::size_t open_ = 0;
  uint64_t connects_ = 0;
  WaitList<std::unique_ptr<PgConnection>> waiting_;
  std::map<std::string, std::string, std::less<>> statements_;
  Timer health_timer_;
  bool checking_ = false;
};

}  // namespace brigade::db
