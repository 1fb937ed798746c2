#pragma once
// Reply: one value a Redis server sent (RESP2, and the RESP3 types the parser also reads).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::redis {

struct Reply {
  enum class Type : uint8_t {
    kNil,      // $-1, *-1, RESP3 _
    kString,   // bulk string $, verbatim =
    kStatus,   // +OK
    kError,    // -ERR ... (as an element of an array or EXEC reply; a top-level one throws)
    kInteger,  // :n
    kArray,    // *n, RESP3 set ~ and push >
    kMap,      // RESP3 %n: elements hold key, value, key, value...
    kDouble,   // RESP3 , (text in str, value in number)
    kBool,     // RESP3 # (integer 0 or 1)
  };
  Type type = Type::kNil;
  int64_t integer = 0;
  double number = 0;
  std::string str;
  std::vector<Reply> elements;

  bool is_nil() const noexcept { return type == Type::kNil; }
  bool is_error() const noexcept { return type == Type::kError; }
  bool is_array() const noexcept { return type == Type::kArray || type == Type::kMap; }
  // The text of a string or status reply, nullopt for nil; other types throw redis::Error.
  std::optional<std::string> as_string() const;
  // An integer reply, or a string holding one; other types throw redis::Error.
  int64_t as_integer() const;
  // "OK", "\"text\"", "(nil)", "1) ..." like redis-cli, for logs and test messages.
  std::string to_string() const;
};

std::string_view type_name(Reply::Type type) noexcept;

}  // namespace brigade::redis
