// read_file on the loop's ring: an open request, fstat inline for the size, read requests into
// a buffer the thread keeps for the next read, close inline, then one copy into the caller's
// string. The states and their buffers are reused (a thread keeps up to kSpare): allocating each
// read's buffer on the loop thread made glibc give the heap's top back and fault it in again
// every few dozen reads (bench/RESULTS.md, fs_read). A file larger than kRingMax is read on the
// pool from the fd the ring opened: its copy would hold the loop (and the pool's threads fault
// its pages in parallel). A state outlives an awaiting task destroyed mid-read: the last
// completion takes it back.
#include "ring_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fd_io.hpp"
#include "path_error.hpp"

namespace brigade::fs::detail {

namespace {

// Measured on this machine (bench/RESULTS.md, fs_read): the ring wins for small files.
constexpr bool kRingByDefault = true;
constexpr std::size_t kRingMax = 64 * 1024;  // larger files: read on the pool
constexpr std::size_t kSpare = 64;           // states a thread keeps for its next reads

// BRIGADE_FS: "pool" or "ring"; unset or anything else, the default.
bool ring_wanted() noexcept {
  const char* env = std::getenv("BRIGADE_FS");
  if (env && std::strcmp(env, "pool") == 0) return false;
  if (env && std::strcmp(env, "ring") == 0) return true;
  return kRingByDefault;
}

struct RingRead {
  IoCompletion op;
  Loop* loop = nullptr;
  std::string path;  // the kernel reads it at the open's submission, maybe after the task is gone
  std::unique_ptr<char[]> bytes;  // what the kernel reads into; kept with the state
  std::size_t capacity = 0;
  int fd = -1;
  std::size_t used = 0;       // bytes read so far
  std::size_t chunk_end = 0;  // what the buffer holds room for now
  std::size_t hint = 0;       // fstat's size of a regular file (0: read to the end)
  int err = 0;
  const char* failed = nullptr;  // the operation that failed, for the error
  bool busy = false;             // a request is in the kernel
  bool refused = false;          // the ring would not take the open: the pool reads it
  bool large = false;            // opened; the pool reads it from `fd`
  std::coroutine_handle<> waiter;

  void reserve(std::size_t n) {
    if (n <= capacity) return;
    auto grown = std::make_unique_for_overwrite<char[]>(n);
    if (used) std::memcpy(grown.get(), bytes.get(), used);
    bytes = std::move(grown);
    capacity = n;
  }
};

thread_local std::vector<std::unique_ptr<RingRead>> t_spare;

std::unique_ptr<RingRead> take_state(Loop& loop) {
  std::unique_ptr<RingRead> r;
  if (t_spare.empty()) {
    r = std::make_unique<RingRead>();
  } else {
    r = std::move(t_spare.back());
    t_spare.pop_back();
  }
  r->op.data = r.get();
  r->loop = &loop;
  r->fd = -1;
  r->used = r->chunk_end = r->hint = 0;
  r->err = 0;
  r->failed = nullptr;
  r->busy = r->refused = r->large = false;
  r->waiter = nullptr;
  return r;
}

void give_state(std::unique_ptr<RingRead> r) noexcept {
  if (r->capacity > kRingMax || t_spare.size() >= kSpare) return;  // freed
  t_spare.push_back(std::move(r));
}

void finish(RingRead& r, const char* failed, int err) {
  if (r.fd >= 0 && !(r.large && r.waiter)) ::close(std::exchange(r.fd, -1));
  r.failed = failed;
  r.err = err;
  r.busy = false;
  r.loop->unref();
  if (r.waiter)
    r.waiter.resume();
  else
    give_state(std::unique_ptr<RingRead>(&r));  // the awaiting task is gone
}

void read_next(RingRead& r) {
  IoFileRequest req;
  req.kind = IoFileRequest::kRead;
  req.fd = r.fd;
  req.buf = r.bytes.get() + r.used;
  req.size = r.chunk_end - r.used;
  req.offset = r.hint ? r.used : uint64_t(-1);  // not seekable (/proc, FIFO): the file position
  if (int err = r.loop->io_file(r.op, req)) finish(r, "read", err);
}

// Each completion: the open's fd, or a read's count; the next read, or the end (as
// read_to_end: the size fstat gave, or the end of the file).
void on_completion(IoCompletion& op) {
  auto& r = *static_cast<RingRead*>(op.data);
  long res = op.result;
  if (r.fd < 0) {
    if (res < 0) return finish(r, "open", int(-res));
    r.fd = int(res);
    struct stat st;
    if (::fstat(r.fd, &st) != 0) return finish(r, "fstat", errno);
    if (S_ISDIR(st.st_mode)) return finish(r, "read", EISDIR);
    r.hint = S_ISREG(st.st_mode) ? std::size_t(st.st_size) : 0;
    if (r.hint > kRingMax) {
      r.large = true;
      return finish(r, nullptr, 0);
    }
    r.chunk_end = r.hint ? r.hint : 4096;
    r.reserve(r.chunk_end);
    return read_next(r);
  }
  if (res == -EINTR || res == -EAGAIN) return read_next(r);
  if (res < 0) return finish(r, "read", int(-res));
  r.used += std::size_t(res);
  if (res == 0 || (r.hint && r.used == r.hint)) return finish(r, nullptr, 0);
  if (r.used == r.chunk_end) {  // no size known: double
    r.chunk_end = r.used * 2;
    r.reserve(r.chunk_end);
  }
  read_next(r);
}

// Starts the open; the awaiting task resumes at the end. A task destroyed meanwhile leaves the
// state to the last completion.
class RingReadAwaiter {
 public:
  explicit RingReadAwaiter(std::unique_ptr<RingRead>& r) : r_(r) {}
  RingReadAwaiter(const RingReadAwaiter&) = delete;
  ~RingReadAwaiter() {
    if (r_ && r_->busy) {
      r_->waiter = nullptr;
      (void)r_.release();  // the last completion takes it back
    }
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    RingRead& r = *r_;
    IoFileRequest req;
    req.kind = IoFileRequest::kOpen;
    req.path = r.path.c_str();
    req.flags = O_RDONLY | O_CLOEXEC;
    if (r.loop->io_file(r.op, req) != 0) {  // before the loop's first wait, say
      r.refused = true;
      return false;
    }
    r.busy = true;
    r.waiter = h;
    r.loop->ref();  // as a pool job in flight does
    return true;
  }
  void await_resume() const noexcept {}

