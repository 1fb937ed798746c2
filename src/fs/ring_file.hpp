#pragma once
// Whole-file reads through the loop's io_uring ring (Loop::io_file) instead of a pool job:
// open, then reads, on the loop thread's ring; fstat and close are done inline (neither waits on
// the disk for a file opened to read); files over 64 KiB are read on the pool from the fd the
// ring opened. BRIGADE_FS=ring|pool chooses (read at each call; the ring by default).
#include <string>

#include "brigade/loop/loop.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::fs::detail {

// The loop whose ring reads files for a call on `pool`, or null: the pool then does it (only the
// shared pool's callers are moved to the ring; one who passes a pool of their own keeps it).
Loop* ring_loop(ThreadPool& pool) noexcept;

// The file's bytes (on the shared pool after all if the ring will not take the open now).
// Throws Error as the pool's read does: "open '<path>'", "read '<path>'" (EISDIR).
template <typename Buffer>
Task<Buffer> read_on_ring(Loop& loop, std::string path);

}  // namespace brigade::fs::detail
