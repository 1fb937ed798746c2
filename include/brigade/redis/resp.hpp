#pragma once
// RESP, Redis's wire format: encoding commands and parsing replies from untrusted bytes.
//
// RespParser is incremental: bytes are appended as they arrive (prepare/commit write straight
// into its buffer, so a socket read copies nothing), and next() returns each complete reply.
// It never re-reads a finished element: an array's elements are taken one by one as they
// complete, so a large reply arriving in many reads costs linear time. Limits: a bulk string of
// at most 512 MiB (the server's own limit), a line of at most 64 KiB, nesting of 64 levels;
// anything else that is not RESP2/RESP3 is a protocol error (the connection must be closed).
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/redis/reply.hpp"

namespace brigade::redis {

// Appends one command (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::initializer_list<std::string_view> args);
void append_command(std::string& out, const std::vector<std::string>& args);

class RespParser {
 public:
  enum class Status { kReply, kNeedMore, kError };

  // Room for at least `min` more bytes; write into it, then commit() how many were written.
  std::span<char> prepare(std::size_t min = 16 * 1024);
  void commit(std::size_t n) noexcept { size_ += n; }
  void feed(std::string_view bytes);  // prepare + copy + commit

  // kReply fills `out`; kNeedMore: wait for more bytes; kError: see error(), stays failed.
  Status next(Reply& out);
  const std::string& error() const noexcept { return error_; }
  std::size_t buffered() const noexcept { return size_ - pos_; }

 private:
  enum class Step { kValue, kOpen, kNeedMore, kError };
  Step parse_one(Reply& value, std::size_t& count);
  bool fail(std::string message);

  struct Frame {
    Reply reply;
    std::size_t remaining;
  };
  std::vector<char> buf_;
  std::size_t pos_ = 0;   // first unparsed byte
  std::size_t size_ = 0;  // bytes in buf_
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace brigade::redis
