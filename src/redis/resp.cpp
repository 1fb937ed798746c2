// RESP encoding and the incremental reply parser (untrusted bytes: tests/fuzz/fuzz_resp_parser).
#include "brigade/redis/resp.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "brigade/redis/error.hpp"

namespace brigade::redis {

namespace {

constexpr std::size_t kMaxBulk = 512u * 1024 * 1024;
constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxDepth = 64;

void append_number(std::string& out, char prefix, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  out += prefix;
  out.append(digits, end);
  out += "\r\n";
}

template <typename Range>
void append_all(std::string& out, const Range& args) {
  append_number(out, '*', args.size());
  for (std::string_view a : args) {
    append_number(out, '$', a.size());
    out.append(a);
    out += "\r\n";
  }
}

bool parse_int(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_all(out, args);
}
void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_all(out, args);
}
void append_command(std::string& out, const std::vector<std::string>& args) {
  append_all(out, args);
}

std::span<char> RespParser::prepare(std::size_t min) {
  if (pos_ > 0 && (pos_ == size_ || pos_ >= buf_.size() / 2)) {  // drop what was parsed
    std::memmove(buf_.data(), buf_.data() + pos_, size_ - pos_);
    size_ -= pos_;
    pos_ = 0;
  }
  if (buf_.size() - size_ < min) buf_.resize(size_ + std::max(min, buf_.size()));
  return {buf_.data() + size_, buf_.size() - size_};
}

void RespParser::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  std::span<char> room = prepare(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

bool RespParser::fail(std::string message) {
  error_ = std::move(message);
  return false;
}

// One element at pos_: a complete scalar (kValue), an aggregate's header (kOpen, `count`
// elements follow), or nothing consumed (kNeedMore / kError).
RespParser::Step RespParser::parse_one(Reply& value, std::size_t& count) {
  const char* begin = buf_.data() + pos_;
  std::size_t avail = size_ - pos_;
  if (avail < 1) return Step::kNeedMore;
  const void* cr = std::memchr(begin, '\r', std::min(avail, kMaxLine + 1));
  if (!cr) {
    if (avail > kMaxLine) return fail("RESP line too long"), Step::kError;
    return Step::kNeedMore;
  }
  std::size_t line_len = static_cast<const char*>(cr) - begin;
  if (line_len + 1 >= avail) return Step::kNeedMore;  // the '\n' has not come
  if (begin[line_len + 1] != '\n') return fail("RESP line without LF"), Step::kError;
  if (line_len == 0) return fail("empty RESP line"), Step::kError;
  char type = begin[0];
  std::string_view line(begin + 1, line_len - 1);
  std::size_t after_line = line_len + 2;
  value = Reply{};

  auto bulk = [&](Reply::Type t) -> Step {
    int64_t n = 0;
    if (!parse_int(line, n) || n < -1) return fail("bad RESP length"), Step::kError;
    if (n == -1) {
      pos_ += after_line;
      return Step::kValue;  // nil
    }
    if (static_cast<uint64_t>(n) > kMaxBulk) return fail("RESP bulk string too long"), Step::kError;
    std::size_t need = after_line + static_cast<std::size_t>(n) + 2;
    if (avail < need) return Step::kNeedMore;
    if (begin[need - 2] != '\r' || begin[need - 1] != '\n')
      return fail("RESP bulk string without CRLF"), Step::kError;
    value.type = t;
    value.str.assign(begin + after_line, static_cast<std::size_t>(n));
    pos_ += need;
    return Step::kValue;
  };
  auto aggregate = [&](Reply::Type t, std::size_t per_entry) -> Step {
    int64_t n = 0;
    if (!parse_int(line, n) || n < -1) return fail("bad RESP count"), Step::kError;
    pos_ += after_line;
    if (n == -1) return Step::kValue;  // nil array
    if (static_cast<uint64_t>(n) > (uint64_t{1} << 32))
      return fail("RESP count too large"), Step::kError;
    value.type = t;
    count = static_cast<std::size_t>(n) * per_entry;
    return count == 0 ? Step::kValue : Step::kOpen;
  };

  switch (type) {
    case '+':
    case '-':
      value.type = type == '+' ? Reply::Type::kStatus : Reply::Type::kError;
      value.str.assign(line);
      pos_ += after_line;
      return Step::kValue;
    case ':':
    case '(':  // RESP3 big number: kept as text when it does not fit
      if (parse_int(line, value.integer)) {
        value.type = Reply::Type::kInteger;
      } else if (type == '(' && !line.empty()) {
        value.type = Reply::Type::kString;
        value.str.assign(line);
      } else {
        return fail("bad RESP integer"), Step::kError;
      }
      pos_ += after_line;
      return Step::kValue;
    case '$':
    case '=':
      return bulk(Reply::Type::kString);
    case '!': {
      Step s = bulk(Reply::Type::kError);
      if (s == Step::kValue && value.is_nil()) return fail("nil RESP blob error"), Step::kError;
      return s;
    }
    case '_':
      if (!line.empty()) return fail("bad RESP null"), Step::kError;
      pos_ += after_line;
      return Step::kValue;
    case '#':
      if (line != "t" && line != "f") return fail("bad RESP boolean"), Step::kError;
      value.type = Reply::Type::kBool;
      value.integer = line == "t";
      pos_ += after_line;
      return Step::kValue;
    case ',': {
      std::string text(line);
      char* end = nullptr;
      value.number = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        return fail("bad RESP double"), Step::kError;
      value.type = Reply::Type::kDouble;
      value.str = std::move(text);
      pos_ += after_line;
      return Step::kValue;
    }
    case '*':
    case '~':
    case '>':
      return aggregate(Reply::Type::kArray, 1);
    case '%':
      return aggregate(Reply::Type::kMap, 2);
    default:
      return fail(std::string("unknown RESP type byte ") + std::to_string(int(uint8_t(type)))),
             Step::kError;
  }
}

RespParser::Status RespParser::next(Reply& out) {
  if (!error_.empty()) return Status::kError;
  for (;;) {
    Reply value;
    std::size_t count = 0;
    switch (parse_one(value, count)) {
      case Step::kNeedMore:
        return Status::kNeedMore;
      case Step::kError:
        stack_.clear();
        return Status::kError;
      case Step::kOpen:
        if (stack_.size() >= kMaxDepth) {
          fail("RESP nesting too deep");
          stack_.clear();
          return Status::kError;
        }
        value.elements.reserve(std::min<std::size_t>(count, 1024));
        stack_.push_back(Frame{std::move(value), count});
        continue;
      case Step::kValue:
        break;
    }
    // A complete value: it finishes the reply or fills its parent (and maybe closes it).
    for (;;) {
      if (stack_.empty()) {
        out = std::move(value);
        return Status::kReply;
      }
      Frame& top = stack_.back();
      top.reply.elements.push_back(std::move(value));
      if (--top.remaining > 0) break;
      value = std::move(top.reply);
      stack_.pop_back();
    }
  }
}

// ---- Reply ------------------------------------------------------------------------------

std::string_view type_name(Reply::Type type) noexcept {
  switch (type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kString:
      return "string";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kArray:
      return "array";
    case Reply::Type::kMap:
      return "map";
    case Reply::Type::kDouble:
      return "double";
    case Reply::Type::kBool:
      return "bool";
  }
  return "?";
}

std::optional<std::string> Reply::as_string() const {
  switch (type) {
    case Type::kNil:
      return std::nullopt;
    case Type::kString:
    case Type::kStatus:
    case Type::kDouble:
      return str;
    case Type::kInteger:
      return std::to_string(integer);
    default:
      throw Error("redis: expected a string reply, got " + std::string(type_name(type)));
  }
}

int64_t Reply::as_integer() const {
  if (type == Type::kInteger || type == Type::kBool) return integer;
  int64_t n = 0;
  if ((type == Type::kString || type == Type::kStatus) && parse_int(str, n)) return n;
  throw Error("redis: expected an integer reply, got " + std::string(type_name(type)) +
              (str.empty() ? "" : " \"" + str + "\""));
}

std::string Reply::to_string() const {
  switch (type) {
    case Type::kNil:
      return "(nil)";
    case Type::kString:
      return "\"" + str + "\"";
    case Type::kStatus:
      return str;
    case Type::kError:
      return "(error) " + str;
    case Type::kInteger:
      return "(integer) " + std::to_string(integer);
    case Type::kDouble:
      return "(double) " + str;
    case Type::kBool:
      return integer ? "(true)" : "(false)";
    case Type::kArray:
    case Type::kMap: {
      std::string s = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ", ";
        s += elements[i].to_string();
      }
      return s + "]";
    }
  }
  return "?";
}

}  // namespace brigade::redis
