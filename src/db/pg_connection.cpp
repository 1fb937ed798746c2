// PgConnection's engine: statements out (pipeline mode, a Sync each), answers in, in order.
#include "brigade/db/pg_connection.hpp"

#include <sys/socket.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/spawn.hpp"
#include "pg_request.hpp"

namespace brigade::db {

namespace {
constexpr Oid kBool = 16, kBytea = 17, kFloat8 = 701;
constexpr uint64_t kCancelGraceMs = 5000;  // after a cancel, how long before giving up on the link

// The cancel request opens its own connection and waits for the server: on the pool.
brigade::detail::Detached deliver_cancel(std::shared_ptr<PGcancel> cancel,
                                         std::shared_ptr<PgConnection*> self,
                                         void (*done)(PgConnection*)) {
  try {
    auto send = [cancel] {  // named, not a temporary in the co_await (g++ 12)
      char err[256];
      PQcancel(cancel.get(), err, sizeof err);
    };
    co_await ThreadPool::shared().run(std::move(send));
  } catch (...) {  // the grace timer decides what happens to the statement
  }
  if (PgConnection* c = *self) done(c);
}
}  // namespace

PgConnection::PgConnection(Loop& loop) : loop_(loop), connect_timer_(loop) {
  watch_.handler = &PgConnection::on_io;
  watch_.data = this;
}

PgConnection::~PgConnection() {
  *self_ = nullptr;
  fail_all(DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure,
                   "postgres: connection closed"));
  loop_.io_stop(watch_);
  if (pg_) PQfinish(pg_);
}

int PgConnection::backend_pid() const noexcept { return pg_ ? PQbackendPID(pg_) : 0; }

void PgConnection::on_io(IoWatch& w, uint32_t events) {
  static_cast<PgConnection*>(w.data)->on_events(events);
}

void PgConnection::on_events(uint32_t events) {
  if (connecting_) return continue_connect();
  if (broken_) return;
  if (events & (io::kReadable | io::kError | io::kHangup)) read();
  if (!broken_ && want_write_) flush();
}

// Registers the socket afresh when libpq may have replaced it (a closed fd's number can come
// back as the new socket, which epoll has never seen).
void PgConnection::watch(uint32_t events) {
  int fd = PQsocket(pg_);
  if (fd != watch_.fd || !watch_.active) {
    loop_.io_stop(watch_);
    watch_.fd = fd;
  }
  if (fd < 0) return;
  if (watch_.active && watch_.events == events) return;
  if (int err = loop_.io_start(watch_, events))
    fail_all(DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure,
                     std::string("postgres: cannot watch the socket: ") + std::strerror(err)));
}

void PgConnection::update_ref() {
  bool busy = !inflight_.empty() || !unsent_.empty() || notification_waiter_ || connecting_;
  loop_.io_set_ref(watch_, busy);
}

bool PgConnection::submit(PgRequest* r, std::coroutine_handle<> waiter) {
  r->waiter = waiter;
  if (broken_) {
    r->error = DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure,
                       broken_reason_.empty() ? "postgres: connection lost" : broken_reason_);
    r->done = true;
    return false;
  }
  if (holding_) {
    unsent_.push_back(r);
  } else if (!send(r)) {
    r->done = true;
    return false;
  }
  if (uint64_t ms = r->timeout_ms ? r->timeout_ms : default_timeout_ms_) {
    r->timer = Timer(loop_);
    r->timer.start(ms, [this, r] { on_timeout(r); });
  }
  update_ref();
  return true;
}

void PgConnection::send_detached(std::string sql) {
  auto* r = new PgRequest;
  r->text = std::move(sql);
  r->owned = true;
  if (broken_ || (!holding_ && !send(r))) {
    delete r;
    return;
  }
  if (holding_) unsent_.push_back(r);
  update_ref();
}

void PgConnection::forget(PgRequest* r) noexcept {
  for (auto& p : inflight_)
    if (p == r) p = nullptr;  // its answer still comes, and is dropped
  std::erase(unsent_, r);
  update_ref();
}

