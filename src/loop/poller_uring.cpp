// The io_uring backend: readiness through poll requests on one ring per loop, the only file of
// brigade that includes <liburing.h>. An edge watch (io::kEdge) is one multishot poll request,
// which the kernel answers at every wakeup as epoll's EPOLLET does; a level watch is a one-shot
// request armed again before every wait, so readiness the loop left undrained completes it at
// once, inside the same system call. Requests are named by user_data = generation << 32 | fd:
// every add, modify and remove starts a new generation, so a completion of an older request (one
// still in the ring, or the -ECANCELED of a removed one) names a generation that is no longer the
// fd's and is dropped; no pointer ever goes to the kernel. The adds and re-arms of an iteration
// are submitted with its wait, in one io_uring_enter; a remove is submitted at once (see remove).
// Sends (Loop::io_send) are requests of their own, named kSend | generation << 32 | slot, the
// slot holding the owner's IoCompletion (or, once cancelled, the buffer) until the completion
// comes back; see send() and cancel(). Receives (Loop::io_recv) are multishot requests named
// kRecv | generation << 32 | slot, drawing from one provided-buffer ring per poller; a buffer a
// completion filled is lent to the loop with its event and goes back to the ring at
// give_back(), after the batch is dispatched; see recv(). Accepts (Loop::io_accept) are multishot
// requests in the same slots, marked `accept`: a completion's result is a new fd, closed here if
// its owner is gone; see accept(). File operations (Loop::io_file) take send slots; see file().
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "poller.hpp"

namespace brigade {

static_assert(io::kReadable == POLLIN && io::kWritable == POLLOUT && io::kError == POLLERR &&
              io::kHangup == POLLHUP && io::kPeerClosed == POLLRDHUP);

namespace {

// user_data of a cancellation: this bit and the tag of the request it cancels; of a send: kSend,
// the slot's generation and the slot; of a receive: kRecv, the same. Generations keep to 29
// bits, so no tag has any of those bits.
constexpr uint64_t kRemoval = uint64_t{1} << 63;
constexpr uint64_t kSend = uint64_t{1} << 62;
constexpr uint64_t kRecv = uint64_t{1} << 61;
constexpr uint32_t kGenerationMask = 0x1fff'ffff;
constexpr uint16_t kBufferGroup = 0;  // the one provided-buffer ring of a poller

uint64_t request_tag(int fd, uint32_t generation) {
  return uint64_t{generation} << 32 | uint32_t(fd);
}

// What one fd's watch is, and which of its poll requests the kernel holds.
struct Watch {
  void* data = nullptr;
  uint32_t events = 0;      // io:: bits as given
  uint32_t generation = 0;  // of the registration (30 bits, never 0): other ones are stale
  uint64_t in_kernel = 0;   // tag of the request submitted and not finished (0: none)
  uint64_t batch = 0;       // the wait that last reported it...
  int slot = 0;             // ...at this index of its output, where more bits for it go
  bool active = false;      // between add() and remove()
  bool failed = false;      // its request failed: no re-arm until modify()
  bool dirty = false;       // on the list of watches whose request to (re)arm or replace
};

// A send staged or in the kernel: its owner, or (once cancelled) the buffer to free when the
// kernel is done with it.
struct SendSlot {
  IoCompletion* op = nullptr;
  std::unique_ptr<char[]> keep;
  int fd = -1;
  uint32_t generation = 0;  // of the slot's send (a cancellation asked again names only it)
  bool busy = false;
  bool staged = false;  // not prepared yet: the owner may still add bytes
  bool file = false;    // a file operation (Loop::io_file), not a send
};

// A multishot receive or accept staged or in the kernel: its owner (null once cancelled: its
// completions are dropped, their buffers given back, their fds closed) until the last completion.
// 16 bytes: one per armed receive, so one per open socket a program reads.
struct RecvSlot {
  IoRecv* op = nullptr;
  int fd = -1;
  uint32_t generation : 28 = 0;
  uint32_t accept : 1 = 0;  // a multishot accept: results are fds, no buffers
  uint32_t busy : 1 = 0;
  uint32_t staged : 1 = 0;   // not prepared yet
  uint32_t pausing : 1 = 0;  // its cancellation is asked for; completions still go to the owner
};
static_assert(sizeof(RecvSlot) == 16);

// The provided buffers receives draw from: `count` buffers of `size` bytes (touched only as
// the kernel fills them) and the ring of their addresses the kernel takes them from. The kernel
// takes the ring's entries in order, so a ring holding every buffer would cycle through all of
// them (all resident); it holds `target` instead, refilled from the most recently returned, and
// the target doubles each time a receive finds it empty: the memory touched follows the most
// completions one wait has seen, not the ring's size.
class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing() { unmap(); }

