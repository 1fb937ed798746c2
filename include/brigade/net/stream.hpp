#pragma once
// Stream: a non-blocking byte stream on one fd — a TCP or Unix socket, or any pollable fd such
// as a pipe (Node's net.Socket and the stdio pipes of a child process).
//
// The fd is registered with the loop once, edge-triggered, for reading and writing; events only
// set `readable` / `writable` flags. A read tries read() at once and suspends only on EAGAIN; a
// short read clears the readable flag (the next arrival raises a new edge), so a
// request/response cycle costs one read() and one send(). Reads and writes allocate nothing.
// On an io_uring loop a socket's bytes come instead through one multishot receive into the
// loop's buffer ring, armed at the first read: no system call per read. The same calls read
// them (copied from the ring's buffer); bytes a reader leaves are kept (up to 64 KiB, then the
// receive pauses and the kernel holds the rest), so the edge rules above hold unchanged.
//
// Writes and backpressure. Unsent bytes wait in a write queue. `write()` sends directly when it
// can and completes once its bytes are in the kernel or in the queue with the queue at or below
// the high-water mark (default 64 KiB, Node's writableHighWaterMark for sockets). A write that
// would push the queue above the mark suspends the writer instead, WITHOUT copying: its bytes go
// to the kernel straight from the caller's buffer as the peer reads, and the tail is copied once
// it fits under the mark. So the queue never exceeds the mark through write(), and a fast writer
// runs at the reader's pace. `write_nowait()` never suspends: it sends what the kernel takes and
// copies the rest into the queue whatever its size (check write_queue_size() for backpressure).
//
// Errors: co_await throws brigade::Error with the errno and the operation ("read", "write",
// "connect"...), e.g. ECONNRESET on "read", EPIPE or ECONNRESET on "write". SIGPIPE is never
// raised: sockets use MSG_NOSIGNAL; adopting a non-socket fd ignores SIGPIPE process-wide once
// (see ignore_sigpipe()).
//
// Ownership: a Stream owns its fd. Destroying or close()-ing it closes the fd at once, discards
// unsent bytes, and fails every suspended read/write/flush with CancelledError (ECANCELED):
// they resume from the microtask queue, after the close() call has returned, and never touch
// the stream again. Operations started on a closed stream throw Error(EBADF).
// All methods belong to the loop's thread.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string_view>
#include <type_traits>

#include "brigade/loop/loop.hpp"
#include "brigade/net/endpoint.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/task.hpp"

namespace brigade::net {

inline constexpr std::size_t kDefaultHighWaterMark = 64 * 1024;

// Ignores SIGPIPE for the whole process (once; later calls do nothing). Called by
// Stream::adopt for non-socket fds, since write() to a pipe has no MSG_NOSIGNAL. A child process
// inherits SIG_IGN across exec, so process spawning must reset SIGPIPE to SIG_DFL in the child.
void ignore_sigpipe() noexcept;

namespace detail {
struct StreamCore;
struct StreamAccess;

// One suspended read (lives in its awaiter).
struct ReadOp {
  std::span<char> buf;
  std::coroutine_handle<> waiter;
  long result = 0;  // bytes read, 0 at EOF, or -errno
  bool linked = false;
};

// One write or flush in the stream's FIFO of suspended writers (lives in its awaiter).
struct WriteOp {
  std::span<const char> rest;  // not yet sent nor queued; the caller's buffer
  std::coroutine_handle<> waiter;
  WriteOp* next = nullptr;
  int error = 0;
  bool until_empty = false;  // a flush: done when everything before it is in the kernel
  bool end_after = false;    // a shutdown: a flush that half-closes once done
  bool linked = false;
  int file_fd = -1;  // a send_file: sendfile(2) from this fd once everything before it is sent
  uint64_t file_offset = 0;
  uint64_t file_left = 0;
};

bool read_start(StreamCore* core, ReadOp& op) noexcept;  // true: op.result is final
void read_suspend(StreamCore& core, ReadOp& op, std::coroutine_handle<> h) noexcept;
void read_cancel(StreamCore& core, ReadOp& op) noexcept;
void read_abandon(StreamCore& core, ReadOp& op) noexcept;
Loop& core_loop(StreamCore& core) noexcept;
bool write_start(StreamCore* core, WriteOp& op) noexcept;  // true: done (op.error set or 0)
void write_suspend(StreamCore& core, WriteOp& op, std::coroutine_handle<> h) noexcept;
void write_abandon(StreamCore& core, WriteOp& op) noexcept;
[[noreturn]] void throw_op_error(int err, const char* op);
}  // namespace detail

// co_await stream.read(buf): the bytes read (at least 1), or 0 at end of stream.
class ReadAwaiter {
 public:
  ReadAwaiter(detail::StreamCore* core, std::span<char> buf, std::stop_token token) noexcept
      : core_(core), token_(std::move(token)) {
    op_.buf = buf;
  }
  // Movable until await_suspend (co_await moves it once into the awaiting frame).
  ReadAwaiter(ReadAwaiter&& o) noexcept : core_(o.core_), op_(o.op_), token_(std::move(o.token_)) {}
  ~ReadAwaiter() {
    stop_.reset();
    if (op_.linked) detail::read_abandon(*core_, op_);  // the awaiting frame was destroyed
  }

