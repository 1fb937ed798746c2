#include "brigade/task/frame_cache.hpp"

namespace brigade::detail {

namespace {
// Its destructor runs when the thread exits (after it was first touched): the cached frames go
// back to the allocator, and frames freed later (by other thread_local destructors) bypass it.
struct FrameCacheFlush {
  ~FrameCacheFlush() {
    FrameCache& f = t_frames;
    f.gone = true;
    for (std::size_t c = 0; c < FrameCache::kClasses; ++c) {
      while (void* p = f.head[c]) {
        f.head[c] = *static_cast<void**>(p);
        std::free(p);
      }
      f.count[c] = 0;
    }
  }
};
}  // namespace

void register_frame_cache_flush() {
  thread_local FrameCacheFlush flush;
  (void)flush;  // odr-use: constructs it, so its destructor runs at thread exit
  t_frames.registered = true;
}

}  // namespace brigade::detail