  // 0 or an errno; nothing is kept on failure.
  int setup(io_uring* ring, unsigned count, unsigned size) noexcept {
    ring_bytes_ = std::size_t(count) * sizeof(io_uring_buf);
    data_bytes_ = std::size_t(count) * size;
    void* r =
        ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* d = ::mmap(nullptr, data_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED) ring_ = static_cast<io_uring_buf_ring*>(r);
    if (d != MAP_FAILED) data_ = static_cast<char*>(d);
    if (!ring_ || !data_) {
      unmap();
      return ENOMEM;
    }
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uintptr_t>(ring_);
    reg.ring_entries = count;
    reg.bgid = kBufferGroup;
    if (int err = io_uring_register_buf_ring(ring, &reg, 0)) {
      unmap();
      return -err;
    }
    count_ = count;
    size_ = size;
    target_ = std::min(count, kFirstTarget);
    io_uring_buf_ring_init(ring_);
    spare_.reserve(count);
    for (unsigned id = count; id-- > 0;) spare_.push_back(uint16_t(id));  // 0 first
    top_up();
    return 0;
  }
  bool ready() const noexcept { return count_ != 0; }
  unsigned size() const noexcept { return size_; }
  const char* bytes(uint16_t id) const noexcept { return data_ + std::size_t(id) * size_; }

  // A completion came with one of the ring's buffers.
  void taken() noexcept { --in_ring_; }
  // A receive found the ring empty.
  void ran_out() noexcept { target_ = std::min(count_, target_ * 2); }

  // Returned buffers become the next the ring hands out; the ring is refilled to its target.
  void give_back(const uint16_t* ids, std::size_t n) noexcept {
    spare_.insert(spare_.end(), ids, ids + n);  // never past count: each id is out once
    top_up();
  }
  bool short_of_target() const noexcept { return in_ring_ < target_ && !spare_.empty(); }

  // Before the ring goes: a receive still armed finds no buffer group (ENOBUFS) instead of
  // writing into memory unmapped after.
  void unregister(io_uring* ring) noexcept {
    if (count_) io_uring_unregister_buf_ring(ring, kBufferGroup);
  }

 private:
  static constexpr unsigned kFirstTarget = 32;

  void top_up() noexcept {
    int added = 0;
    for (; in_ring_ < target_ && !spare_.empty(); ++in_ring_, ++added) {
      add(spare_.back(), added);
      spare_.pop_back();
    }
    if (added) io_uring_buf_ring_advance(ring_, added);
  }

  void add(uint16_t id, int offset) noexcept {
    io_uring_buf_ring_add(ring_, data_ + std::size_t(id) * size_, size_, id,
                          io_uring_buf_ring_mask(count_), offset);
  }
  void unmap() noexcept {
    if (ring_) ::munmap(ring_, ring_bytes_);
    if (data_) ::munmap(data_, data_bytes_);
    ring_ = nullptr;
    data_ = nullptr;
    count_ = 0;
  }

  io_uring_buf_ring* ring_ = nullptr;
  char* data_ = nullptr;
  std::size_t ring_bytes_ = 0, data_bytes_ = 0;
  unsigned count_ = 0, size_ = 0;
  unsigned target_ = 0;          // buffers the ring should hold at each wait
  unsigned in_ring_ = 0;         // buffers in it, as far as the completions reaped tell
  std::vector<uint16_t> spare_;  // the others, free: the most recently returned last
};

// One thread issues (SINGLE_ISSUER) and completions run in its waits, not in interrupts
// (DEFER_TASKRUN); disabled until the first wait, so the thread that runs the loop is the issuer
// even if another one made it. Older kernels refuse the flags: fewer of them, then none.
int setup_ring(io_uring* ring, unsigned sq_entries, unsigned cq_entries) {
  static constexpr unsigned kFlagSets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN |
          IORING_SETUP_R_DISABLED,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int err = -EINVAL;
  for (unsigned flags : kFlagSets) {
    io_uring_params params{};
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = cq_entries;
    err = io_uring_queue_init_params(sq_entries, ring, &params);
    if (err != -EINVAL) return err;
  }
  return err;
}

thread_local char t_thread_token;  // its address names the calling thread

// A free slot of `slots`: one freed earlier, else a new one.
template <typename Slot>
uint32_t take_slot(std::vector<Slot>& slots, std::vector<uint32_t>& free) {
  if (free.empty()) {
    slots.emplace_back();
    return uint32_t(slots.size() - 1);
  }
  uint32_t slot = free.back();
  free.pop_back();
  return slot;
}

class UringPoller final : public Poller {
 public:
  UringPoller(unsigned sq_entries, unsigned cq_entries, unsigned recv_buffers,
              unsigned recv_buffer_size, bool accepts)
      : accepts_(accepts) {
    if (cq_entries < sq_entries) cq_entries = sq_entries;
    if (int err = setup_ring(&ring_, sq_entries, cq_entries)) throw Error(-err, "io_uring setup");
    // Registered while the ring is disabled (before its thread is known); a failure leaves
    // receives to readiness, as on a kernel without them.
    if (recv_buffers && recv_buffers <= 32768 && !(recv_buffers & (recv_buffers - 1)))
      buffers_.setup(&ring_, recv_buffers, recv_buffer_size);
  }
  ~UringPoller() override {
    finish_sends();
    close_unreaped_accepts();
    buffers_.unregister(&ring_);
    io_uring_queue_exit(&ring_);
  }

