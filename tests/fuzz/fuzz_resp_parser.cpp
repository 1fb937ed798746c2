// libFuzzer target: RespParser on arbitrary bytes, fed whole and in pieces the first byte picks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "brigade/redis/resp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using brigade::redis::Reply;
  using brigade::redis::RespParser;
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 16;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  RespParser whole, split;
  Reply r;
  std::size_t whole_replies = 0, split_replies = 0;
  RespParser::Status ws, ss = RespParser::Status::kNeedMore;
  whole.feed(bytes);
  while ((ws = whole.next(r)) == RespParser::Status::kReply) {
    ++whole_replies;
    (void)r.to_string();
  }
  for (std::size_t at = 0; at < bytes.size() && ss != RespParser::Status::kError; at += piece) {
    split.feed(bytes.substr(at, piece));
    while ((ss = split.next(r)) == RespParser::Status::kReply) ++split_replies;
  }
  // Cutting the input anywhere must not change what is parsed.
  if (ws != ss || whole_replies != split_replies) __builtin_trap();
  return 0;
}
