#pragma once
// Large blocks stay in the heap once a process hands messages between threads.
//
// glibc serves blocks above 128 KiB with mmap, or, once one was freed, from the heap while any
// free space above 2 x that size at the heap's top goes back to the kernel at once. A stream of
// 1 MiB buffers made on one thread and freed on another therefore gave its pages back on nearly
// every free and faulted them in again on the next allocation: 256 page faults and a zeroed MiB
// per message, most of a move's ~1 ms (issue 15). Raising both thresholds keeps freed large blocks
// for the next message; Node's ArrayBuffer allocator keeps its memory the same way.
namespace brigade::detail {

// Once per process, before the first worker thread or port delivery: M_MMAP_THRESHOLD 32 MiB (the
// most glibc allows), M_TRIM_THRESHOLD 64 MiB. Left alone if the user tuned malloc through its
// environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES), or without glibc.
// malloc_trim(0) still returns every free page (the HTTP server calls it after a burst of closes).
void keep_large_blocks_in_heap() noexcept;

}  // namespace brigade::detail