  const char* name() const noexcept override { return "io_uring"; }

  bool has_recvs() const noexcept override { return buffers_.ready(); }
  bool has_accepts() const noexcept override { return accepts_; }

  // Staged for the next wait (a receive has no bytes to name: nothing to gather first).
  int recv(IoRecv& op, int fd) noexcept override {
    if (!buffers_.ready()) return ENOSYS;
    stage_recv(op, fd, false);
    return 0;
  }

  // A receive's slot and pause, another opcode: the listener's one request for all connections.
  int accept(IoRecv& op, int fd) noexcept override {
    if (!accepts_) return ENOSYS;
    stage_recv(op, fd, true);
    return 0;
  }

  // As recv_cancel, then the fds already in the completion ring (what this cancellation's
  // io_uring_enter accepted included) go to `take` and are marked handed over for reap().
  void accept_cancel(IoRecv& op, void (*take)(IoRecv&, int)) noexcept override {
    uint64_t tag = op.tag;
    recv_cancel(op);
    if (!tag || !recvs_[uint32_t(tag)].busy) return;  // never submitted
    unsigned head = *ring_.cq.khead;
    unsigned tail = io_uring_smp_load_acquire(ring_.cq.ktail);
    for (unsigned i = head; i != tail; ++i) {
      io_uring_cqe& cqe = ring_.cq.cqes[i & ring_.cq.ring_mask];
      if (cqe.user_data != tag || cqe.res < 0) continue;
      int fd = std::exchange(cqe.res, -ECANCELED);
      take ? take(op, fd) : void(::close(fd));
    }
  }

  // The cancellation goes with the next wait: what arrives meanwhile still reaches the owner.
  void recv_pause(IoRecv& op) noexcept override {
    if (!op.tag) return;
    uint32_t slot = uint32_t(op.tag);
    RecvSlot& s = recvs_[slot];
    assert(s.busy && s.op == &op);
    if (s.staged) {  // never submitted: no completion will come
      unstage_recv(slot);
      op.tag = 0;
      return;
    }
    if (s.pausing) return;
    s.pausing = true;
    if (io_uring_sqe* sqe = next_sqe())
      queue_cancel(sqe, op.tag);
    else
      cancel_again_.push_back(op.tag);
  }

  // Submitted at once, as remove(): the request holds the file, and the owner closes it next.
  void recv_cancel(IoRecv& op) noexcept override {
    if (!op.tag) return;
    uint64_t tag = std::exchange(op.tag, 0);
    uint32_t slot = uint32_t(tag);
    RecvSlot& s = recvs_[slot];
    assert(s.busy && s.op == &op);
    s.op = nullptr;
    if (s.staged) {
      unstage_recv(slot);
      return;
    }
    if (!cancel_now(tag)) cancel_again_.push_back(tag);
  }

  std::size_t lent_mark() const noexcept override { return lent_.size(); }

  void give_back(std::size_t mark) noexcept override {
    if (mark >= lent_.size() && !buffers_.short_of_target()) return;
    std::size_t n = mark < lent_.size() ? lent_.size() - mark : 0;
    buffers_.give_back(n ? lent_.data() + mark : lent_.data(), n);
    lent_.resize(lent_.size() - n);
  }

  bool has_sends() const noexcept override { return true; }
  bool has_files() const noexcept override { return true; }

  // A file operation rides in a send's slot (one request, one completion), prepared now since
  // there is nothing to gather first; the wait's submit carries it. Only on the ring's thread
  // once it runs, as sends (a disabled ring cannot submit when the queue fills).
  int file(IoCompletion& op, const IoFileRequest& r) noexcept override {
    if (owner_ != &t_thread_token) return EAGAIN;
    io_uring_sqe* sqe = next_sqe();
    if (!sqe) return EAGAIN;
    uint32_t slot = take_slot(sends_, free_sends_);
    SendSlot& s = sends_[slot];
    assert(!s.busy && "a slot is reused only after its completion");
    s.busy = s.file = true;
    s.staged = false;
    s.op = &op;
    s.fd = r.fd;
    s.generation = (s.generation + 1) & kGenerationMask;
    ++sends_busy_;
    switch (r.kind) {
      case IoFileRequest::kOpen:
        io_uring_prep_openat(sqe, AT_FDCWD, r.path, r.flags, r.mode);
        break;
      case IoFileRequest::kRead:
        io_uring_prep_read(sqe, r.fd, r.buf, unsigned(r.size), r.offset);
        break;
      case IoFileRequest::kWrite:
        io_uring_prep_write(sqe, r.fd, r.buf, unsigned(r.size), r.offset);
        break;
    }
    io_uring_sqe_set_data64(sqe, send_tag(slot));
    op.tag = send_tag(slot);
    return 0;
  }

