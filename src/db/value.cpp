// Value accessors and their conversions.
#include "brigade/db/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace brigade::db {

const char* type_name(Type t) noexcept {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kInt:
      return "integer";
    case Type::kReal:
      return "real";
    case Type::kBool:
      return "bool";
    case Type::kText:
      return "text";
    case Type::kBytes:
      return "bytes";
  }
  return "?";
}

void Value::mismatch(const char* wanted) const {
  throw_usage(std::string("cannot read a ") + type_name(type()) + " value " + to_string() + " as " +
              wanted);
}

std::int64_t Value::as_int() const {
  switch (type()) {
    case Type::kInt:
      return std::get<std::int64_t>(v_);
    case Type::kBool:
      return std::get<bool>(v_) ? 1 : 0;
    case Type::kReal: {
      double d = std::get<double>(v_);
      if (d == std::trunc(d) && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
      break;
    }
    case Type::kText: {
      const std::string& s = std::get<std::string>(v_);
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return i;
      break;
    }
    default:
      break;
  }
  mismatch("an integer");
}

double Value::as_double() const {
  switch (type()) {
    case Type::kReal:
      return std::get<double>(v_);
    case Type::kInt:
      return static_cast<double>(std::get<std::int64_t>(v_));
    case Type::kText: {
      const std::string& s = std::get<std::string>(v_);
      double d = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return d;
      break;
    }
    default:
      break;
  }
  mismatch("a real");
}

bool Value::as_bool() const {
  switch (type()) {
    case Type::kBool:
      return std::get<bool>(v_);
    case Type::kInt: {
      std::int64_t i = std::get<std::int64_t>(v_);
      if (i == 0 || i == 1) return i == 1;
      break;
    }
    default:
      break;
  }
  mismatch("a bool");
}

std::string_view Value::as_text() const {
  if (type() == Type::kText) return std::get<std::string>(v_);
  if (type() == Type::kBytes) {
    const Bytes& b = std::get<Bytes>(v_);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  mismatch("text");
}

const Bytes& Value::as_bytes() const {
  if (type() == Type::kBytes) return std::get<Bytes>(v_);
  mismatch("bytes");
}

std::string Value::to_string() const {
  switch (type()) {
    case Type::kNull:
      return "NULL";
    case Type::kInt:
      return std::to_string(std::get<std::int64_t>(v_));
    case Type::kReal: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, std::get<double>(v_));
      return std::string(buf, r.ptr);
    }
    case Type::kBool:
      return std::get<bool>(v_) ? "true" : "false";
    case Type::kText:
      return "'" + std::get<std::string>(v_) + "'";
    case Type::kBytes: {
      std::string out = "\\x";
      char hex[3];
      for (std::uint8_t b : std::get<Bytes>(v_)) {
        std::snprintf(hex, sizeof hex, "%02x", b);
        out += hex;
      }
      return out;
    }
  }
  return "?";
}

}  // namespace brigade::db
