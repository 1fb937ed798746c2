#pragma once
// brigade::Error: what a failed operation throws inside a coroutine (errno + the operation).
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace brigade {

class Error : public std::system_error {
 public:
  Error(int err, std::string op)
      : std::system_error(err, std::generic_category(), op), op_(std::move(op)) {}
  Error(std::error_code ec, std::string op) : std::system_error(ec, op), op_(std::move(op)) {}
  int errno_value() const noexcept { return code().value(); }
  const std::string& operation() const noexcept { return op_; }

 private:
  std::string op_;
};

// Thrown where a wait was cancelled (AbortSignal's AbortError).
class CancelledError : public Error {
 public:
  explicit CancelledError(std::string op = "operation") : Error(ECANCELED, std::move(op)) {}
};

// Thrown where a deadline passed (with_timeout, per-task timeouts).
class TimeoutError : public Error {
 public:
  explicit TimeoutError(std::string op = "operation") : Error(ETIMEDOUT, std::move(op)) {}
};

[[noreturn]] inline void throw_errno(const char* op, int err = errno) { throw Error(err, op); }

}  // namespace brigade