// Binds the parameters into the scratch arrays and sends the statement plus a Sync.
// False (with r->error set) if it could not be sent.
bool PgConnection::send(PgRequest* r) {
  std::size_t n = r->params.size();
  param_types_.assign(n, 0);
  param_values_.assign(n, nullptr);
  param_lengths_.assign(n, 0);
  param_formats_.assign(n, 0);
  param_text_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Value& v = r->params[i];
    char* buf = param_text_[i].data();
    switch (v.type()) {
      case Type::kNull:
        break;
      case Type::kInt: {  // untyped, as text: the server reads it as int2/4/8 or numeric
        *std::to_chars(buf, buf + 31, v.as_int()).ptr = '\0';
        param_values_[i] = buf;
        break;
      }
      case Type::kReal: {
        param_types_[i] = kFloat8;
        double d = v.as_double();
        if (std::isnan(d))
          std::strcpy(buf, "NaN");
        else if (std::isinf(d))
          std::strcpy(buf, d > 0 ? "Infinity" : "-Infinity");
        else
          *std::to_chars(buf, buf + 31, d).ptr = '\0';
        param_values_[i] = buf;
        break;
      }
      case Type::kBool:
        param_types_[i] = kBool;
        param_values_[i] = v.as_bool() ? "t" : "f";
        break;
      case Type::kText:
        param_values_[i] = v.as_text().data();
        break;  // NUL-terminated
      case Type::kBytes: {
        const Bytes& b = v.as_bytes();
        param_types_[i] = kBytea;
        // libpq reads a null pointer as SQL NULL: an empty bytea needs a non-null one.
        param_values_[i] = b.empty() ? "" : reinterpret_cast<const char*>(b.data());
        param_lengths_[i] = static_cast<int>(b.size());
        param_formats_[i] = 1;
        break;
      }
    }
  }
  int count = static_cast<int>(n);
  int ok = 0;
  switch (r->kind) {
    case PgRequest::Kind::kQuery:
      ok = PQsendQueryParams(pg_, r->text.c_str(), count, param_types_.data(), param_values_.data(),
                             param_lengths_.data(), param_formats_.data(), 0);
      break;
    case PgRequest::Kind::kPrepare:
      ok = PQsendPrepare(pg_, r->name.c_str(), r->text.c_str(), 0, nullptr);
      break;
    case PgRequest::Kind::kPrepared:
      ok = PQsendQueryPrepared(pg_, r->text.c_str(), count, param_values_.data(),
                               param_lengths_.data(), param_formats_.data(), 0);
      break;
  }
  if (!ok) {
    if (PQstatus(pg_) == CONNECTION_OK) {  // refused by libpq itself (too many parameters...)
      r->error = DbError(DbError::Kind::kUsage, "", connection_error("cannot send", pg_).what());
      return false;
    }
    r->error = connection_error("connection lost", pg_);
    fail_all(*r->error);
    return false;
  }
  if (!PQpipelineSync(pg_)) {
    r->error = connection_error("connection lost", pg_);
    fail_all(*r->error);
    return false;
  }
  inflight_.push_back(r);
  flush();
  return true;
}

void PgConnection::send_unsent() {
  while (!holding_ && !broken_ && !unsent_.empty()) {
    PgRequest* r = unsent_.front();
    unsent_.pop_front();
    if (!send(r) && !broken_) {  // a usage error: answer it now
      r->done = true;
      r->timer.clear();
      r->grace.clear();
      if (r->owned)
        delete r;
      else
        loop_.queue_microtask([h = r->waiter] { h.resume(); });
    }
  }
  update_ref();
}

void PgConnection::flush() {
  int rc = PQflush(pg_);
  if (rc < 0) return fail_all(connection_error("connection lost", pg_));
  want_write_ = rc == 1;
  watch(io::kReadable | (want_write_ ? io::kWritable : 0));
}

// Reads until the socket is empty: the poller is edge-triggered, and a server going away sends
// its error message and closes at once; seen together after a busy spell of the loop, one read
// took the message and the close was never noticed (an idle connection looked alive).
bool PgConnection::check_alive() {
  if (!broken_ && !connecting_) read();
  return !broken_;
}

