// PgConnection's statement calls: run, prepare, run_prepared, pipeline, LISTEN/NOTIFY.
#include <memory>

#include "brigade/db/pg_connection.hpp"
#include "brigade/task/combinators.hpp"
#include "pg_request.hpp"

namespace brigade::db {

namespace {
std::string quote_identifier(PGconn* pg, const std::string& name) {
  char* q = PQescapeIdentifier(pg, name.c_str(), name.size());
  if (!q) throw_usage("bad identifier: " + name);
  std::string out = q;
  PQfreemem(q);
  return out;
}
}  // namespace

Task<Rows> PgConnection::run(std::string sql, std::vector<Value> params, uint64_t timeout_ms) {
  PgRequest r;
  r.text = std::move(sql);
  r.params = std::move(params);
  r.timeout_ms = timeout_ms;
  ForgetOnExit guard{*this, r};
  co_return co_await SubmitAwaiter(*this, r);
}

Task<void> PgConnection::prepare(std::string name, std::string sql) {
  PgRequest r;
  r.kind = PgRequest::Kind::kPrepare;
  r.name = std::move(name);
  r.text = std::move(sql);
  ForgetOnExit guard{*this, r};
  co_await SubmitAwaiter(*this, r);
}

Task<Rows> PgConnection::run_prepared(std::string name, std::vector<Value> params,
                                      uint64_t timeout_ms) {
  PgRequest r;
  r.kind = PgRequest::Kind::kPrepared;
  r.text = std::move(name);
  r.params = std::move(params);
  r.timeout_ms = timeout_ms;
  ForgetOnExit guard{*this, r};
  co_return co_await SubmitAwaiter(*this, r);
}

Task<std::vector<Rows>> PgConnection::pipeline(std::vector<Statement> statements) {
  std::vector<Rows> out(statements.size());
  std::vector<Task<void>> sends;
  sends.reserve(statements.size());
  auto one = [](PgConnection& c, Statement& s, Rows& rows) -> Task<void> {
    rows = co_await c.run(std::move(s.sql), std::move(s.params));
  };
  for (std::size_t i = 0; i < statements.size(); ++i)
    sends.push_back(one(*this, statements[i], out[i]));
  co_await when_all(std::move(sends));  // each is sent as it starts, before any answer is read
  co_return out;
}

Task<void> PgConnection::listen(std::string channel) {
  co_await query("LISTEN " + quote_identifier(pg_, channel));
}

Task<void> PgConnection::unlisten(std::string channel) {
  co_await query("UNLISTEN " + quote_identifier(pg_, channel));
}

Task<void> PgConnection::notify(std::string channel, std::string payload) {
  co_await query("SELECT pg_notify($1, $2)", std::move(channel), std::move(payload));
}

// --- notifications ---

struct PgConnection::NotificationAwaiter {
  NotificationAwaiter(PgConnection& conn, uint64_t ms, std::stop_token token)
      : c(conn), timeout_ms(ms), stop(std::move(token)), timer(conn.loop_) {}
  // Movable until await_suspend (the timer and stop watch start there).
  NotificationAwaiter(NotificationAwaiter&& o) noexcept
      : c(o.c), timeout_ms(o.timeout_ms), stop(std::move(o.stop)), timer(o.c.loop_) {}
  ~NotificationAwaiter() {
    stop_watch.reset();
    if (c.notification_waiter_ == this) {
      c.notification_waiter_ = nullptr;
      c.update_ref();
    }
  }
  bool await_ready() const noexcept {
    return !c.notifications_.empty() || c.broken_ || stop.stop_requested();
  }
  bool await_suspend(std::coroutine_handle<> handle) {
    if (c.notification_waiter_) {
      second_waiter = true;
      return false;
    }
    h = handle;
    c.notification_waiter_ = this;
    c.update_ref();
    if (timeout_ms) timer.start(timeout_ms, [this] { wake(); });
    if (stop.stop_possible()) stop_watch.emplace(c.loop_, stop, OnStop{this});
    return true;
  }
  Notification await_resume() {
    stop_watch.reset();
    timer.clear();
    if (second_waiter) throw_usage("postgres: next_notification() is already awaited");
    if (!c.notifications_.empty()) {
      Notification n = std::move(c.notifications_.front());
      c.notifications_.pop_front();
      return n;
    }
    if (c.broken_)
      throw DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure, c.broken_reason_);
    if (stop.stop_requested()) throw CancelledError("next_notification");
    throw DbError(DbError::Kind::kTimeout, "",
                  "postgres: no notification within " + std::to_string(timeout_ms) + " ms");
  }
  // Once: the first of notification, failure, deadline or stop resumes the waiter.
  void wake() {
    if (c.notification_waiter_ != this) return;
    c.notification_waiter_ = nullptr;
    c.update_ref();
    timer.clear();
    c.loop_.queue_microtask([handle = h] { handle.resume(); });
  }
  struct OnStop {
    NotificationAwaiter* self;
    void operator()() const { self->wake(); }
  };

  PgConnection& c;
  uint64_t timeout_ms;
  std::stop_token stop;
  Timer timer;
  std::coroutine_handle<> h;
  bool second_waiter = false;
  std::optional<brigade::detail::StopWatch<OnStop>> stop_watch;
};

Task<Notification> PgConnection::next_notification(uint64_t timeout_ms, std::stop_token stop) {
  co_return co_await NotificationAwaiter(*this, timeout_ms, std::move(stop));
}

void PgConnection::drain_notifications() {
  while (PGnotify* n = PQnotifies(pg_)) {
    notifications_.push_back(Notification{n->relname, n->extra ? n->extra : "", n->be_pid});
    PQfreemem(n);
  }
  if (!notifications_.empty()) wake_notification_waiter();
}

void PgConnection::wake_notification_waiter() {
  if (notification_waiter_) notification_waiter_->wake();
}

}  // namespace brigade::db
