#pragma once
// Passing fds between processes over a Unix SOCK_SEQPACKET socket (SCM_RIGHTS): one fd per
// packet, so a packet boundary never splits a control message.
namespace brigade::process::detail {

// Sends `fd` (non-blocking). Returns 0 or an errno (EAGAIN when the socket is full).
int send_fd(int sock, int fd) noexcept;
// Receives one fd (O_CLOEXEC). Returns the fd, or -errno (-EAGAIN: none now; -EPIPE: peer gone).
int recv_fd(int sock) noexcept;

}  // namespace brigade::process::detail
