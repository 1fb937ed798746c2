// PgConnection::connect: PQconnectStart/PQconnectPoll driven by the socket's readiness.
#include "brigade/db/pg_connection.hpp"
#include "brigade/task/sleep.hpp"
#include "pg_request.hpp"

namespace brigade::db {

namespace {
void ignore_notice(void*, const char*) {}  // NOTICEs would go to stderr otherwise
}  // namespace

struct PgConnection::ConnectAwaiter {
  PgConnection& c;
  std::string conninfo;
  uint64_t timeout_ms;
  ConnectAwaiter(PgConnection& conn, std::string info, uint64_t ms)
      : c(conn), conninfo(std::move(info)), timeout_ms(ms) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    c.start_connect(conninfo);
    if (!c.connecting_) return false;  // failed at once
    c.connect_waiter_ = h;
    if (timeout_ms)
      c.connect_timer_.start(timeout_ms, [&c = c, ms = timeout_ms] {
        c.connect_finished(
            DbError(DbError::Kind::kTimeout, sqlstate::kUnableToConnect,
                    "postgres: connect timed out after " + std::to_string(ms) + " ms"));
      });
    return true;
  }
  void await_resume() {
    if (c.connect_error_) throw *c.connect_error_;
  }
};

Task<std::unique_ptr<PgConnection>> PgConnection::connect(std::string conninfo, uint64_t timeout_ms,
                                                          Loop* loop) {
  std::unique_ptr<PgConnection> c(new PgConnection(brigade::detail::loop_or_current(loop)));
  co_await ConnectAwaiter(*c, std::move(conninfo), timeout_ms);
  co_return c;
}

void PgConnection::start_connect(const std::string& conninfo) {
  pg_ = PQconnectStart(conninfo.c_str());
  if (!pg_ || PQstatus(pg_) == CONNECTION_BAD) {
    connect_error_ = DbError(DbError::Kind::kConnection, sqlstate::kUnableToConnect,
                             connection_error("cannot connect", pg_).what());
    return;
  }
  connecting_ = true;
  watch_.ref = true;
  watch(io::kWritable);  // libpq: wait for writability before the first PQconnectPoll
}

void PgConnection::continue_connect() {
  switch (PQconnectPoll(pg_)) {
    case PGRES_POLLING_READING:
      loop_.io_stop(watch_);  // libpq may have moved to a new socket (another address)
      return watch(io::kReadable);
    case PGRES_POLLING_WRITING:
      loop_.io_stop(watch_);
      return watch(io::kWritable);
    case PGRES_POLLING_OK:
      break;
    default:
      return connect_finished(DbError(DbError::Kind::kConnection, sqlstate::kUnableToConnect,
                                      connection_error("cannot connect", pg_).what()));
  }
  PQsetNoticeProcessor(pg_, ignore_notice, nullptr);
  if (PQsetnonblocking(pg_, 1) != 0 || PQenterPipelineMode(pg_) != 1)
    return connect_finished(connection_error("cannot enter pipeline mode", pg_));
  cancel_.reset(PQgetCancel(pg_), PQfreeCancel);
  connecting_ = false;
  loop_.io_stop(watch_);
  watch(io::kReadable);  // always: notifications, and a server that goes away while idle
  connect_finished(std::nullopt);
}

void PgConnection::connect_finished(std::optional<DbError> error) {
  connect_timer_.clear();
  if (error) {
    connecting_ = false;
    broken_ = true;
    broken_reason_ = error->what();
    loop_.io_stop(watch_);
  }
  connect_error_ = std::move(error);
  update_ref();
  if (connect_waiter_)
    loop_.queue_microtask([h = std::exchange(connect_waiter_, {})] { h.resume(); });
}

}  // namespace brigade::db