  // Staged for the next wait, where prepare() names the bytes: the iteration's writes go as one.
  // Only on the ring's thread once it runs: before the first wait nothing could submit it before
  // a close, so the caller sends itself (EAGAIN).
  int send(IoCompletion& op, int fd) noexcept override {
    if (owner_ != &t_thread_token) return EAGAIN;
    uint32_t slot = take_slot(sends_, free_sends_);
    SendSlot& s = sends_[slot];
    assert(!s.busy && "a slot is reused only after its completion");
    s.busy = s.staged = true;
    s.file = false;
    s.op = &op;
    s.fd = fd;
    s.generation = (s.generation + 1) & kGenerationMask;
    staged_.push_back(slot);
    op.tag = send_tag(slot);
    ++sends_busy_;
    return 0;
  }

  void submit() noexcept override {
    if (owner_ != &t_thread_token || (staged_.empty() && !io_uring_sq_ready(&ring_))) return;
    prepare_staged();
    io_uring_submit_and_get_events(&ring_);
  }

  // The kernel takes what the socket accepts now (what a send() would have), submitted at once
  // since the owner closes the fd next and the request names it by number; the rest is
  // cancelled. The buffer stays in the slot until the send's own completion.
  void cancel(IoCompletion& op,
              std::unique_ptr<char[]> (*release)(IoCompletion&)) noexcept override {
    if (!op.tag) return;  // its completion was reaped: the buffer is the owner's again
    assert(owner_ == &t_thread_token && "sends are staged only on the ring's thread");
    uint32_t slot = uint32_t(op.tag);
    SendSlot& s = sends_[slot];
    assert(s.busy && s.op == &op);
    if (s.staged && !prepare(slot)) {  // no submission entry: it never reaches the kernel
      op.tag = 0;
      free_slot(slot);
      return;
    }
    uint64_t tag = std::exchange(op.tag, 0);
    s.op = nullptr;
    s.keep = release(op);
    if (io_uring_submit_and_get_events(&ring_) >= 0 && completion_in_ring(tag)) return;
    if (!cancel_now(tag)) cancel_again_.push_back(tag);
  }

  int add(int fd, uint32_t events, void* data) noexcept override {
    if (fd < 0) return EBADF;
    if (std::size_t(fd) >= watches_.size()) watches_.resize(std::size_t(fd) + 1);
    Watch& w = watches_[fd];
    if (w.active) return EEXIST;
    w.active = true;
    set(fd, w, events, data);
    return 0;
  }

  int modify(int fd, uint32_t events, void* data) noexcept override {
    if (fd < 0 || std::size_t(fd) >= watches_.size() || !watches_[fd].active) return ENOENT;
    set(fd, watches_[fd], events, data);
    return 0;
  }

  // The one call submitted at once: the poll request holds a reference to the file, so until
  // it is cancelled a close() would not close the socket (no FIN for the peer) where epoll's
  // close is immediate. The same io_uring_enter runs the deferred work that drops the reference.
  int remove(int fd) noexcept override {
    if (fd < 0 || std::size_t(fd) >= watches_.size() || !watches_[fd].active) return ENOENT;
    Watch& w = watches_[fd];
    w.active = false;
    w.failed = false;
    next_generation(w);
    if (w.in_kernel && owner_ == &t_thread_token && cancel_now(w.in_kernel)) w.in_kernel = 0;
    if (w.in_kernel) mark_dirty(fd, w);  // not cancelled yet: the next wait does it
    return 0;
  }