 private:
  std::unique_ptr<RingRead>& r_;
};

// An fd that closes with its owner, which may move (into a pool job).
struct OwnedFd {
  int fd;
  explicit OwnedFd(int f) noexcept : fd(f) {}
  OwnedFd(OwnedFd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
};

template <typename Buffer>
Buffer copy_out(const char* bytes, std::size_t n) {
  Buffer out(n, typename Buffer::value_type{});
  if (n) std::memcpy(out.data(), bytes, n);
  return out;
}

}  // namespace

Loop* ring_loop(ThreadPool& pool) noexcept {
  if (&pool != &ThreadPool::shared() || !ring_wanted()) return nullptr;
  Loop* loop = Loop::current();
  return loop && loop->io_files() ? loop : nullptr;
}

template <typename Buffer>
Task<Buffer> read_on_ring(Loop& loop, std::string path) {
  std::unique_ptr<RingRead> r = take_state(loop);
  r->op.handler = on_completion;
  std::swap(r->path, path);  // the state's string keeps its capacity for the next read
  RingReadAwaiter read(r);   // named: g++ 12 destroys co_await temporaries twice
  co_await read;
  if (r->refused || r->large) {
    int fd = std::exchange(r->fd, -1);  // opened on the ring, or -1: open it on the pool
    std::string p = r->path;
    give_state(std::move(r));
    // The job owns the fd: closed with it, even if the job is cancelled before it runs.
    auto job = ThreadPool::shared().run([file = OwnedFd(fd), p = std::move(p)] {
      return file.fd < 0 ? read_whole<Buffer>(p) : read_opened<Buffer>(file.fd, p);
    });
    co_return co_await job;
  }
  if (r->failed) {
    std::string p = r->path;
    int err = r->err;
    const char* op = r->failed;
    give_state(std::move(r));
    throw_path_error(op, p, err);
  }
  Buffer out = copy_out<Buffer>(r->bytes.get(), r->used);
  give_state(std::move(r));
  co_return out;
}

template Task<std::string> read_on_ring(Loop&, std::string);
template Task<std::vector<std::byte>> read_on_ring(Loop&, std::string);

}  // namespace brigade::fs::detail
