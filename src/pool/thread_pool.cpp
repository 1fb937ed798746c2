#include "brigade/pool/thread_pool.hpp"

#include <algorithm>
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

ThreadPool::ThreadPool(std::size_t threads) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.push_back(start_thread("brigade-pool", [this] { worker_main(); }));
}

ThreadPool::~ThreadPool() {
  std::deque<detail::PoolWork*> orphans;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto* q : {&fast_, &slow_}) {
      for (auto* w : *q) {
        w->state = detail::PoolWork::State::kCancelled;
        orphans.push_back(w);
      }
      q->clear();
    }
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto* w : orphans) finish(w);
}

std::size_t ThreadPool::queue_depth() const {
  std::lock_guard lock(mu_);
  return fast_.size() + slow_.size();
}

ThreadPoolStats ThreadPool::stats() const {
  std::lock_guard lock(mu_);
  ThreadPoolStats s;
  s.threads = threads_.size();
  s.queued = fast_.size() + slow_.size();
  s.running = running_;
  s.completed = completed_;
  s.cancelled = cancelled_;
  s.wait_ns = wait_ns_;
  s.run_ns = run_ns_;
  return s;
}

void ThreadPool::enqueue(detail::PoolWork* w) {
  w->enqueued_ns = Loop::hrtime();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      w->state = detail::PoolWork::State::kCancelled;
    } else {
      (w->kind == WorkKind::kSlow ? slow_ : fast_).push_back(w);
      w = nullptr;
    }
  }
  if (w) {
    finish(w);
    return;
  }
  cv_.notify_one();
}

bool ThreadPool::cancel(detail::PoolWork* w) {
  std::lock_guard lock(mu_);
  if (w->state != detail::PoolWork::State::kQueued) return false;
  auto& q = w->kind == WorkKind::kSlow ? slow_ : fast_;
  auto it = std::find(q.begin(), q.end(), w);
  if (it == q.end()) return false;
  q.erase(it);
  w->state = detail::PoolWork::State::kCancelled;
  ++cancelled_;
  return true;
}

// Oldest first, but slow work only while it holds fewer than half of the threads.
detail::PoolWork* ThreadPool::next_locked() {
  bool slow_ok = !slow_.empty() && running_slow_ < (threads_.size() + 1) / 2;
  if (!fast_.empty() && (!slow_ok || fast_.front()->enqueued_ns <= slow_.front()->enqueued_ns)) {
    auto* w = fast_.front();
    fast_.pop_front();
    return w;
  }
  if (slow_ok) {
    auto* w = slow_.front();
    slow_.pop_front();
    ++running_slow_;
    return w;
  }
  return nullptr;
}

void ThreadPool::worker_main() {
  std::unique_lock lock(mu_);
  for (;;) {
    detail::PoolWork* w = nullptr;
    cv_.wait(lock, [&] { return stopping_ || (w = next_locked()) != nullptr; });
    if (!w) return;
    w->state = detail::PoolWork::State::kRunning;
    ++running_;
    uint64_t start = Loop::hrtime();
    wait_ns_.record(start - w->enqueued_ns);
    lock.unlock();
    w->execute(w);
    uint64_t end = Loop::hrtime();
    lock.lock();
    run_ns_.record(end - start);
    --running_;
    if (w->kind == WorkKind::kSlow) {
      --running_slow_;
      cv_.notify_one();  // a slow item may be waiting for this slot
    }
    ++completed_;
    w->state = detail::PoolWork::State::kDone;
    lock.unlock();
    finish(w);
    lock.lock();
  }
}

// Hands the work back to its loop; if the loop is gone, only the pool's reference is dropped.
void ThreadPool::finish(detail::PoolWork* w) {
  auto handle = w->loop_handle;
  if (!handle || !handle->post([w] { complete_on_loop(w); })) w->release();
}

void ThreadPool::complete_on_loop(detail::PoolWork* w) {
  w->loop->unref();
  if (auto h = std::exchange(w->waiter, nullptr)) {
    w->release();
    h.resume();
    return;
  }
  w->release();
}

}  // namespace brigade
