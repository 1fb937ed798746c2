#pragma once
// PgRequest: one statement on its way through a PgConnection, kept in the awaiting frame (or on
// the heap for send_detached). The connection fills in rows or error, then resumes the waiter.
#include <coroutine>
#include <optional>
#include <string>
#include <vector>

#include "brigade/db/db_error.hpp"
#include "brigade/db/pg_connection.hpp"

namespace brigade::db {

struct PgRequest {
  enum class Kind : unsigned char { kQuery, kPrepare, kPrepared };
  Kind kind = Kind::kQuery;
  std::string text;  // the SQL (kQuery, kPrepare) or the statement's name (kPrepared)
  std::string name;  // kPrepare: the name to give it
  std::vector<Value> params;
  uint64_t timeout_ms = 0;

  Rows rows;
  std::optional<DbError> error;
  std::coroutine_handle<> waiter;
  Timer timer;  // the client deadline
  Timer grace;  // after a cancel: how long the server may take to answer it
  bool done = false;
  bool owned = false;      // send_detached: the connection deletes it when answered
  bool timed_out = false;  // its deadline passed: a cancel went (or goes) to the server
  bool cancel_sent = false;
};

// co_await SubmitAwaiter(conn, request): sends it and resumes when it is answered.
class SubmitAwaiter {
 public:
  SubmitAwaiter(PgConnection& conn, PgRequest& request) noexcept : conn_(conn), r_(request) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) { return conn_.submit(&r_, h); }
  Rows await_resume() {
    if (r_.error) throw *r_.error;
    return std::move(r_.rows);
  }

 private:
  PgConnection& conn_;
  PgRequest& r_;
};

// Takes a request out of the connection if its frame is destroyed before the answer comes.
struct ForgetOnExit {
  PgConnection& conn;
  PgRequest& r;
  ~ForgetOnExit() {
    if (!r.done) conn.forget(&r);
  }
};

// PGresult → Rows (typed by column OID) and → DbError (SQLSTATE, message, detail).
Rows rows_from(const PGresult* res);
DbError error_from(const PGresult* res);
DbError connection_error(const char* what, PGconn* pg);

}  // namespace brigade::db
