#pragma once
// Transport: the byte stream under a server connection. Plaintext goes straight to the
// net::Stream (direct calls, no indirection on the hot path); a Filter plugged in by the code
// that accepts the connection (TLS) takes every read and write instead when set. The filter
// moves its own bytes through the same socket, so the socket's hooks, queue and close serve both.
#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http::detail {

// A byte transform over the socket (TLS records). Contract, as net::Stream's non-suspending API:
// try_read returns -EAGAIN only once the socket itself said so (the read hook is edge-triggered:
// a filter that stops early must not lose the edge); write_nowait never suspends and leaves its
// output in the socket's write queue, so write_queue_size() and the drain hook keep meaning
// "bytes the peer has not taken yet".
class Filter {
 public:
  virtual ~Filter() = default;
  virtual long try_read(net::Stream& socket, std::span<char> buf) noexcept = 0;
  virtual long try_peek(net::Stream& socket, std::span<char> buf) noexcept = 0;
  virtual int write_nowait(net::Stream& socket, std::span<const char> bytes) noexcept = 0;
  virtual Task<void> write(net::Stream& socket, std::span<const char> bytes) = 0;
  virtual void end(net::Stream& socket) noexcept = 0;  // close_notify, then half-close
};

struct Transport {
  net::Stream socket;
  std::unique_ptr<Filter> filter;  // null: plaintext

  long try_read(std::span<char> buf) noexcept {
    if (filter) [[unlikely]]
      return filter->try_read(socket, buf);
    return socket.try_read(buf);
  }
  long try_peek(std::span<char> buf) noexcept {
    if (filter) [[unlikely]]
      return filter->try_peek(socket, buf);
    return socket.try_peek(buf);
  }
  int write_nowait(std::string_view bytes) noexcept {
    if (filter) [[unlikely]]
      return filter->write_nowait(socket, std::span<const char>(bytes.data(), bytes.size()));
    return socket.write_nowait(bytes);
  }
  void end() noexcept {
    if (filter) [[unlikely]]
      return filter->end(socket);
    socket.end();
  }
  void close() noexcept { socket.close(); }
};

}  // namespace brigade::http::detail
