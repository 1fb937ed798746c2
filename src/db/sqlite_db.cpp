// SqliteDb: connections handed to pool threads, at most max_connections queries at once (the
// rest wait on the loop, never on a pool thread).
#include "brigade/db/sqlite_db.hpp"

#include <mutex>

#include "brigade/db/wait_list.hpp"
#include "brigade/task/spawn.hpp"
#include "sqlite_conn.hpp"

namespace brigade::db {

struct SqliteDb::Impl {
  std::string path;
  SqliteOptions options;
  ThreadPool* pool;
  std::size_t max;

  std::mutex mu;  // guards idle: taken and given back on pool threads
  std::vector<std::unique_ptr<SqliteConn>> idle;

  std::size_t busy = 0;  // loop side: queries and transactions holding a connection slot
  WaitList<bool> waiting;

  // Pool thread: an idle connection or a new one.
  SqliteConn* checkout() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        SqliteConn* c = idle.back().release();
        idle.pop_back();
        return c;
      }
    }
    return new SqliteConn(path, options);
  }
  void checkin(SqliteConn* c) {
    std::lock_guard lock(mu);
    idle.emplace_back(c);
  }

  Task<void> acquire_slot() {
    if (busy < max) {
      ++busy;
      co_return;
    }
    co_await waiting.wait(brigade::detail::loop_or_current(nullptr), 0);  // the slot is handed over
  }
  void release_slot() {
    if (!waiting.wake_one(true)) --busy;
  }
};

namespace {
struct SlotGuard {
  SqliteDb::Impl* d;
  ~SlotGuard() { d->release_slot(); }
};

// Runs `fn(conn)` on a pool thread with a connection of its own.
template <typename F>
auto on_connection(SqliteDb::Impl* d, F fn) {
  return d->pool->run([d, fn = std::move(fn)]() mutable {
    SqliteConn* c = d->checkout();
    struct Back {
      SqliteDb::Impl* d;
      SqliteConn* c;
      ~Back() { d->checkin(c); }
    } back{d, c};
    return fn(*c);
  });
}
}  // namespace

SqliteDb SqliteDb::open(const std::string& path, SqliteOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->pool = options.pool ? options.pool : &ThreadPool::shared();
  std::size_t max = options.max_connections ? options.max_connections : impl->pool->size();
  bool memory = path.empty() || path == ":memory:" || path.find("mode=memory") != std::string::npos;
  impl->max = memory ? 1 : max;
  impl->idle.push_back(std::make_unique<SqliteConn>(path, options));  // fails here, not later
  return SqliteDb(std::move(impl));
}

SqliteDb::SqliteDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteDb::SqliteDb(SqliteDb&&) noexcept = default;
SqliteDb& SqliteDb::operator=(SqliteDb&&) noexcept = default;
SqliteDb::~SqliteDb() = default;

const std::string& SqliteDb::path() const noexcept {
  static const std::string none;
  return impl_ ? impl_->path : none;
}
std::size_t SqliteDb::max_connections() const noexcept { return impl_ ? impl_->max : 0; }

SqliteDb::Impl* SqliteDb::checked() const {
  if (!impl_) throw_usage("sqlite: this SqliteDb was moved from");
  return impl_.get();
}

Task<Rows> SqliteDb::run(std::string sql, std::vector<Value> params) {
  Impl* d = checked();
  co_await d->acquire_slot();
  SlotGuard slot{d};
  co_return co_await on_connection(d, [&](SqliteConn& c) { return c.run(sql, params); });
}

Task<void> SqliteDb::exec(std::string sql) {
  Impl* d = checked();
  co_await d->acquire_slot();
  SlotGuard slot{d};
  co_await on_connection(d, [&](SqliteConn& c) { c.exec(sql.c_str()); });
}

Task<SqliteTransaction> SqliteDb::begin() {
  Impl* d = checked();
  co_await d->acquire_slot();
  SqliteConn* conn = nullptr;
  try {
    conn = co_await d->pool->run([d] {
      SqliteConn* c = d->checkout();
      try {
        c->exec("BEGIN IMMEDIATE");
      } catch (...) {
        d->checkin(c);
        throw;
      }
      return c;
    });
  } catch (...) {
    d->release_slot();
    throw;
  }
  co_return SqliteTransaction(d, conn);
}

// --- SqliteTransaction ---

namespace {
// A transaction dropped while open: ROLLBACK on the pool, then the connection and slot go back.
brigade::detail::Detached rollback_dropped(SqliteDb::Impl* d, SqliteConn* c) {
  try {
    co_await d->pool->run([c] { c->exec("ROLLBACK"); });
  } catch (...) {  // the connection rolls back when it is closed anyway
  }
  d->checkin(c);
  d->release_slot();
}
}  // namespace

SqliteTransaction::SqliteTransaction(SqliteTransaction&& o) noexcept
    : db_(o.db_), conn_(std::exchange(o.conn_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  if (conn_) rollback_dropped(db_, std::exchange(conn_, nullptr));
}

Task<Rows> SqliteTransaction::run(std::string sql, std::vector<Value> params) {
  if (!conn_) throw_usage("transaction already finished");
  SqliteConn* c = conn_;
  co_return co_await db_->pool->run([&] { return c->run(sql, params); });
}

Task<void> SqliteTransaction::commit() { return finish("COMMIT"); }
Task<void> SqliteTransaction::rollback() { return finish("ROLLBACK"); }

Task<void> SqliteTransaction::finish(const char* sql) {
  if (!conn_) throw_usage("transaction already finished");
  SqliteConn* c = std::exchange(conn_, nullptr);
  SqliteDb::Impl* d = db_;
  std::exception_ptr error;
  try {
    co_await d->pool->run([c, sql] {
      try {
        c->exec(sql);
      } catch (...) {
        if (sqlite3_get_autocommit(c->db) == 0) sqlite3_exec(c->db, "ROLLBACK", 0, 0, 0);
        throw;  // a failed COMMIT is rolled back: the connection goes back clean
      }
    });
  } catch (...) {
    error = std::current_exception();
  }
  d->checkin(c);
  d->release_slot();
  if (error) std::rethrow_exception(error);
}

}  // namespace brigade::db