  bool await_ready() noexcept {
    if (token_.stop_requested()) {
      op_.result = -ECANCELED;
      return true;
    }
    return detail::read_start(core_, op_);
  }
  void await_suspend(std::coroutine_handle<> h) {
    detail::read_suspend(*core_, op_, h);
    if (token_.stop_possible()) stop_.emplace(detail::core_loop(*core_), token_, OnStop{this});
  }
  std::size_t await_resume() {
    stop_.reset();
    if (op_.result < 0) detail::throw_op_error(static_cast<int>(-op_.result), "read");
    return static_cast<std::size_t>(op_.result);
  }

 private:
  struct OnStop {
    ReadAwaiter* self;
    void operator()() const {
      if (self->op_.linked) detail::read_cancel(*self->core_, self->op_);
    }
  };
  detail::StreamCore* core_;
  detail::ReadOp op_;
  std::stop_token token_;
  std::optional<brigade::detail::StopWatch<OnStop>> stop_;
};

// co_await stream.write(bytes) / stream.flush(). The caller's buffer must stay valid until the
// co_await completes (a temporary in the co_await expression does).
class WriteAwaiter {
 public:
  enum class Mode : uint8_t { kWrite, kFlush, kShutdown };
  WriteAwaiter(detail::StreamCore* core, std::span<const char> bytes, Mode mode,
               const char* what) noexcept
      : core_(core), what_(what) {
    op_.rest = bytes;
    op_.until_empty = mode != Mode::kWrite;
    op_.end_after = mode == Mode::kShutdown;
  }
  WriteAwaiter(detail::StreamCore* core, int file_fd, uint64_t offset, uint64_t count) noexcept
      : core_(core), what_("sendfile") {
    op_.file_fd = file_fd;
    op_.file_offset = offset;
    op_.file_left = count;
  }
  WriteAwaiter(WriteAwaiter&& o) noexcept : core_(o.core_), op_(o.op_), what_(o.what_) {}
  ~WriteAwaiter() {
    if (op_.linked) detail::write_abandon(*core_, op_);
  }

  bool await_ready() noexcept { return detail::write_start(core_, op_); }
  void await_suspend(std::coroutine_handle<> h) noexcept { detail::write_suspend(*core_, op_, h); }
  void await_resume() const {
    if (op_.error) detail::throw_op_error(op_.error, what_);
  }

 private:
  detail::StreamCore* core_;
  detail::WriteOp op_;
  const char* what_;
};

class Stream {
 public:
  enum class Kind : uint8_t {
    kDetect,  // fstat() tells
    kSocket,  // a connected stream socket: send(MSG_NOSIGNAL), shutdown(), socket options
    kOther,   // a pipe, FIFO, character device...: write(), and shutdown() closes the fd
  };
  // Called with the context pointer given when the hook was set (see set_read_hook).
  using Hook = void (*)(void* ctx);

  Stream() noexcept;  // empty: every operation fails with EBADF
  ~Stream();
  Stream(Stream&& o) noexcept;
  Stream& operator=(Stream&& o) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Takes ownership of `fd` (a connected socket, a pipe end, ...): sets O_NONBLOCK and
  // registers it with the loop. Throws Error(errno, "adopt") if the fd cannot be polled (e.g. a
  // regular file); the fd is then left open and still the caller's. For a tty or an fd shared
  // with other processes, note that O_NONBLOCK applies to the shared open file description.
  static Stream adopt(Loop& loop, int fd, Kind kind = Kind::kDetect);

  bool is_open() const noexcept;
  explicit operator bool() const noexcept { return is_open(); }
  int fd() const noexcept;  // -1 when closed
  bool is_socket() const noexcept;
  Loop& loop() const noexcept;

  // ---- Coroutine API --------------------------------------------------------------------
  // Reads what is available (at least 1 byte; suspends until then); 0 at end of stream.
  // One reader at a time (a second concurrent read throws Error(EBUSY)). An empty buffer
  // throws Error(EINVAL). A stopped token fails the read with CancelledError, and the stream
  // stays usable (no bytes are lost).
  ReadAwaiter read(std::span<char> buf, std::stop_token token = {}) noexcept {
    return ReadAwaiter(core_.get(), buf, std::move(token));
  }
  // Reads until `buf` is full or the stream ends; returns the bytes read.
  Task<std::size_t> read_full(std::span<char> buf, std::stop_token token = {});