  int wait(PollEvent* out, int max, int64_t timeout_ns) noexcept override {
    if (owner_ != &t_thread_token) {
      if (int err = take_ownership()) return err;
    }
    prepare_staged();
    prepare_recvs();
    arm_dirty();
    int r;
    io_uring_cqe* cqe = nullptr;
    if (timeout_ns == 0 || io_uring_cq_ready(&ring_) > 0) {
      r = io_uring_submit_and_get_events(&ring_);
    } else if (timeout_ns < 0) {
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
    } else {
      __kernel_timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    // ETIME: the timeout; EBUSY/EAGAIN: completions backed up, which reaping relieves.
    if (r < 0 && r != -ETIME && r != -EBUSY && r != -EAGAIN && r != -EINTR) return r;
    int n = reap(out, max);
    return n == 0 && r == -EINTR ? -EINTR : n;
  }

 private:
  void set(int fd, Watch& w, uint32_t events, void* data) {
    next_generation(w);  // what the old request still reports is stale from here
    w.events = events;
    w.data = data;
    w.failed = false;
    mark_dirty(fd, w);
  }

  static void next_generation(Watch& w) {
    w.generation = (w.generation + 1) & kGenerationMask;
    if (w.generation == 0) w.generation = 1;  // tag 0 means no request
  }

  void queue_cancel(io_uring_sqe* sqe, uint64_t tag) {
    if (tag & (kSend | kRecv))
      io_uring_prep_cancel64(sqe, tag, 0);
    else
      io_uring_prep_poll_remove(sqe, tag);
    io_uring_sqe_set_data64(sqe, kRemoval | tag);
  }

  // Whether a completion with this user_data waits in the ring (not reaped yet).
  bool completion_in_ring(uint64_t user_data) const noexcept {
    unsigned head = *ring_.cq.khead;
    unsigned tail = io_uring_smp_load_acquire(ring_.cq.ktail);
    for (unsigned i = head; i != tail; ++i)
      if (ring_.cq.cqes[i & ring_.cq.ring_mask].user_data == user_data) return true;
    return false;
  }

  uint64_t send_tag(uint32_t slot) const noexcept {
    return kSend | uint64_t{sends_[slot].generation} << 32 | slot;
  }

  uint64_t recv_tag(uint32_t slot) const noexcept {
    return kRecv | uint64_t{recvs_[slot].generation} << 32 | slot;
  }

  void free_recv(uint32_t slot) noexcept {
    RecvSlot& s = recvs_[slot];
    s.op = nullptr;
    s.busy = s.staged = s.pausing = false;
    free_recvs_.push_back(slot);
  }

  void stage_recv(IoRecv& op, int fd, bool accept) noexcept {
    uint32_t slot = take_slot(recvs_, free_recvs_);
    RecvSlot& s = recvs_[slot];
    assert(!s.busy && "a slot is reused only after its last completion");
    s.busy = s.staged = true;
    s.pausing = false;
    s.accept = accept;
    s.op = &op;
    s.fd = fd;
    s.generation = s.generation + 1;  // 28 bits: wraps
    staged_recvs_.push_back(slot);
    op.tag = recv_tag(slot);
  }

  // At the ring's end: fds accepted into completions nobody reaped would leak.
  void close_unreaped_accepts() noexcept {
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      uint64_t tag = cqe->user_data;
      if ((tag & (kRecv | kRemoval)) == kRecv && recvs_[uint32_t(tag)].accept && cqe->res >= 0)
        ::close(cqe->res);
    }
  }

  void unstage_recv(uint32_t slot) noexcept {
    std::erase(staged_recvs_, slot);
    free_recv(slot);
  }

  // Each staged receive becomes a multishot request drawing from the buffer ring; each staged
  // accept, one whose fds come non-blocking and close-on-exec, as accept4 in the listener made.
  void prepare_recvs() noexcept {
    std::size_t done = 0;
    for (; done < staged_recvs_.size(); ++done) {
      uint32_t slot = staged_recvs_[done];
      RecvSlot& s = recvs_[slot];
      io_uring_sqe* sqe = next_sqe();
      if (!sqe) break;  // the rest: next wait
      if (s.accept) {
        io_uring_prep_multishot_accept(sqe, s.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      } else {
        io_uring_prep_recv_multishot(sqe, s.fd, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = kBufferGroup;
      }
      io_uring_sqe_set_data64(sqe, recv_tag(slot));
      s.staged = false;
    }
    staged_recvs_.erase(staged_recvs_.begin(), staged_recvs_.begin() + std::ptrdiff_t(done));
  }

  void free_slot(uint32_t slot) noexcept {
    SendSlot& s = sends_[slot];
    s.op = nullptr;
    s.keep.reset();
    s.busy = s.staged = false;
    free_sends_.push_back(slot);
    --sends_busy_;
  }

  // The send becomes a request: MSG_WAITALL, so the kernel itself goes on after a short send
  // and a large write costs one completion. False if no submission entry could be had.
  bool prepare(uint32_t slot) noexcept {
    SendSlot& s = sends_[slot];
    io_uring_sqe* sqe = next_sqe();
    if (!sqe) return false;
    s.op->prepare(*s.op);
    io_uring_prep_send(sqe, s.fd, s.op->bytes, s.op->size, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, send_tag(slot));
    s.staged = false;
    return true;
  }

  void prepare_staged() noexcept {
    std::size_t done = 0;
    for (; done < staged_.size(); ++done) {
      uint32_t slot = staged_[done];
      if (sends_[slot].staged && !prepare(slot)) break;  // the rest: next wait
    }
    staged_.erase(staged_.begin(), staged_.begin() + std::ptrdiff_t(done));
  }

  // A send's completion: its slot is free again; its owner, if it still has one, gets the event.
  IoCompletion* finish_send(uint64_t tag, int res) noexcept {
    uint32_t slot = uint32_t(tag);
    assert(sends_[slot].busy && !sends_[slot].staged && send_tag(slot) == tag);
    IoCompletion* op = sends_[slot].op;
    free_slot(slot);
    if (op) {
      op->tag = 0;
      op->result = res;
    }
    return op;
  }

  // At the ring's end: staged sends are submitted (the kernel takes what the sockets accept
  // now, as the send() of epoll's path did), then every send is cancelled and the buffers are
  // freed once the kernel has let go of them (a bounded wait).
  void finish_sends() noexcept {
    if (!sends_busy_ || owner_ != &t_thread_token) return;
    prepare_staged();
    io_uring_submit_and_get_events(&ring_);
    for (uint32_t i = 0; i < sends_.size(); ++i) {
      if (sends_[i].busy && sends_[i].staged) {  // no submission entry could be had
        if (sends_[i].op) sends_[i].op->tag = 0;
        free_slot(i);
      } else if (sends_[i].busy) {
        if (io_uring_sqe* sqe = next_sqe()) queue_cancel(sqe, send_tag(i));
      }
    }
    for (int round = 0; round < 100 && sends_busy_; ++round) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{0, 10'000'000};
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        if ((cqe->user_data & (kSend | kRemoval)) == kSend) finish_send(cqe->user_data, cqe->res);
      }
      io_uring_cq_advance(&ring_, seen);
    }
  }

