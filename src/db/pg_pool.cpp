// PgPool: lend, give back, drop the dead, queue the rest.
#include "brigade/db/pg_pool.hpp"

#include "brigade/task/combinators.hpp"
#include "brigade/task/spawn.hpp"

namespace brigade::db {

PgLease::PgLease(PgLease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}

PgLease& PgLease::operator=(PgLease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    conn_ = std::move(o.conn_);
  }
  return *this;
}

PgConnection& PgLease::operator*() const {
  if (!conn_) throw_usage("postgres: this PgLease holds no connection (moved from or released)");
  return *conn_;
}

void PgLease::release() {
  if (conn_ && pool_) pool_->give_back(std::move(conn_));
  conn_.reset();
}

PgPool::PgPool(PgPoolOptions options)
    : options_(std::move(options)),
      loop_(brigade::detail::loop_or_current(options_.loop)),
      health_timer_(loop_) {
  if (options_.max_connections == 0) options_.max_connections = 1;
  if (options_.health_check_ms) {
    health_timer_.start(
        options_.health_check_ms,
        [this] {
          if (checking_) return;
          spawn(
              [](PgPool* p) -> Task<void> {
                try {
                  co_await p->check_health();
                } catch (...) {  // reported by the next statement that needs a connection
                }
              }(this),
              "pg pool health check");
        },
        true);
    health_timer_.unref();
  }
}

PgPool::~PgPool() { health_timer_.clear(); }

PgPoolStats PgPool::stats() const noexcept {
  return PgPoolStats{open_, idle_.size(), waiting_.size(), connects_};
}

Task<std::unique_ptr<PgConnection>> PgPool::open_one() {
  ++open_;
  try {
    auto c = co_await PgConnection::connect(options_.conninfo, options_.connect_timeout_ms, &loop_);
    c->set_default_timeout(options_.query_timeout_ms);
    ++connects_;
    co_return c;
  } catch (...) {
    --open_;
    if (!waiting_.empty()) waiting_.wake_one(nullptr);  // a slot is free again: let it try
    throw;
  }
}

Task<void> PgPool::start() {
  while (open_ < options_.min_connections) give_back(co_await open_one());
}

Task<PgLease> PgPool::acquire() {
  uint64_t deadline = loop_.now() + options_.acquire_timeout_ms;
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> c = std::move(idle_.back());
      idle_.pop_back();
      // Checked now, not only by the idle watch: a timer due before the loop polls again (after
      // a busy spell) may ask for a connection whose server has already gone.
      if (c->check_alive()) co_return PgLease(this, std::move(c));
      drop(std::move(c));
    }
    if (open_ < options_.max_connections) co_return PgLease(this, co_await open_one());
    loop_.update_time();
    uint64_t now = loop_.now();
    if (now >= deadline) break;
    std::optional<std::unique_ptr<PgConnection>> got =
        co_await waiting_.wait(loop_, deadline - now);
    if (!got) break;
    if (*got) {
      if ((*got)->ok()) co_return PgLease(this, std::move(*got));
      drop(std::move(*got));
    }
    // nullptr: a connection was dropped, so a slot is free; go round and open one
  }
  throw DbError(DbError::Kind::kTimeout, "",
                "postgres pool: no connection free within " +
                    std::to_string(options_.acquire_timeout_ms) + " ms (" +
                    std::to_string(options_.max_connections) + " in use)");
}

void PgPool::give_back(std::unique_ptr<PgConnection> c) {
  if (!c->ok()) return drop(std::move(c));
  if (!waiting_.empty()) {
    waiting_.wake_one(std::move(c));
    return;
  }
  idle_.push_back(std::move(c));
}

void PgPool::drop(std::unique_ptr<PgConnection> c) {
  c.reset();
  --open_;
  if (!waiting_.empty()) waiting_.wake_one(nullptr);
}