  // See the header comment: completes once the bytes are in the kernel or queued at or under
  // the high-water mark. Writers are served in FIFO order.
  WriteAwaiter write(std::span<const char> bytes) noexcept {
    return WriteAwaiter(core_.get(), bytes, WriteAwaiter::Mode::kWrite, "write");
  }
  // Text (std::string, string_view, a literal without its NUL) goes through this overload.
  template <typename Text>
  requires std::is_convertible_v<const Text&, std::string_view> WriteAwaiter write(const Text& text)
  noexcept {
    std::string_view v = text;
    return write(std::span<const char>(v.data(), v.size()));
  }
  // Completes when every byte written before it has been handed to the kernel.
  WriteAwaiter flush() noexcept {
    return WriteAwaiter(core_.get(), {}, WriteAwaiter::Mode::kFlush, "flush");
  }
  // Half-close: flushes, then shutdown(SHUT_WR) (the peer reads EOF; we can still read).
  // For a non-socket fd (a pipe's write end) it flushes and then closes the fd. Idempotent.
  WriteAwaiter shutdown() noexcept {
    return WriteAwaiter(core_.get(), {}, WriteAwaiter::Mode::kShutdown, "shutdown");
  }

  // Sends `count` bytes of the regular file `file_fd` from `offset` with sendfile(2), after
  // every byte written before it: page cache to socket, no copy through user space, never the
  // whole file in memory. Completes once the last byte is in the kernel; later writes wait
  // behind it (FIFO) and write_nowait() fails with EBUSY meanwhile. The fd stays the caller's:
  // keep it open until this completes. A file that ends before offset + count fails the stream
  // with EIO (the peer was promised those bytes). As in nginx's default, a page-cache miss is
  // read by the kernel inside sendfile, on the loop's thread.
  WriteAwaiter send_file(int file_fd, uint64_t offset, uint64_t count) noexcept {
    return WriteAwaiter(core_.get(), file_fd, offset, count);
  }

  // ---- Non-suspending API (callback style, the HTTP server's hot path) -------------------
  // One read() if the stream may be readable: bytes (>0), 0 at end of stream, or -errno;
  // -EAGAIN when nothing is available (the read hook fires when something arrives).
  long try_read(std::span<char> buf) noexcept;
  // Like try_read, but the bytes stay in the socket for the next read (MSG_PEEK); a socket
  // only. Whether a request is waiting, without taking it (a closing server's check).
  long try_peek(std::span<char> buf) const noexcept;
  // Sends what the kernel takes now and copies the rest into the write queue, whatever its
  // size; never suspends. Returns 0, or an errno (EPIPE / ECONNRESET after a failed send, EBADF
  // when closed, EPIPE after end()). A later failure of the queued bytes is kept and returned
  // by the next write/write_nowait/flush.
  int write_nowait(std::span<const char> bytes) noexcept;
  template <typename Text>
  requires std::is_convertible_v<const Text&, std::string_view>
  int write_nowait(const Text& text) noexcept {
    std::string_view v = text;
    return write_nowait(std::span<const char>(v.data(), v.size()));
  }
  // Half-close once the queue is flushed (Node's socket.end()); never suspends.
  void end() noexcept;
  // Hooks (plain function pointers; nullptr removes). The read hook runs on each readable
  // edge while no coroutine read is pending: it must then read until try_read returns -EAGAIN,
  // 0 or an error, or a short read (the flag logic above), or it won't be called again. Data
  // may already be waiting when the hook is set: call try_read first. The drain hook runs
  // when the write queue empties after having held bytes. A hook may close or destroy the
  // stream. Close clears both hooks.
  void set_read_hook(Hook hook, void* ctx) noexcept;
  void set_drain_hook(Hook hook, void* ctx) noexcept;

  std::size_t write_queue_size() const noexcept;
  std::size_t high_water_mark() const noexcept;
  void set_high_water_mark(std::size_t bytes) noexcept;

  // ---- Lifetime and options -------------------------------------------------------------
  // Closes now (see the header comment). Idempotent.
  void close() noexcept;
  // Stops watching the fd and hands it back unclosed (e.g. to pass it to another process);
  // suspended operations are cancelled as by close(). Returns -1 if closed. On io_uring, bytes
  // received and not read yet stay with the stream (dropped): release before reading.
  int release() noexcept;
  // An open stream keeps the loop alive (Node's socket); unref() lets the loop exit anyway.
  void ref() noexcept;
  void unref() noexcept;
  bool has_ref() const noexcept;
  // Socket options; return 0 or an errno (ENOTSOCK for a pipe, EBADF when closed).
  // No-delay is off by default (as in libuv); keep-alive's delay is in seconds (0: system's).
  int set_no_delay(bool enable) noexcept;
  int set_keep_alive(bool enable, unsigned initial_delay_s = 0) noexcept;
  Endpoint local_endpoint() const;
  Endpoint remote_endpoint() const;

 private:
  friend struct detail::StreamAccess;
  explicit Stream(std::unique_ptr<detail::StreamCore> core) noexcept;
  void destroy() noexcept;
  std::unique_ptr<detail::StreamCore> core_;
};

}  // namespace brigade::net
