#include "brigade/pool/thread_pool.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "brigade/loop/thread.hpp"

namespace brigade {

std::size_t ThreadPool::default_size() {
  if (const char* env = std::getenv("BRIGADE_THREADPOOL_SIZE")) {
    long n = std::strtol(env, nullptr, 10);
    if (n >= 1 && n <= 1024) return static_cast<std::size_t>(n);
  }
  return 4;
}

ThreadPool& ThreadPool::shared() {
  static ThreadPool* pool = new ThreadPool();  // never destroyed: loops may outlive statics
  return *pool;
}

ThreadPool::ThreadPool(std::size_t threads) : core_(std::make_shared<detail::ThreadPoolCore>()) {
  threads = std::max<std::size_t>(threads, 1);
  core_->threads = threads;
  threads_.reserve(threads);
  detail::ThreadPoolCore* core = core_.get();  // the threads end before the pool drops core_
  for (std::size_t i = 0; i < threads; ++i)
    threads_.push_back(start_thread("brigade-pool", [core] { core->worker_main(); }));
}

ThreadPool::~ThreadPool() {
  std::deque<detail::PoolWork*> orphans;
  {
    std::lock_guard lock(core_->mu);
    core_->stopping = true;
    for (auto* q : {&core_->fast, &core_->slow}) {
      for (auto* w : *q) {
        assert(w->state == detail::PoolWork::State::kQueued);
        w->state = detail::PoolWork::State::kCancelled;
        ++core_->cancelled;
        orphans.push_back(w);
      }
      q->clear();
    }
  }
  core_->cv.notify_all();
  for (auto& t : threads_) t.join();  // running work finishes; each thread hands it back
  // Outside the lock: finish() posts, which takes the LoopHandle's lock (never under another).
  for (auto* w : orphans) detail::ThreadPoolCore::finish(w);
}

std::size_t ThreadPool::queue_depth() const {
  std::lock_guard lock(core_->mu);
  return core_->fast.size() + core_->slow.size();
}

ThreadPoolStats ThreadPool::stats() const {
  std::lock_guard lock(core_->mu);
  ThreadPoolStats s;
  s.threads = threads_.size();
  s.queued = core_->fast.size() + core_->slow.size();
  s.running = core_->running;
  s.completed = core_->completed;
  s.cancelled = core_->cancelled;
  s.wait_ns = core_->wait_ns;
  s.run_ns = core_->run_ns;
  return s;
}

namespace detail {

void ThreadPoolCore::enqueue(PoolWork* w) {
  w->enqueued_ns = Loop::hrtime();
  {
    std::lock_guard lock(mu);
    if (stopping) {
      w->state = PoolWork::State::kCancelled;
    } else {
      (w->kind == WorkKind::kSlow ? slow : fast).push_back(w);
      w = nullptr;
    }
  }
  if (w) {
    finish(w);
    return;
  }
  cv.notify_one();
}

bool ThreadPoolCore::cancel(PoolWork* w) {
  std::lock_guard lock(mu);
  if (w->state != PoolWork::State::kQueued) return false;
  auto& q = w->kind == WorkKind::kSlow ? slow : fast;
  auto it = std::find(q.begin(), q.end(), w);
  if (it == q.end()) return false;
  q.erase(it);
  w->state = PoolWork::State::kCancelled;
  ++cancelled;
  return true;
}

// Oldest first, but slow work only while it holds fewer than half of the threads.
PoolWork* ThreadPoolCore::next_locked() {
  bool slow_ok = !slow.empty() && running_slow < (threads + 1) / 2;
  if (!fast.empty() && (!slow_ok || fast.front()->enqueued_ns <= slow.front()->enqueued_ns)) {
    auto* w = fast.front();
    fast.pop_front();
    return w;
  }
  if (slow_ok) {
    auto* w = slow.front();
    slow.pop_front();
    ++running_slow;
    return w;
  }
  return nullptr;
}

void ThreadPoolCore::worker_main() {
  std::unique_lock lock(mu);
  for (;;) {
    PoolWork* w = nullptr;
    cv.wait(lock, [&] { return stopping || (w = next_locked()) != nullptr; });
    if (!w) return;
    assert(w->state == PoolWork::State::kQueued);
    w->state = PoolWork::State::kRunning;
    ++running;
    uint64_t start = Loop::hrtime();
    wait_ns.record(start - w->enqueued_ns);
    lock.unlock();
    w->execute(w);
    uint64_t end = Loop::hrtime();
    lock.lock();
    run_ns.record(end - start);
    --running;
    if (w->kind == WorkKind::kSlow) {
      --running_slow;
      cv.notify_one();  // a slow item may be waiting for this slot
    }
    ++completed;
    assert(w->state == PoolWork::State::kRunning);
    w->state = PoolWork::State::kDone;
    lock.unlock();
    finish(w);  // never under the pool's lock: a post takes the LoopHandle's
    lock.lock();
  }
}

// Hands the work back to its loop; if the loop is gone, only the pool's reference is dropped.
void ThreadPoolCore::finish(PoolWork* w) {
  auto handle = w->loop_handle;
  if (!handle || !handle->post([w] { complete_on_loop(w); })) w->release();
}

void ThreadPoolCore::complete_on_loop(PoolWork* w) {
  w->loop->unref();
  if (auto h = std::exchange(w->waiter, nullptr)) {
    w->release();
    h.resume();
    return;
  }
  w->release();
}

}  // namespace detail

}  // namespace brigade
