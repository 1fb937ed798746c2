#pragma once
// DbError: what a failed database call throws. Server errors carry the SQLSTATE the server sent;
// errors found on the client side carry the SQLSTATE PostgreSQL uses for the same condition.
#include <stdexcept>
#include <string>

namespace brigade::db {

namespace sqlstate {
inline constexpr const char* kUnableToConnect = "08001";
inline constexpr const char* kConnectionFailure = "08006";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kSyntaxError = "42601";
}  // namespace sqlstate

class DbError : public std::runtime_error {
 public:
  enum class Kind : unsigned char {
    kServer,      // the server refused the statement (see sqlstate())
    kConnection,  // connecting failed or the connection was lost
    kTimeout,     // a client-side deadline passed (pool wait, query timeout, connect timeout)
    kUsage,       // the program asked for something impossible (wrong type, no such column)
  };

  DbError(Kind kind, std::string sqlstate, const std::string& message, std::string detail = {})
      : std::runtime_error(message),
        kind_(kind),
        sqlstate_(std::move(sqlstate)),
        detail_(std::move(detail)) {}

  Kind kind() const noexcept { return kind_; }
  // Five characters ("23505"), or empty where no code applies (usage errors).
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The server's DETAIL line, if it sent one.
  const std::string& detail() const noexcept { return detail_; }

 private:
  Kind kind_;
  std::string sqlstate_;
  std::string detail_;
};

[[noreturn]] inline void throw_usage(const std::string& message) {
  throw DbError(DbError::Kind::kUsage, "", message);
}

}  // namespace brigade::db