void PgConnection::read() {
  for (;;) {
    if (!PQconsumeInput(pg_)) return fail_all(connection_error("connection lost", pg_));
    drain_results();
    drain_notifications();
    if (broken_) return;
    if (PQstatus(pg_) == CONNECTION_BAD) return fail_all(connection_error("connection lost", pg_));
    char byte;
    ssize_t n = ::recv(PQsocket(pg_), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: all read (or an error the next read reports)
    // n > 0: more arrived meanwhile; n == 0: the close, which the next PQconsumeInput reports.
  }
}

// Answers arrive as: result(s) of a statement, a null, then the PIPELINE_SYNC that ends it.
void PgConnection::drain_results() {
  int nulls = 0;
  while (!inflight_.empty() && !broken_ && !PQisBusy(pg_)) {
    PGresult* res = PQgetResult(pg_);
    if (!res) {
      if (++nulls > 1) break;  // nothing more is readable yet
      continue;
    }
    nulls = 0;
    if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
      PQclear(res);
      complete_front();
      continue;
    }
    take_result(res);
  }
}

void PgConnection::take_result(PGresult* res) {
  PgRequest* r = inflight_.front();
  ExecStatusType status = PQresultStatus(res);
  if (r && !r->error) {
    switch (status) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        r->rows = rows_from(res);
        if (r->kind == PgRequest::Kind::kPrepare) prepared_.insert(r->name);
        break;
      case PGRES_PIPELINE_ABORTED:
        r->error = DbError(DbError::Kind::kServer, "", "postgres: pipeline aborted");
        break;
      case PGRES_FATAL_ERROR:
      case PGRES_NONFATAL_ERROR:
      case PGRES_BAD_RESPONSE:
        r->error = error_from(res);
        break;
      default:
        r->error = DbError(DbError::Kind::kUsage, "",
                           std::string("postgres: unsupported result ") + PQresStatus(status));
    }
  }
  PQclear(res);
}

void PgConnection::complete_front() {
  PgRequest* r = inflight_.front();
  inflight_.pop_front();
  if (r) {
    r->done = true;
    r->timer.clear();
    r->grace.clear();
    if (r->timed_out && r->error && r->error->sqlstate() == sqlstate::kQueryCanceled)
      r->error =
          DbError(DbError::Kind::kTimeout, sqlstate::kQueryCanceled,
                  "postgres: statement timed out (client deadline); the server cancelled it");
    if (r->owned)
      delete r;
    else
      loop_.queue_microtask([h = r->waiter] { h.resume(); });
  }
  if (!inflight_.empty() && inflight_.front() && inflight_.front()->timed_out) send_cancel();
  update_ref();
}

void PgConnection::on_timeout(PgRequest* r) {
  if (std::erase(unsent_, r)) {  // never sent: fail it here
    r->done = true;
    r->error = DbError(DbError::Kind::kTimeout, sqlstate::kQueryCanceled,
                       "postgres: statement timed out before it was sent");
    loop_.queue_microtask([h = r->waiter] { h.resume(); });
    update_ref();
    return;
  }
  if (r->cancel_sent) {  // the server did not answer even the cancel: give the link up
    r->error = DbError(DbError::Kind::kTimeout, sqlstate::kQueryCanceled,
                       "postgres: statement timed out and the server did not answer the cancel");
    return fail_all(*r->error);
  }
  r->timed_out = true;
  if (!inflight_.empty() && inflight_.front() == r) send_cancel();
}

// Cancels the statement running now (the front one); holds later statements back until the
// cancel has landed, so it cannot hit the next one.
void PgConnection::send_cancel() {
  PgRequest* r = inflight_.front();
  if (holding_ || !cancel_ || r->cancel_sent) return;
  r->cancel_sent = true;
  r->grace = Timer(loop_);
  r->grace.start(kCancelGraceMs, [this, r] { on_timeout(r); });
  holding_ = true;
  deliver_cancel(cancel_, self_, [](PgConnection* c) { c->cancel_landed(); });
}

void PgConnection::cancel_landed() {
  holding_ = false;
  if (!inflight_.empty() && inflight_.front() && inflight_.front()->timed_out) send_cancel();
  send_unsent();
}

void PgConnection::fail_all(const DbError& error) {
  if (!broken_) {
    broken_ = true;
    broken_reason_ = error.what();
  }
  loop_.io_stop(watch_);
  std::deque<PgRequest*> all;
  all.swap(inflight_);
  for (PgRequest* r : unsent_) all.push_back(r);
  unsent_.clear();
  for (PgRequest* r : all) {
    if (!r) continue;
    r->done = true;
    r->timer.clear();
    r->grace.clear();
    if (!r->error) r->error = error;
    if (r->owned)
      delete r;
    else
      loop_.queue_microtask([h = r->waiter] { h.resume(); });
  }
  wake_notification_waiter();
}

}  // namespace brigade::db