  // Cancels the request now; false if it could not be (the next wait tries again). The kernel
  // refuses (EALREADY) while a wakeup's deferred work owns the request: that work runs in the
  // same io_uring_enter, so the next attempt finds it free unless another wakeup came between.
  bool cancel_now(uint64_t tag) noexcept {
    for (int attempt = 0; attempt < 8; ++attempt) {
      io_uring_sqe* sqe = next_sqe();
      if (!sqe) return false;
      queue_cancel(sqe, tag);
      if (io_uring_submit_and_get_events(&ring_) < 0) return false;
      int res = cancel_result(kRemoval | tag);
      if (res != -EALREADY) return true;  // done, or the request had already ended (ENOENT)
    }
    return false;
  }

  // The result of the newest completion with this user_data still in the ring, left there for
  // reap() (which ignores it); 0 if there is none (a full ring keeps it in the kernel).
  int cancel_result(uint64_t user_data) const noexcept {
    unsigned head = *ring_.cq.khead;
    unsigned tail = io_uring_smp_load_acquire(ring_.cq.ktail);
    for (unsigned i = tail; i != head; --i) {
      const io_uring_cqe& cqe = ring_.cq.cqes[(i - 1) & ring_.cq.ring_mask];
      if (cqe.user_data == user_data) return cqe.res;
    }
    return 0;
  }

  void mark_dirty(int fd, Watch& w) {
    if (w.dirty) return;
    w.dirty = true;
    dirty_.push_back(fd);
  }

  // The first wait enables the ring on its thread and registers the ring's fd there (each
  // io_uring_enter then skips the fd lookup). A loop runs on one thread: a wait from another
  // one gets EEXIST, which the kernel would return anyway for a single-issuer ring.
  int take_ownership() noexcept {
    if (owner_) {
      std::fprintf(stderr,
                   "brigade: an io_uring loop waited on a thread other than the one that first "
                   "ran it (BRIGADE_BACKEND=epoll allows that)\n");
      return -EEXIST;
    }
    // The system call itself: Debian's liburing 2.3 shared library does not export
    // io_uring_enable_rings (a symbol-map omission fixed in 2.4).
    if ((ring_.flags & IORING_SETUP_R_DISABLED) &&
        syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
            0)
      return -errno;
    io_uring_register_ring_fd(&ring_);  // an optimization: older kernels refuse it
    owner_ = &t_thread_token;
    return 0;
  }

