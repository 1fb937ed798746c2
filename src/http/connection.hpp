#pragma once
// The server's private state: ServerCore (one per Server), Connection (one per socket) and
// Exchange (the per-request working set, pooled per server). Private to src/http.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "brigade/http/parser.hpp"
#include "brigade/http/server.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "date_cache.hpp"
#include "transport.hpp"

namespace brigade::http::detail {

struct ServerCore;

// A request body handed to its running handler as it arrives (App's stream routes). The
// decoded bytes stay in the read buffer until the handler pulls them. Whether it is still
// arriving, complete or being skipped is the connection's phase (kStreaming, kHandling,
// kSkipping), not a field here.
struct BodyStream {
  BodyReadOp* reader = nullptr;  // the handler's pending read
  std::string_view piece;        // decoded bytes parsed but not handed over yet
  uint64_t limit = 0;            // 0: unlimited
  uint64_t received = 0;         // decoded bytes parsed so far
  uint64_t skipped = 0;          // dropped after the response ended
  int error = 0;                 // errno every further read fails with
  bool owe_continue = false;     // "Expect: 100-continue" not answered yet
  bool abandoned = false;        // the handler failed: close rather than skip the rest
};

// A transformation of a streamed response body (http::compression installs one per request,
// src/http/compression.cpp): asked at head time, then given every piece of the body.
struct BodyEncoder {
  virtual ~BodyEncoder() = default;
  // The head is about to go: may change its headers; false leaves the body as it is.
  virtual bool begin(ServerResponse& res) = 0;
  // The encoded form of `bytes`, flushed (the reader can decode it at once); a view valid
  // until the next call. May run the work on the pool.
  virtual Task<std::string_view> encode(std::string_view bytes) = 0;
  // The stream's last bytes (trailer, checksum).
  virtual std::string_view finish() = 0;
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
  std::string out;                       // answers not yet handed to the stream
  std::unique_ptr<BodyEncoder> encoder;  // set by a middleware for this request, or null
  bool encoding = false;                 // the encoder took the streamed body (begin said yes)
  Exchange* next_free = nullptr;
};

// How a response body is framed on the wire.
enum class Framing : uint8_t { kLength, kChunked, kClose };

// The exchange on one connection, one phase at a time. Legal moves are listed once, in
// kTransitions (connection.cpp); enter() asserts each.
//
//   kIdle ──bytes──▶ kHead ──head──▶ kBody ──body end──▶ kHandling ──answered──▶ kIdle / kHead
//                                      │ stream route        ▲ body end                │
//                                      ▼                     │                         ▼
//                                   kStreaming ──────────────┘      answered early: kSkipping
//   any live phase ──answer says close / bad request──▶ kDraining ──EOF / grace──▶ kClosed
//   any live phase ──EOF, reset, timeout, abort──▶ kClosed;  kHandling ──hand_off──▶ kUpgraded
enum class Phase : uint8_t {
  kIdle,       // between requests, nothing buffered: keep-alive timeout
  kHead,       // bytes of a head arrived: headers timeout
  kBody,       // head parsed, its body read into the request: request timeout
  kHandling,   // the handler runs, the request fully read (no timeout)
  kStreaming,  // the handler runs while its body still arrives (stream routes): request timeout
  kSkipping,   // answered before the body's end: its rest is read and dropped
  kDraining,   // answered with Connection: close: input discarded until EOF, then closed
  kClosed,     // the socket is closed; the object waits for its handler, then the close phase
  kUpgraded,   // the socket and the bytes after the head were handed to a new owner
};
inline constexpr int kPhaseCount = 9;
const char* phase_name(Phase p) noexcept;
bool legal_transition(Phase from, Phase to) noexcept;  // the table's answer

// What an Upgrade hand-off gives its new owner: the transport (socket and filter, hooks cleared)
// and the bytes that arrived after the request's head, already read from the socket.
struct HandOff {
  Transport transport;
  std::string buffered;
};

// Lifetime (docs/design.md section 3): a Connection is owned by its ServerCore list while
// open; close_now() closes the socket at once and, when no handler holds it, retire() hands
// it to the loop's close queue, which destroys it after every callback of this iteration.
struct Connection {
  Connection(ServerCore* core, Transport transport);
  ~Connection();

