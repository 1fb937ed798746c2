#pragma once
// Value: one SQL value, the same for PostgreSQL and SQLite — null, integer, real, bool, text or
// bytes — and to_value(), which turns C++ arguments into query parameters.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "brigade/db/db_error.hpp"

namespace brigade::db {

using Bytes = std::vector<std::uint8_t>;

enum class Type : unsigned char { kNull, kInt, kReal, kBool, kText, kBytes };
const char* type_name(Type t) noexcept;

class Value {
 public:
  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}
  Value(bool b) noexcept : v_(b) {}
  Value(std::int64_t i) noexcept : v_(i) {}
  Value(double d) noexcept : v_(d) {}
  Value(std::string s) noexcept : v_(std::move(s)) {}
  Value(Bytes b) noexcept : v_(std::move(b)) {}

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool is_null() const noexcept { return type() == Type::kNull; }

  // Strict-by-type accessors with the conversions a database makes anyway: an integer reads as
  // a real, text that is a whole number reads as an integer (SQLite affinity, PostgreSQL numeric),
  // 0/1 reads as a bool. Anything else, and null, throws DbError(kUsage).
  std::int64_t as_int() const;
  double as_double() const;
  bool as_bool() const;
  std::string_view as_text() const;  // text only (bytes too, as raw characters)
  const Bytes& as_bytes() const;

  // as<T>() for int, int64_t, unsigned, double, float, bool, std::string, std::string_view,
  // Bytes and std::optional<any of those> (null gives nullopt).
  template <typename T>
  T as() const;

  // For messages and logs: NULL, 42, 1.5, true, 'text', \x0a0b.
  std::string to_string() const;

  friend bool operator==(const Value& a, const Value& b) = default;

 private:
  std::variant<std::monostate, std::int64_t, double, bool, std::string, Bytes> v_;
  static_assert(std::variant_size_v<decltype(v_)> == 6);
  [[noreturn]] void mismatch(const char* wanted) const;
};

namespace detail {
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
}  // namespace detail

template <typename T>
T Value::as() const {
  if constexpr (detail::IsOptional<T>::value) {
    if (is_null()) return std::nullopt;
    return as<typename T::value_type>();
  } else if constexpr (std::is_same_v<T, bool>) {
    return as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    std::int64_t i = as_int();
    if (!std::in_range<T>(i)) throw_usage("value " + std::to_string(i) + " out of range");
    return static_cast<T>(i);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(as_double());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return std::string(as_text());
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    return as_text();
  } else if constexpr (std::is_same_v<T, Bytes>) {
    return as_bytes();
  } else if constexpr (std::is_same_v<T, Value>) {
    return *this;
  } else {
    static_assert(sizeof(T) == 0, "Value::as<T>: unsupported type");
  }
}

// Query parameters: what C++ values bind as.
inline Value to_value(Value v) { return v; }
inline Value to_value(std::nullptr_t) { return {}; }
inline Value to_value(std::nullopt_t) { return {}; }
inline Value to_value(const char* s) { return s ? Value(std::string(s)) : Value(); }
inline Value to_value(std::string s) { return Value(std::move(s)); }
inline Value to_value(std::string_view s) { return Value(std::string(s)); }
inline Value to_value(Bytes b) { return Value(std::move(b)); }
template <typename T>
requires std::is_arithmetic_v<T> Value to_value(T x) {
  if constexpr (std::is_same_v<T, bool>) {
    return Value(x);
  } else if constexpr (std::is_integral_v<T>) {
    if (!std::in_range<std::int64_t>(x)) throw_usage("parameter out of the int64 range");
    return Value(static_cast<std::int64_t>(x));
  } else {
    return Value(static_cast<double>(x));
  }
}
template <typename T>
Value to_value(const std::optional<T>& o) {
  return o ? to_value(*o) : Value();
}

template <typename... Args>
std::vector<Value> to_values(Args&&... args) {
  std::vector<Value> out;
  out.reserve(sizeof...(Args));
  (out.push_back(to_value(std::forward<Args>(args))), ...);
  return out;
}

}  // namespace brigade::db
