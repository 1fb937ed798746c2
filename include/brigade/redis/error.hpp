#pragma once
// What failed Redis calls throw. All derive from redis::Error (a std::runtime_error).
//   ServerError      the server answered with an error reply (-ERR, -WRONGTYPE, -NOSCRIPT...):
//                    that command only; the connection stays usable.
//   ConnectionError  connecting failed, or the connection was lost with the command in flight
//                    (it may or may not have run: nothing is retried behind your back).
//   ProtocolError    the server sent bytes that are not RESP: the connection is closed.
// A deadline (connect timeout, waiting for a connection) throws brigade::TimeoutError.
#include <stdexcept>
#include <string>

namespace brigade::redis {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ServerError : public Error {
 public:
  // `message` is the reply's text: "ERR unknown command ...", "WRONGTYPE Operation against...".
  explicit ServerError(const std::string& message)
      : Error(message), code_(message.substr(0, message.find(' '))) {}
  // The first word: "ERR", "WRONGTYPE", "NOSCRIPT", "BUSYGROUP"...
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

class ConnectionError : public Error {
 public:
  using Error::Error;
};

class ProtocolError : public Error {
 public:
  using Error::Error;
};

}  // namespace brigade::redis