  void process();  // read, parse, dispatch until blocked
  void response_done();
  void close_now() noexcept;
  void shutdown_idle();         // graceful server close
  void detach_core() noexcept;  // the server is going away while a handler holds us
  // kHandling -> kUpgraded: earlier answers are flushed, then the socket and the unparsed bytes
  // go to the caller. The handler still ends its response (nothing more is written); the
  // request stays readable until then. Throws Error(EPIPE) if the socket is gone.
  HandOff hand_off();

  // The response's side.
  void write_head(ServerResponse& res, Framing framing, uint64_t length);
  void finish_buffered(ServerResponse& res);
  void start_stream(ServerResponse& res);
  Task<void> write_body(ServerResponse& res, std::string_view bytes);
  // `count` bytes of the open regular file `fd` from `offset`, as the next piece of a body
  // whose Content-Length was set: sendfile(2) on plaintext, pieces read on the pool for TLS.
  Task<void> write_file(ServerResponse& res, int fd, uint64_t offset, uint64_t count);
  void finish_stream(ServerResponse& res);
  bool writable() const noexcept {
    return core && (phase == Phase::kHandling || phase == Phase::kStreaming);
  }
  bool closed() const noexcept { return phase == Phase::kClosed || phase == Phase::kUpgraded; }
  bool handling() const noexcept { return handler_holds; }

  // The request's side of a streamed body (ServerRequest's reads).
  long pull_body(BodyReadOp& op);  // > 0 bytes, 0 at the end, -errno; -EAGAIN: must wait
  void wait_body(BodyReadOp& op, std::coroutine_handle<> h) noexcept;
  void drop_reader(BodyReadOp& op) noexcept;
  bool body_keeps_alive() const noexcept;
  void abandon_body() noexcept;
  std::size_t body_buffered() const noexcept;

  // Test hook: called on every phase change (tests/http drive every transition through it).
  static inline void (*observer)(Phase from, Phase to) = nullptr;

  ServerCore* core;
  Loop* loop;
  Transport io;
  Exchange* ex = nullptr;
  Connection* prev = nullptr;
  Connection* next = nullptr;
  TimerId timer;
  uint64_t timer_due = 0;
  uint64_t deadline = 0;
  uint64_t request_start = 0;
  uint64_t request_start_ns = 0;  // Loop::now_ns at request_start (ServerRequest::received_ns)
  uint32_t requests = 0;
  Phase phase = Phase::kIdle;
  // Not exchange state: the handler's hold on this object (its request and response point
  // here; set exactly while a handler runs, so kHandling/kStreaming imply it) and process()'s
  // re-entry guard (a handler that answers synchronously leaves the pipelined rest to it).
  bool handler_holds = false;
  bool in_process = false;
  // The output side: the answer being written says Connection: close; the stream's queue is
  // above its mark (answers wait for the drain hook); the streamed response is chunked.
  bool close_after = false;
  bool paused = false;
  bool chunked = false;

 private:
  void enter(Phase to) noexcept;
  bool parse_buffered();  // false: stop (handler in flight, closed, paused, draining)
  bool parsing() const noexcept;
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
  Task<void> write_through_memory(ServerResponse& res, int fd, uint64_t offset, uint64_t count);
  void after_response();
  void settle();
  void acquire_exchange();
  void release_exchange();
  static Exchange* reset(Exchange* e) noexcept;  // ready for another request
  void retire() noexcept;
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
  void closed(Connection* c) noexcept;  // no longer counted as open
  void unlink(Connection* c) noexcept;  // retired: off the list
  void check_closed();

  Loop* loop;
  Server::Handler handler;
  Server::HeadHook head_hook;  // set: bodies may be streamed (the parser then has no body limit)
  ServerOptions options;
  ParserLimits limits;
  std::size_t buffer_size;  // the read buffer's most: a whole head plus room for the body
  net::Listener listener;
  Connection* connections = nullptr;  // open ones, and closed ones a handler still holds
  Exchange* free_exchanges = nullptr;
  std::size_t free_count = 0;
  DateCache date;
  ServerStats stats;
  std::size_t peak_connections = 0;  // since the last heap trim
  bool closing = false;
  bool closing_all = false;  // close_all_connections runs: it reports the close once, at its end
  Callback on_closed;
  // HTTPS: the context new connections are accepted with (reloads replace it), and this
  // core's address for handshakes in flight (cleared when it goes: they then drop the socket).
  std::optional<tls::Context> tls;
  std::shared_ptr<ServerCore*> self = std::make_shared<ServerCore*>(this);
};

// A socket from the listener or adopted: a connection now, or after its TLS handshake.
void accept_connection(ServerCore* core, net::Stream socket);

}  // namespace brigade::http::detail
