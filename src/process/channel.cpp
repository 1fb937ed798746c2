// Channel: length-prefixed frames over a stream socket.
#include "brigade/process/channel.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "brigade/error.hpp"

namespace brigade::process {

namespace {
void put_length(char out[4], uint32_t n) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
}
uint32_t get_length(const char* in) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t(static_cast<unsigned char>(in[i])) << (8 * i);
  return n;
}
}  // namespace

Task<void> Channel::send(std::string_view message) {
  if (message.size() > kMaxMessage) throw Error(EMSGSIZE, "send");
  char header[4];
  put_length(header, static_cast<uint32_t>(message.size()));
  // Both halves go into the stream's FIFO at once, so concurrent senders never interleave.
  if (int err = stream_.write_nowait(std::span<const char>(header, 4))) throw Error(err, "send");
  if (int err = stream_.write_nowait(message)) throw Error(err, "send");
  if (stream_.write_queue_size() > stream_.high_water_mark()) co_await stream_.flush();
}

std::optional<std::string> Channel::take_frame() {
  std::size_t have = in_.size() - used_;
  if (have < 4) return std::nullopt;
  uint32_t n = get_length(in_.data() + used_);
  if (n > kMaxMessage) throw Error(EMSGSIZE, "receive");
  if (have < 4 + std::size_t(n)) return std::nullopt;
  std::string msg = in_.substr(used_ + 4, n);
  used_ += 4 + std::size_t(n);
  return msg;
}

Task<std::optional<std::string>> Channel::receive(std::stop_token token) {
  char buf[16384];
  for (;;) {
    if (auto msg = take_frame()) co_return msg;
    std::size_t n = co_await stream_.read(buf, token);
    if (n == 0) co_return std::nullopt;
    in_.erase(0, std::exchange(used_, 0));  // drop what was returned, once per read
    in_.append(buf, n);
  }
}

std::optional<Channel> parent_channel(Loop& loop) {
  const char* value = std::getenv(kChannelFdEnv);
  if (!value) return std::nullopt;
  int fd = std::atoi(value);
  ::unsetenv(kChannelFdEnv);
  if (fd < 0) return std::nullopt;
  return Channel::adopt(loop, fd);
}

}  // namespace brigade::process
