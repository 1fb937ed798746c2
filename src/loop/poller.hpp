#pragma once
// The loop's I/O backend, behind the small readiness interface below: register an fd with io::
// bits and a pointer, wait for a batch of events. epoll (poller_epoll.cpp, the one file that
// includes <sys/epoll.h>) and io_uring (poller_uring.cpp, poll requests on a ring: the one file
// that includes <liburing.h>) implement it; make_poller() (poller_choice.cpp) chooses.
// Private to the loop layer: Loop is the only user (and the loop's tests).
//
// Semantics both backends keep: an fd watched with io::kEdge is reported when its readiness
// changes (epoll's EPOLLET), one without it on every wait while it holds (level); error and
// hangup are always reported; remove() means no event for that registration is returned again.
// One difference: epoll refuses (EPERM) an fd that cannot be polled (a regular file), io_uring
// reports it always ready; a caller that cares checks first (Stream::adopt does).
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "brigade/loop/io.hpp"

namespace brigade {

struct IoCompletion;
struct IoFileRequest;
struct IoRecv;

// A PollEvent whose events are exactly this carries a finished IoCompletion (its result set),
// not an IoWatch: the loop runs its handler.
inline constexpr uint32_t kCompletionEvent = 1u << 30;
// One with this bit carries a completion of the IoRecv `data` (result, bytes), and kRecvMore
// unless it is the request's last.
inline constexpr uint32_t kRecvEvent = 1u << 29;
inline constexpr uint32_t kRecvMore = 1u << 28;
// A kRecvEvent with this bit comes from a multishot accept: result is a new fd or -errno.
inline constexpr uint32_t kAcceptEvent = 1u << 27;
// A kCompletionEvent with this bit finishes a file operation (Loop::io_file), not a send.
inline constexpr uint32_t kFileEvent = 1u << 26;

struct PollEvent {
  void* data;         // the pointer given to add()/modify(); the loop nulls it to drop an event
  uint32_t events;    // io:: bits
  int32_t result;     // a receive's: bytes, 0 at the end, or -errno
  const char* bytes;  // a receive's bytes: the backend's buffer, lent until give_back()
};

class Poller {
 public:
  virtual ~Poller() = default;
  // The backend's name, for messages ("epoll").
  virtual const char* name() const noexcept = 0;
  // Each returns 0 or an errno value.
  virtual int add(int fd, uint32_t events, void* data) noexcept = 0;
  virtual int modify(int fd, uint32_t events, void* data) noexcept = 0;
  virtual int remove(int fd) noexcept = 0;
  // Waits up to timeout_ns nanoseconds (-1: forever, 0: not at all) for at most `max` events;
  // returns how many were written to `out`, or -errno (-EINTR when a signal cut the wait short).
  // What to do with an error is the loop's choice, not the backend's.
  virtual int wait(PollEvent* out, int max, int64_t timeout_ns) noexcept = 0;

  // Completion-based sends (Loop::io_send and io_cancel), where the backend has them: a send
  // staged now is prepared and submitted with the next wait, and that wait (or a later one)
  // returns it as a kCompletionEvent. send() returns 0 or an errno: ENOSYS where there are
  // none, EAGAIN when it cannot stage one now (the caller sends itself).
  virtual bool has_sends() const noexcept { return false; }
  virtual int send(IoCompletion&, int) noexcept { return ENOSYS; }
  virtual void cancel(IoCompletion&, std::unique_ptr<char[]> (*)(IoCompletion&)) noexcept {}
  // Submits the staged sends now (outside an iteration no wait would carry them).
  virtual void submit() noexcept {}

  // Multishot receives into the backend's own buffers (Loop::io_recv), where it has them: recv()
  // stages one (0, or ENOSYS where there are none), submitted with the next wait; each
  // completion is a kRecvEvent. recv_pause() asks the kernel to end it, its completions still
  // reported until the last; recv_cancel() ends it now and reports nothing more. The buffers
  // of the events of the waits since lent_mark() go back to the kernel at give_back(mark),
  // once the loop has dispatched them (a nested loop's wait keeps its caller's).
  virtual bool has_recvs() const noexcept { return false; }
  virtual int recv(IoRecv&, int) noexcept { return ENOSYS; }
  virtual void recv_pause(IoRecv&) noexcept {}
  virtual void recv_cancel(IoRecv&) noexcept {}
  virtual std::size_t lent_mark() const noexcept { return 0; }
  virtual void give_back(std::size_t) noexcept {}

  // Multishot accepts (Loop::io_accept), where the backend has them: accept() stages one (0, or
  // ENOSYS), reported as kRecvEvent | kAcceptEvent; recv_pause() ends it as a receive's.
  // accept_cancel() ends it now: the fds of its completions not reported yet go to take (closed
  // when null), and any that come later are closed.
  virtual bool has_accepts() const noexcept { return false; }
  virtual int accept(IoRecv&, int) noexcept { return ENOSYS; }
  virtual void accept_cancel(IoRecv&, void (*)(IoRecv&, int)) noexcept {}

  // File operations (Loop::io_file), where the backend has them: file() queues one (0, ENOSYS,
  // or EAGAIN when it cannot now), reported as kCompletionEvent | kFileEvent.
  virtual bool has_files() const noexcept { return false; }
  virtual int file(IoCompletion&, const IoFileRequest&) noexcept { return ENOSYS; }
};

// The backend BRIGADE_BACKEND names (io_uring or epoll; read at each call), by default io_uring
// where this kernel allows it and epoll otherwise, the reason for falling back logged once per
// process. Throws brigade::Error if the kernel refuses to make one.
std::unique_ptr<Poller> make_poller();

std::unique_ptr<Poller> make_epoll_poller();
// Throws brigade::Error if the kernel refuses a ring. The sizes are the rings' (the tests make
// the completion ring small to see the kernel end a multishot request when it overflows).
// recv_buffers (a power of two, 0: no multishot receives) of recv_buffer_size bytes each are
// the provided-buffer ring the receives draw from.
// accepts: multishot accepts where the kernel has them (uring_accept_unavailable_reason()).
std::unique_ptr<Poller> make_uring_poller(unsigned sq_entries = 256, unsigned cq_entries = 4096,
                                          unsigned recv_buffers = 256,
                                          unsigned recv_buffer_size = 4096, bool accepts = true);
// Why this kernel cannot run the io_uring backend ("" if it can): probed once per process.
const std::string& uring_unavailable_reason();
// Why this kernel's rings cannot receive through multishot receives into a buffer ring ("" if
// they can; Linux 6.0 needed), their loops then receiving through readiness and recv(). Probed
// once per process. make_poller() also turns them off for BRIGADE_URING_RECV=0 (read at each
// call: a measurement of the readiness path on the same ring).
const std::string& uring_recv_unavailable_reason();
// Why this kernel's rings cannot accept through multishot accepts ("" if they can; Linux 5.19
// needed), their listeners then accepting on readiness. Probed once per process; make_poller()
// also turns them off for BRIGADE_URING_ACCEPT=0 (read at each call).
const std::string& uring_accept_unavailable_reason();

}  // namespace brigade