Task<Rows> PgPool::run(std::string sql, std::vector<Value> params, uint64_t timeout_ms) {
  PgLease c = co_await acquire();
  co_return co_await c->run(std::move(sql), std::move(params), timeout_ms);
}

void PgPool::prepare(std::string name, std::string sql) {
  statements_[std::move(name)] = std::move(sql);
}

Task<Rows> PgPool::run_prepared(std::string name, std::vector<Value> params, uint64_t timeout_ms) {
  auto it = statements_.find(name);
  if (it == statements_.end()) throw_usage("postgres pool: no statement prepared as " + name);
  std::string sql = it->second;
  PgLease c = co_await acquire();
  if (!c->is_prepared(name)) co_await c->prepare(name, std::move(sql));
  co_return co_await c->run_prepared(std::move(name), std::move(params), timeout_ms);
}

Task<std::vector<Rows>> PgPool::pipeline(std::vector<Statement> statements) {
  PgLease c = co_await acquire();
  co_return co_await c->pipeline(std::move(statements));
}

Task<PgTransaction> PgPool::begin() {
  PgLease c = co_await acquire();
  co_await c->query("BEGIN");
  PgConnection* conn = c.get();
  co_return PgTransaction(conn, std::move(c));
}

Task<std::unique_ptr<PgConnection>> PgPool::connect_dedicated() {
  return PgConnection::connect(options_.conninfo, options_.connect_timeout_ms, &loop_);
}

Task<std::size_t> PgPool::check_health() {
  checking_ = true;
  std::vector<std::unique_ptr<PgConnection>> checking;
  checking.swap(idle_);
  std::vector<Task<void>> pings;
  for (auto& c : checking)
    pings.push_back([](PgConnection& conn) -> Task<void> {
      try {
        co_await conn.run("SELECT 1", std::vector<Value>(), 2000);
      } catch (...) {  // ok() now says false, or the ping timed out: either way, drop it
      }
    }(*c));
  co_await when_all(std::move(pings));  // each ping catches its own failure
  std::size_t dropped = 0;
  for (auto& c : checking) {
    if (!c->ok()) ++dropped;
    give_back(std::move(c));
  }
  try {
    while (open_ < options_.min_connections) give_back(co_await open_one());
  } catch (...) {
    checking_ = false;
    throw;
  }
  checking_ = false;
  co_return dropped;
}

// --- PgTransaction ---

Task<PgTransaction> PgTransaction::begin(PgConnection& conn) {
  co_await conn.query("BEGIN");
  co_return PgTransaction(&conn, PgLease());
}

PgTransaction::PgTransaction(PgTransaction&& o) noexcept
    : lease_(std::move(o.lease_)),
      conn_(o.conn_),
      active_(std::exchange(o.active_, false)),
      failed_(o.failed_) {}

PgTransaction::~PgTransaction() {
  if (active_ && conn_->ok()) conn_->send_detached("ROLLBACK");
}

Task<Rows> PgTransaction::run(std::string sql, std::vector<Value> params) {
  if (!active_) throw_usage("postgres: the transaction is over");
  try {
    co_return co_await conn_->run(std::move(sql), std::move(params));
  } catch (...) {
    failed_ = true;
    throw;
  }
}

Task<void> PgTransaction::commit() {
  if (failed_) {
    co_await finish("ROLLBACK");
    throw DbError(DbError::Kind::kServer, "25P02",
                  "postgres: a statement in the transaction failed; it was rolled back");
  }
  co_await finish("COMMIT");
}

Task<void> PgTransaction::rollback() { return finish("ROLLBACK"); }

Task<void> PgTransaction::finish(const char* sql) {
  if (!active_) throw_usage("postgres: the transaction is over");
  active_ = false;
  std::exception_ptr error;
  try {
    co_await conn_->query(sql);
  } catch (...) {
    error = std::current_exception();
  }
  lease_.release();
  if (error) std::rethrow_exception(error);
}

}  // namespace brigade::db
