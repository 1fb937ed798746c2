#pragma once
// The process-wide reaper: children whose Child was dropped while they still ran. One thread
// (started on first use, signals blocked) polls their pidfds and reaps each when it exits, so no
// zombie is left and nothing depends on the loop that spawned them still existing.
namespace brigade::process::detail {

// Takes ownership of the pidfd of a running child of this process.
void reap_later(int pidfd) noexcept;

}  // namespace brigade::process::detail
