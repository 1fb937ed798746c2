#pragma once
// PgConnection: one PostgreSQL connection driven by the loop through libpq's asynchronous API.
// Its socket is watched by the loop's poller; libpq is non-blocking, so no call waits.
//
// The connection is always in libpq's pipeline mode: every statement is sent at once, followed
// by its own Sync, so statements issued concurrently on one connection travel back to back
// without waiting for each other's round trip, and an error fails only its own statement.
// pipeline() sends a batch that way on purpose. Statements use the extended protocol: one SQL
// statement per query (no "a; b" strings).
//
//   auto conn = co_await db::PgConnection::connect("host=127.0.0.1 port=5432 user=app");
//   db::Rows rows = co_await conn->query("SELECT name FROM users WHERE id = $1", 42);
//
// Results come in text format and are typed by column: int2/4/8 and oid → integer, float4/8 →
// real, bool → bool, bytea → bytes, NULL → null, everything else (numeric, dates, json) → text.
// Parameters: integers and text go untyped (the server infers their type from the statement, so
// `repeat('x', $1)` and `WHERE id = $1` both work; `SELECT $1` alone reads back as text), reals
// as float8, bool as bool, bytes as binary bytea, null untyped (`$1::int IS NULL` where the
// statement gives no type).
#include <libpq-fe.h>

#include <array>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "brigade/db/rows.hpp"
#include "brigade/db/value.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/task.hpp"

namespace brigade::db {

struct Notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;  // the sender's backend
};

// One statement of a pipeline() batch. Build the vector before the co_await (g++ 12).
struct Statement {
  std::string sql;
  std::vector<Value> params;
};
template <typename... Args>
Statement statement(std::string sql, Args... args) {
  return Statement{std::move(sql), to_values(std::move(args)...)};
}

struct PgRequest;

class PgConnection {
 public:
  // Connects without blocking the loop; throws DbError(kConnection, "08001") on failure and
  // DbError(kTimeout) when timeout_ms pass first. `conninfo` is libpq's ("host=... port=...")
  // or a URL ("postgresql://user@host/db"). A host name is looked up on the thread pool first
  // (libpq's own lookup would block the loop); lists of hosts are left to libpq.
  static Task<std::unique_ptr<PgConnection>> connect(std::string conninfo,
                                                     uint64_t timeout_ms = 10000,
                                                     Loop* loop = nullptr);
  // Statements still in flight fail with DbError(kConnection).
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with $1, $2 ... bound from C++ values.
  template <typename... Args>
  Task<Rows> query(std::string sql, Args... args) {
    return run(std::move(sql), to_values(std::move(args)...));
  }
  // With a client-side deadline: when timeout_ms (0: the connection's default) pass, a cancel
  // request goes to the server and the statement fails with DbError(kTimeout, "57014").
  Task<Rows> run(std::string sql, std::vector<Value> params, uint64_t timeout_ms = 0);

  // Prepared statements, by name, on this connection.
  Task<void> prepare(std::string name, std::string sql);
  template <typename... Args>
  Task<Rows> execute(std::string name, Args... args) {
    return run_prepared(std::move(name), to_values(std::move(args)...));
  }
  Task<Rows> run_prepared(std::string name, std::vector<Value> params, uint64_t timeout_ms = 0);
  bool is_prepared(const std::string& name) const { return prepared_.count(name) > 0; }

  // Sends every statement before reading any result (one round trip); results in order. Each
  // statement is on its own: one failing does not undo the others. Throws the first failure.
  Task<std::vector<Rows>> pipeline(std::vector<Statement> statements);

  // LISTEN/NOTIFY: notifications arrive whenever the connection reads; next_notification()
  // returns the oldest one not yet taken, waiting for one if none has come (timeout_ms 0: no
  // deadline; DbError(kTimeout) when it passes; CancelledError when `stop` is requested).
  Task<void> listen(std::string channel);
  Task<void> unlisten(std::string channel);
  Task<void> notify(std::string channel, std::string payload);
  Task<Notification> next_notification(uint64_t timeout_ms = 0, std::stop_token stop = {});
  std::size_t pending_notifications() const noexcept { return notifications_.size(); }

  // Sends ROLLBACK (or any statement) without waiting for it; later statements queue behind it.
  void send_detached(std::string sql);

  // False once the connection is lost: every later statement fails at once.
  bool ok() const noexcept { return !broken_; }
  // Reads what the server sent meanwhile (a restarting server's goodbye to an idle connection,
  // not yet seen if the loop has not polled since) and returns ok().
  bool check_alive();
  const std::string& last_error() const noexcept { return broken_reason_; }
  // Statements sent or queued and not yet answered.
  std::size_t in_flight() const noexcept { return inflight_.size() + unsent_.size(); }
  int backend_pid() const noexcept;
  void set_default_timeout(uint64_t ms) noexcept { default_timeout_ms_ = ms; }
  Loop& loop() const noexcept { return loop_; }
  PGconn* native() const noexcept { return pg_; }

  // Internal (the awaiters' side).
  bool submit(PgRequest* request, std::coroutine_handle<> waiter);
  void forget(PgRequest* request) noexcept;

 private:
  explicit PgConnection(Loop& loop);
  struct ConnectAwaiter;
  struct NotificationAwaiter;

  void start_connect(const std::vector<std::string>& keys, const std::vector<std::string>& values);
  void continue_connect();
  void connect_finished(std::optional<DbError> error);

  static void on_io(IoWatch& w, uint32_t events);
  void on_events(uint32_t events);
  bool send(PgRequest* r);
  void send_unsent();
  void flush();
  void read();
  void drain_results();
  void take_result(PGresult* res);
  void complete_front();
  void drain_notifications();
  void watch(uint32_t events);
  void update_ref();
  void fail_all(const DbError& error);
  void on_timeout(PgRequest* r);
  void send_cancel();
  void cancel_landed();
  void wake_notification_waiter();

  Loop& loop_;
  std::shared_ptr<PgConnection*> self_ = std::make_shared<PgConnection*>(this);  // for the pool
  PGconn* pg_ = nullptr;
  std::shared_ptr<PGcancel> cancel_;
  IoWatch watch_;
  bool connecting_ = false;
  bool want_write_ = false;
  bool broken_ = false;
  bool holding_ = false;  // a cancel is on its way: send nothing until it has been delivered
  std::string broken_reason_;
  uint64_t default_timeout_ms_ = 0;
  std::coroutine_handle<> connect_waiter_;
  std::optional<DbError> connect_error_;
  Timer connect_timer_;

  std::deque<PgRequest*> inflight_;  // sent, answers pending, in order (nullptr: forgotten)
  std::deque<PgRequest*> unsent_;    // waiting for a cancel to land
  std::set<std::string> prepared_;

  std::deque<Notification> notifications_;
  NotificationAwaiter* notification_waiter_ = nullptr;

  // Scratch for binding parameters, reused by every statement.
  std::vector<Oid> param_types_;
  std::vector<const char*> param_values_;
  std::vector<int> param_lengths_, param_formats_;
  std::vector<std::array<char, 32>> param_text_;
};

}  // namespace brigade::db
