// PgConnection::connect: PQconnectStart/PQconnectPoll driven by the socket's readiness.
#include <arpa/inet.h>
#include <netdb.h>

#include "brigade/db/pg_connection.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/sleep.hpp"
#include "pg_request.hpp"

namespace brigade::db {

namespace {
void ignore_notice(void*, const char*) {}  // NOTICEs would go to stderr otherwise

// The conninfo as keyword/value pairs (libpq parses both "k=v" and URLs).
struct ConnParams {
  std::vector<std::string> keys, values;
  std::string get(const char* key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return values[i];
    return {};
  }
};

ConnParams parse_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (!options) {
    std::string message = err ? err : "bad connection string";
    PQfreemem(err);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw DbError(DbError::Kind::kConnection, sqlstate::kUnableToConnect, "postgres: " + message);
  }
  ConnParams p;
  for (PQconninfoOption* o = options; o->keyword; ++o)
    if (o->val) {
      p.keys.emplace_back(o->keyword);
      p.values.emplace_back(o->val);
    }
  PQconninfoFree(options);
  return p;
}

// A single host name (not an address, a socket folder or a list) that libpq would resolve with
// a blocking getaddrinfo inside PQconnectPoll.
bool needs_lookup(const ConnParams& p) {
  std::string host = p.get("host");
  if (host.empty() || !p.get("hostaddr").empty()) return false;
  if (host[0] == '/' || host[0] == '@' || host.find(',') != std::string::npos) return false;
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1;
}

std::string lookup(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0 || !res)
    throw DbError(DbError::Kind::kConnection, sqlstate::kUnableToConnect,
                  "postgres: could not resolve host \"" + host + "\": " + gai_strerror(rc));
  char text[INET6_ADDRSTRLEN] = "";
  const void* addr =
      res->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr);
  inet_ntop(res->ai_family, addr, text, sizeof text);
  freeaddrinfo(res);
  return text;
}
}  // namespace

struct PgConnection::ConnectAwaiter {
  PgConnection& c;
  const ConnParams& params;
  uint64_t timeout_ms;
  ConnectAwaiter(PgConnection& conn, const ConnParams& p, uint64_t ms)
      : c(conn), params(p), timeout_ms(ms) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    c.start_connect(params.keys, params.values);
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
  ConnParams params = parse_conninfo(conninfo);
  if (needs_lookup(params)) {  // on the pool as slow work, like dns::lookup
    auto resolve = [host = params.get("host")] { return lookup(host); };  // named: g++ 12
    std::string address = co_await ThreadPool::shared().run(std::move(resolve), WorkKind::kSlow);
    params.keys.emplace_back("hostaddr");
    params.values.push_back(std::move(address));
  }
  co_await ConnectAwaiter(*c, params, timeout_ms);
  co_return c;
}

void PgConnection::start_connect(const std::vector<std::string>& keys,
                                 const std::vector<std::string>& values) {
  std::vector<const char*> k, v;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    k.push_back(keys[i].c_str());
    v.push_back(values[i].c_str());
  }
  k.push_back(nullptr);
  v.push_back(nullptr);
  pg_ = PQconnectStartParams(k.data(), v.data(), 0);
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
