#pragma once
// The server's private state: ServerCore (one per Server), Connection (one per socket) and
// Exchange (the per-request working set, pooled per server). Private to src/http.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "brigade/http/parser.hpp"
#include "brigade/http/server.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "date_cache.hpp"

namespace brigade::http::detail {

struct ServerCore;

// A request body handed to its running handler as it arrives (App's stream routes). The
// decoded bytes stay in the read buffer until the handler pulls them.
struct BodyStream {
  BodyReadOp* reader = nullptr;  // the handler's pending read
  std::string_view piece;        // decoded bytes parsed but not handed over yet
  uint64_t limit = 0;            // 0: unlimited
  uint64_t received = 0;         // decoded bytes parsed so far
  uint64_t skipped = 0;          // dropped after the response ended
  int error = 0;                 // errno every further read fails with
  bool active = false;           // the request in flight streams its body
  bool complete = false;         // the parser has seen the body's end
  bool owe_continue = false;     // "Expect: 100-continue" not answered yet
  bool abandoned = false;        // the handler failed: close rather than skip the rest
  bool skipping = false;         // answered: the rest of the body is read and dropped
};

// What a connection needs only while bytes are pending or a request is in flight. The read
// buffer starts small (a partial head costs about its bytes) and doubles as a head or a
// pipelined batch needs, up to ServerCore::buffer_size; a pooled exchange keeps what it grew.
struct Exchange {
  Exchange(const ParserLimits& limits, std::size_t capacity)
      : parser(limits), buf(new char[capacity]), cap(capacity) {}
  RequestParser parser;
  std::unique_ptr<char[]> buf;  // read buffer: [off, len) not parsed yet
  std::size_t cap;
  std::size_t off = 0;
  std::size_t len = 0;
  std::size_t head_end = 0;  // end of the current request's head (kept in place)
  ServerRequest req;
  ServerResponse res;
  BodyStream body;
  std::string out;  // answers not yet handed to the stream
  Exchange* next_free = nullptr;
};

// How a response body is framed on the wire.
enum class Framing : uint8_t { kLength, kChunked, kClose };

struct Connection {
  enum class State : uint8_t {
    kIdle,      // between requests: keep-alive timeout
    kHead,      // bytes of a head arrived: headers timeout
    kBody,      // head done, reading the body: request timeout
    kHandling,  // the handler runs (no timeout)
    kDraining,  // answered with Connection: close; discarding input until EOF
  };

  Connection(ServerCore* core, net::Stream stream);
  ~Connection();

  void process();  // read, parse, dispatch until blocked
  void response_done();
  void close_now() noexcept;
  void shutdown_idle();  // graceful server close

  // The response's side.
  void write_head(ServerResponse& res, Framing framing, uint64_t length);
  void finish_buffered(ServerResponse& res);
  void start_stream(ServerResponse& res);
  Task<void> write_body(ServerResponse& res, std::string_view bytes);
  void finish_stream(ServerResponse& res);
  bool writable() const noexcept { return !closed && core && state != State::kDraining; }

  // The request's side of a streamed body (ServerRequest's reads).
  long pull_body(BodyReadOp& op);  // > 0 bytes, 0 at the end, -errno; -EAGAIN: must wait
  void wait_body(BodyReadOp& op, std::coroutine_handle<> h) noexcept;
  void drop_reader(BodyReadOp& op) noexcept;
  bool body_keeps_alive() const noexcept;
  void abandon_body() noexcept;
  std::size_t body_buffered() const noexcept;

  ServerCore* core;
  net::Stream stream;
  Exchange* ex = nullptr;
  Connection* prev = nullptr;
  Connection* next = nullptr;
  TimerId timer;
  uint64_t timer_due = 0;
  uint64_t deadline = 0;
  uint64_t request_start = 0;
  uint32_t requests = 0;
  State state = State::kIdle;
  bool in_process = false;
  bool handling = false;     // a handler runs: the connection outlives any close until it ends
  bool close_after = false;  // the answer being written says Connection: close
  bool closed = false;
  bool paused = false;   // waiting for the stream's write queue to drain
  bool chunked = false;  // the streamed response uses chunked framing

 private:
  bool parse_buffered();  // false: stop (handler in flight, closed, paused, draining)
  void on_head();
  void start_body_stream();
  void dispatch();
  void run_handler();
  void buffer_body(std::string_view piece);
  long hand_over(BodyReadOp& op) noexcept;
  long read_body_bytes();
  void feed_reader();
  void complete_reader(long result) noexcept;
  bool fail_body(int err, int status);
  void skip_rest();
  void skip_body(std::size_t n);
  void await_next_request();
  void handler_threw() noexcept;
  bool make_room() noexcept;
  bool grow_buffer(std::size_t want) noexcept;
  void send_error(int status);
  void start_draining();
  void discard_input();
  void flush_output();
  void after_response();
  void acquire_exchange();
  void release_exchange();
  static Exchange* reset(Exchange* e) noexcept;  // ready for another request
  bool maybe_destroy();
  void set_deadline(uint64_t at);
  void arm_timer(uint64_t at);
  void on_timer();
  static void on_readable(void* self);
  static void on_drain(void* self);
};

struct ServerCore {
  ServerCore(Loop& l, Server::Handler h, ServerOptions o);
  ~ServerCore();

  Exchange* take_exchange();
  void give_exchange(Exchange* ex) noexcept;
  void add(Connection* c) noexcept;
  void remove(Connection* c) noexcept;
  void check_closed();

  Loop* loop;
  Server::Handler handler;
  Server::HeadHook head_hook;  // set: bodies may be streamed (the parser then has no body limit)
  ServerOptions options;
  ParserLimits limits;
  std::size_t buffer_size;  // the read buffer's most: a whole head plus room for the body
  net::Listener listener;
  Connection* connections = nullptr;
  Exchange* free_exchanges = nullptr;
  std::size_t free_count = 0;
  DateCache date;
  ServerStats stats;
  std::size_t peak_connections = 0;  // since the last heap trim
  bool closing = false;
  Callback on_closed;
};

}  // namespace brigade::http::detail
