#pragma once
// The readiness bits an IoWatch asks for and its handler receives, the same whatever backend the
// loop polls with (src/loop/poller.hpp). Their values are poll(2)'s, which epoll and io_uring's
// poll requests share, so a backend hands them to the kernel as they are.
#include <cstdint>

namespace brigade::io {
inline constexpr uint32_t kReadable = 0x001;     // POLLIN
inline constexpr uint32_t kWritable = 0x004;     // POLLOUT
inline constexpr uint32_t kError = 0x008;        // POLLERR (always reported)
inline constexpr uint32_t kHangup = 0x010;       // POLLHUP (always reported)
inline constexpr uint32_t kPeerClosed = 0x2000;  // POLLRDHUP: the peer shut down its writing side
inline constexpr uint32_t kEdge = 1u << 31;      // report a change once, not while it holds
}  // namespace brigade::io