  // A free submission entry; when the ring is full, what it holds is submitted first.
  io_uring_sqe* next_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe && io_uring_submit(&ring_) >= 0) sqe = io_uring_get_sqe(&ring_);
    return sqe;
  }

  // Queues the requests the dirty watches need: the old request of a modified one cancelled,
  // a request armed for each active one the kernel holds none for.
  void arm_dirty() noexcept {
    while (!cancel_again_.empty()) {
      io_uring_sqe* sqe = next_sqe();
      if (!sqe) return;
      queue_cancel(sqe, cancel_again_.back());
      cancel_again_.pop_back();
    }
    std::size_t done = 0;
    for (; done < dirty_.size(); ++done) {
      int fd = dirty_[done];
      Watch& w = watches_[fd];
      uint64_t tag = request_tag(fd, w.generation);
      bool stale = w.in_kernel && w.in_kernel != tag;
      bool arm = w.active && !w.failed && (stale || !w.in_kernel);
      if (stale) {
        io_uring_sqe* sqe = next_sqe();
        if (!sqe) break;
        queue_cancel(sqe, w.in_kernel);
        w.in_kernel = 0;
      }
      if (arm) {
        io_uring_sqe* sqe = next_sqe();
        if (!sqe) break;
        // Error and hangup are asked for explicitly: the kernel filters completions by the mask.
        unsigned mask = (w.events & ~io::kEdge) | POLLERR | POLLHUP;
        if (w.events & io::kEdge)
          io_uring_prep_poll_multishot(sqe, fd, mask);
        else
          io_uring_prep_poll_add(sqe, fd, mask);
        io_uring_sqe_set_data64(sqe, tag);
        w.in_kernel = tag;
      }
      w.dirty = false;
    }
    dirty_.erase(dirty_.begin(), dirty_.begin() + std::ptrdiff_t(done));  // the rest: next wait
  }

  // Turns completions into events, one per watch and wait (the bits of several wakeups merged).
  int reap(PollEvent* out, int max) noexcept {
    ++batch_;
    int n = 0;
    unsigned seen = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      uint64_t tag = cqe->user_data;
      if (tag & kRemoval) {
        // Refused while a wakeup owned the request: it lives on (holding its file) until asked
        // again. Any other result: it is gone (ENOENT: it had ended by itself).
        if (cqe->res == -EALREADY) cancel_again_.push_back(tag & ~kRemoval);
        ++seen;
        continue;
      }
      if (tag & kSend) {
        if (sends_[uint32_t(tag)].op && n == max) break;  // left in the ring for the next wait
        ++seen;
        uint32_t kind =
            sends_[uint32_t(tag)].file ? kCompletionEvent | kFileEvent : kCompletionEvent;
        if (IoCompletion* op = finish_send(tag, cqe->res))
          out[n++] = PollEvent{op, kind, 0, nullptr};
        continue;
      }
      if (tag & kRecv) {
        uint32_t slot = uint32_t(tag);
        assert(recvs_[slot].busy && recv_tag(slot) == tag && "slots outlive their requests");
        IoRecv* op = recvs_[slot].op;
        if (op && n == max) break;  // left in the ring for the next wait
        ++seen;
        bool last = !(cqe->flags & IORING_CQE_F_MORE);
        if (recvs_[slot].accept) {
          if (!op && cqe->res >= 0) ::close(cqe->res);  // accepted for an owner that is gone
          if (last) {
            if (op) op->tag = 0;
            free_recv(slot);
          }
          if (op)
            out[n++] = PollEvent{op, kRecvEvent | kAcceptEvent | (last ? 0 : kRecvMore), cqe->res,
                                 nullptr};
          continue;
        }
        const char* bytes = nullptr;
        if (cqe->flags & IORING_CQE_F_BUFFER) {  // lent with the event (or dropped with it)
          auto id = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          buffers_.taken();
          lent_.push_back(id);
          bytes = buffers_.bytes(id);
        }
        if (cqe->res == -ENOBUFS) buffers_.ran_out();
        if (last) {
          if (op) op->tag = 0;
          free_recv(slot);
        }
        if (op) out[n++] = PollEvent{op, kRecvEvent | (last ? 0 : kRecvMore), cqe->res, bytes};
        continue;
      }
      int fd = int(uint32_t(tag));
      Watch& w = watches_[fd];  // a tag names only fds the table has held
      bool current = w.active && request_tag(fd, w.generation) == tag;
      uint32_t bits = 0;
      if (current && cqe->res < 0 && cqe->res != -ECANCELED)
        bits = io::kError | io::kHangup;  // the request failed (EBADF...): the handler finds out
      else if (current && cqe->res > 0)
        bits = uint32_t(cqe->res) & (w.events | io::kError | io::kHangup);
      bool new_slot = bits && w.batch != batch_;
      if (new_slot && n == max) break;  // left in the ring for the next wait
      ++seen;
      bool last = !(cqe->flags & IORING_CQE_F_MORE);
      if (last && w.in_kernel == tag) w.in_kernel = 0;
      if (!current) continue;
      if (last) {
        if (cqe->res < 0 && cqe->res != -ECANCELED) w.failed = true;
        mark_dirty(fd, w);  // level: armed again for the next wait; edge: the kernel ended it
      }
      if (!bits) continue;
      if (new_slot) {
        w.batch = batch_;
        w.slot = n;
        out[n++] = PollEvent{w.data, bits, 0, nullptr};
      } else {
        out[w.slot].events |= bits;
      }
    }
    io_uring_cq_advance(&ring_, seen);
    return n;
  }

  io_uring ring_{};
  std::vector<Watch> watches_;  // by fd
  std::vector<int> dirty_;      // fds whose watch needs requests queued before the next wait
  std::vector<uint64_t> cancel_again_;  // requests whose cancellation the kernel refused
  std::vector<SendSlot> sends_;         // by slot
  std::vector<uint32_t> free_sends_;
  std::vector<uint32_t> staged_;  // slots to prepare before the next submission
  std::vector<RecvSlot> recvs_;   // by slot
  std::vector<uint32_t> free_recvs_;
  std::vector<uint32_t> staged_recvs_;  // receives to prepare before the next submission
  BufferRing buffers_;
  std::vector<uint16_t> lent_;  // buffers of reaped receives, not given back yet
  unsigned sends_busy_ = 0;     // slots staged or in the kernel
  uint64_t batch_ = 0;
  const char* owner_ = nullptr;  // the thread that waits
  bool accepts_ = false;         // multishot accepts (Loop::io_accept)
};

