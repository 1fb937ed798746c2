#include "json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

namespace brigade::http::detail {

namespace {

// Writes through a raw pointer into a buffer's bytes: a token is a bounds check and a memcpy,
// where string::append is a call per token (most tokens here are a few bytes long).
class Writer {
 public:
  explicit Writer(std::string& buffer)
      : buf_(buffer), p_(buffer.data()), end_(buffer.data() + buffer.size()) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void ensure(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) grow(n);
  }
  void put(char c) { *p_++ = c; }  // after ensure()
  void put(const char* s, std::size_t n) {
    std::memcpy(p_, s, n);
    p_ += n;
  }
  template <std::size_t N>
  void literal(const char (&s)[N]) {
    ensure(N - 1);
    put(s, N - 1);
  }
  char* cursor() { return p_; }
  void advance_to(char* p) { p_ = p; }
  std::string_view text() const {
    return {buf_.data(), static_cast<std::size_t>(p_ - buf_.data())};
  }

 private:
  // Capacity doubles, but only a few KiB past the cursor are zero-filled (resize's cost).
  void grow(std::size_t n) {
    const auto used = static_cast<std::size_t>(p_ - buf_.data());
    const std::size_t want = used + n + std::clamp<std::size_t>(used / 4, 256, 4096);
    if (want > buf_.capacity()) buf_.reserve(std::max(want, 2 * buf_.capacity()));
    buf_.resize(want);
    p_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
  }

  std::string& buf_;
  char* p_;
  char* end_;
};

// Bytes a JSON string cannot hold as they are (quote, backslash, controls) and bytes of
// multi-byte UTF-8, which dump() validates: any of them leaves the plain-copy path.
constexpr bool needs_care(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

void write_escaped(Writer& w, const std::string& s, std::size_t plain) {
  static constexpr char kHex[] = "0123456789abcdef";
  w.ensure(2 + plain + 6 * (s.size() - plain));
  w.put('"');
  w.put(s.data(), plain);
  for (std::size_t i = plain; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        w.put("\\\"", 2);
        break;
      case '\\':
        w.put("\\\\", 2);
        break;
      case '\b':
        w.put("\\b", 2);
        break;
      case '\f':
        w.put("\\f", 2);
        break;
      case '\n':
        w.put("\\n", 2);
        break;
      case '\r':
        w.put("\\r", 2);
        break;
      case '\t':
        w.put("\\t", 2);
        break;
      default:
        if (c < 0x20) {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          w.put(esc, 6);
        } else {
          w.put(static_cast<char>(c));
        }
    }
  }
  w.put('"');
}

void write_string(Writer& w, const std::string& s) {
  std::size_t plain = 0;
  const std::size_t n = s.size();
  while (plain < n && !needs_care(static_cast<unsigned char>(s[plain]))) ++plain;
  if (plain == n) {  // the common case: plain ASCII, copied whole
    w.ensure(n + 2);
    w.put('"');
    w.put(s.data(), n);
    w.put('"');
    return;
  }
  for (std::size_t i = plain; i < n; ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) {  // dump() validates UTF-8, says where it fails
      std::string quoted = nlohmann::json(s).dump();
      w.ensure(quoted.size());
      w.put(quoted.data(), quoted.size());
      return;
    }
  }
  write_escaped(w, s, plain);
}

template <typename Int>
void write_integer(Writer& w, Int v) {
  w.ensure(24);
  auto [end, ec] = std::to_chars(w.cursor(), w.cursor() + 24, v);
  w.advance_to(end);
}

void write_value(Writer& w, const nlohmann::json& value) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::null:
      w.literal("null");
      return;
    case Type::boolean:
      if (value.get_ref<const bool&>())
        w.literal("true");
      else
        w.literal("false");
      return;
    case Type::number_integer:
      write_integer(w, value.get_ref<const int64_t&>());
      return;
    case Type::number_unsigned:
      write_integer(w, value.get_ref<const uint64_t&>());
      return;
    case Type::string:
      write_string(w, value.get_ref<const std::string&>());
      return;
    case Type::array: {
      w.literal("[");
      bool first = true;
      for (const auto& element : value.get_ref<const nlohmann::json::array_t&>()) {
        if (!first) w.literal(",");
        first = false;
        write_value(w, element);
      }
      w.literal("]");
      return;
    }
    case Type::object: {
      w.literal("{");
      bool first = true;
      for (const auto& [key, element] : value.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) w.literal(",");
        first = false;
        write_string(w, key);
        w.literal(":");
        write_value(w, element);
      }
      w.literal("}");
      return;
    }
    default: {  // floats (dump()'s shortest round-trip form), binary, discarded: dump() itself
      std::string text = value.dump();
      w.ensure(text.size());
      w.put(text.data(), text.size());
      return;
    }
  }
}

}  // namespace

void append_json_text(std::string& out, const nlohmann::json& value) {
  // Serialized in a per-thread buffer that keeps its size, then copied once into `out` (sized
  // exactly): growing a fresh string per answer costs page faults and copies on every answer,
  // and a document dump() refuses leaves `out` untouched.
  constexpr std::size_t kKeep = std::size_t{1} << 20;
  thread_local std::string scratch;
  {
    Writer w(scratch);
    write_value(w, value);
    out.append(w.text());
  }
  if (scratch.size() > kKeep) std::string().swap(scratch);  // a one-off huge document is not kept
}

}  // namespace brigade::http::detail
