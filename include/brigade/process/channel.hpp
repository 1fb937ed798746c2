#pragma once
// Channel: messages between a parent and a child that is itself a brigade program (Node's
// process.send / 'message'). Frames are a 4-byte little-endian length then the bytes, over a
// Unix socketpair whose child end is passed as an inherited fd named by the environment
// variable BRIGADE_CHANNEL_FD (Node's NODE_CHANNEL_FD).
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"

namespace brigade::process {

inline constexpr const char* kChannelFdEnv = "BRIGADE_CHANNEL_FD";
inline constexpr std::size_t kMaxMessage = 64u << 20;  // a bigger frame is a protocol error

class Channel {
 public:
  Channel() noexcept = default;
  explicit Channel(net::Stream stream) noexcept : stream_(std::move(stream)) {}
  // Takes ownership of a connected stream socket.
  static Channel adopt(Loop& loop, int fd) { return Channel(net::Stream::adopt(loop, fd)); }

  // Queues one message (never interleaved with another send); waits only while the peer is
  // slower than the high-water mark. Throws Error (EPIPE... once the peer is gone).
  Task<void> send(std::string_view message);
  // The next message, or nullopt when the peer closed its end. Throws Error(EMSGSIZE) for a
  // frame above kMaxMessage, CancelledError when the token is stopped.
  Task<std::optional<std::string>> receive(std::stop_token token = {});

  bool is_open() const noexcept { return stream_.is_open(); }
  void close() noexcept { stream_.close(); }
  // An open channel keeps the loop alive while a receive() is pending... unless unref()'d.
  void ref() noexcept { stream_.ref(); }
  void unref() noexcept { stream_.unref(); }
  net::Stream& stream() noexcept { return stream_; }

 private:
  std::optional<std::string> take_frame();
  net::Stream stream_;
  std::string in_;  // bytes read; those before used_ were already returned
  std::size_t used_ = 0;
};

// In a child spawned with SpawnOptions::ipc: the channel to the parent (the variable is removed
// from the environment so our own children do not inherit it). nullopt when not given one.
std::optional<Channel> parent_channel(Loop& loop);

}  // namespace brigade::process