std::string describe(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Whether a multishot poll works here (Linux 5.13): one on a ready eventfd must complete and
// stay armed.
std::string probe_multishot(io_uring* ring) {
  int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return describe("eventfd", errno);
  std::string why;
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_poll_multishot(sqe, efd, POLLIN);
  io_uring_cqe* cqe = nullptr;
  int r = io_uring_submit_and_wait(ring, 1);
  if (r >= 0) r = io_uring_peek_cqe(ring, &cqe);
  if (r < 0)
    why = describe("a multishot poll request", -r);
  else if (cqe->res < 0)
    why = describe("a multishot poll request", -cqe->res);
  else if (!(cqe->flags & IORING_CQE_F_MORE))
    why = "multishot poll requests end at once (Linux 5.13 needed)";
  ::close(efd);
  return why;
}

std::string probe_uring() {
  io_uring ring;
  if (int err = io_uring_queue_init(4, &ring, 0)) return describe("io_uring_queue_init", -err);
  std::string why;
  if (!(ring.features & IORING_FEAT_EXT_ARG) || !(ring.features & IORING_FEAT_NODROP)) {
    why = "the kernel lacks IORING_FEAT_EXT_ARG or NODROP (Linux 5.11 needed)";
  } else if (io_uring_probe* probe = io_uring_get_probe_ring(&ring)) {
    if (!io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) ||
        !io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE))
      why = "the kernel lacks IORING_OP_POLL_ADD or POLL_REMOVE";
    io_uring_free_probe(probe);
  } else {
    why = "io_uring_get_probe failed";
  }
  if (why.empty()) why = probe_multishot(&ring);
  io_uring_queue_exit(&ring);
  return why;
}

// Whether multishot receives into a provided-buffer ring work here (Linux 6.0): one on a
// socket pair with a byte waiting must complete with a buffer and stay armed.
std::string probe_recv() {
  io_uring ring;
  if (int err = io_uring_queue_init(4, &ring, 0)) return describe("io_uring_queue_init", -err);
  std::string why;
  int fds[2] = {-1, -1};
  BufferRing buffers;
  if (int err = buffers.setup(&ring, 2, 64)) {
    why = describe("a provided-buffer ring (Linux 5.19 needed)", err);
  } else if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    why = describe("socketpair", errno);
  } else if (::send(fds[1], "x", 1, MSG_NOSIGNAL) != 1) {
    why = describe("send", errno);
  } else {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, fds[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_submit_and_wait(&ring, 1);
    if (r >= 0) r = io_uring_peek_cqe(&ring, &cqe);
    if (r < 0)
      why = describe("a multishot receive", -r);
    else if (cqe->res < 0)
      why = describe("a multishot receive (Linux 6.0 needed)", -cqe->res);
    else if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_BUFFER) ||
             !(cqe->flags & IORING_CQE_F_MORE))
      why = "multishot receives end at once or skip the buffer ring (Linux 6.0 needed)";
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  buffers.unregister(&ring);
  io_uring_queue_exit(&ring);
  return why;
}

// Whether multishot accepts work here (Linux 5.19): one on a listening Unix socket (an abstract
// name the kernel picks, so no file and no port) with a connection waiting must complete with
// an fd and stay armed.
std::string probe_accept() {
  io_uring ring;
  if (int err = io_uring_queue_init(4, &ring, 0)) return describe("io_uring_queue_init", -err);
  std::string why;
  int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  socklen_t len = sizeof addr;
  bool ready = server >= 0 && client >= 0 &&
               ::bind(server, sa, sizeof(sa_family_t)) == 0 &&  // autobind: the kernel names it
               ::listen(server, 4) == 0 && ::getsockname(server, sa, &len) == 0 &&
               ::connect(client, sa, len) == 0;
  if (!ready) {
    why = describe("a Unix socket pair to accept on", errno);
  } else {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_multishot_accept(sqe, server, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_submit_and_wait(&ring, 1);
    if (r >= 0) r = io_uring_peek_cqe(&ring, &cqe);
    if (r < 0)
      why = describe("a multishot accept", -r);
    else if (cqe->res < 0)
      why = describe("a multishot accept (Linux 5.19 needed)", -cqe->res);
    else if (!(cqe->flags & IORING_CQE_F_MORE))
      why = "multishot accepts end at once (Linux 5.19 needed)";
    if (r >= 0 && cqe->res >= 0) ::close(cqe->res);
  }
  for (int fd : {server, client})
    if (fd >= 0) ::close(fd);
  io_uring_queue_exit(&ring);
  return why;
}

}  // namespace

std::unique_ptr<Poller> make_uring_poller(unsigned sq_entries, unsigned cq_entries,
                                          unsigned recv_buffers, unsigned recv_buffer_size,
                                          bool accepts) {
  if (recv_buffers && !uring_recv_unavailable_reason().empty()) recv_buffers = 0;
  accepts = accepts && uring_accept_unavailable_reason().empty();
  return std::make_unique<UringPoller>(sq_entries, cq_entries, recv_buffers, recv_buffer_size,
                                       accepts);
}

const std::string& uring_accept_unavailable_reason() {
  static const std::string why = probe_accept();
  return why;
}

const std::string& uring_recv_unavailable_reason() {
  static const std::string why = probe_recv();
  return why;
}

const std::string& uring_unavailable_reason() {
  static const std::string why = probe_uring();
  return why;
}

}  // namespace brigade
