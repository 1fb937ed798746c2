#pragma once
// Where Task coroutine frames come from. A frame is allocated and freed at every co_await of a
// task, and malloc+free were half the instructions of an await: each thread keeps a few freed
// frames per size class for its next ones. Sanitizer builds use plain new/delete, so that ASan
// still sees a frame used after it is freed.
#include <cstddef>
#include <cstdlib>
#include <new>

namespace brigade::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BRIGADE_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define BRIGADE_FRAME_CACHE 0
#endif
#endif
#ifndef BRIGADE_FRAME_CACHE
#define BRIGADE_FRAME_CACHE 1
#endif

struct FrameCache {
  static constexpr std::size_t kGranule = 64;  // size classes of 64 bytes, up to 2 KiB
  static constexpr std::size_t kClasses = 32;
  static constexpr unsigned kKeep = 16;  // frames kept per class: at most ~0.5 MiB a thread
  void* head[kClasses];
  unsigned count[kClasses];
  bool registered;  // the thread-exit flush is set up
  bool gone;        // the thread is exiting: frames freed from now on go to the allocator
};
// Trivially constructed and destroyed: no guard on the hot path; the flush is a separate object.
inline constinit thread_local FrameCache t_frames{};

// Sets up the flush of this thread's cached frames when it exits (frame_cache.cpp).
void register_frame_cache_flush();

// malloc itself: operator new's handler loop costs as much again as the cache's hit path.
inline void* malloc_frame(std::size_t n) {
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}

inline void* allocate_frame(std::size_t n) {
#if BRIGADE_FRAME_CACHE
  const std::size_t c = (n - 1) / FrameCache::kGranule;
  if (c < FrameCache::kClasses) {
    FrameCache& f = t_frames;
    if (void* p = f.head[c]) {
      f.head[c] = *static_cast<void**>(p);
      --f.count[c];
      return p;
    }
    return malloc_frame((c + 1) * FrameCache::kGranule);  // any frame of its class fits it
  }
#endif
  return malloc_frame(n);
}

inline void free_frame(void* p, [[maybe_unused]] std::size_t n) noexcept {
#if BRIGADE_FRAME_CACHE
  const std::size_t c = (n - 1) / FrameCache::kGranule;
  FrameCache& f = t_frames;
  if (c < FrameCache::kClasses && f.count[c] < FrameCache::kKeep && !f.gone) {
    if (!f.registered) register_frame_cache_flush();
    *static_cast<void**>(p) = f.head[c];
    f.head[c] = p;
    ++f.count[c];
    return;
  }
#endif
  std::free(p);
}

}  // namespace brigade::detail
