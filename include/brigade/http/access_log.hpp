#pragma once
// An access log line per request (Express's morgan), written off the loop:
//
//   app.use(http::request_id());                        // first: the log line names the id
//   app.use(http::access_log(http::FileLineSink::open("access.log")));
//
//   127.0.0.1 [2026-12-02T14:10:00.123Z] "GET /users/7?x=1 HTTP/1.1" 200 43 0.412ms 9b2f...
//   (client ip, time, request line, status, body bytes, duration to the end of the chain,
//    request id or "-")
//
// The loop only formats the line and queues it; a LineSink writes it. FileLineSink writes on a
// thread of its own (a slow disk never stalls the loop) and drops lines past a bounded queue,
// counting them. (A structured JSON logger can stand behind the same LineSink interface.)
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "brigade/http/router.hpp"

namespace brigade::http {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // One line without its newline; must not block (called on the loop).
  virtual void write_line(std::string line) = 0;
};

class FileLineSink : public LineSink {
 public:
  // Appends to `path` (created 0644 if missing); throws brigade::Error if it cannot be opened.
  static std::shared_ptr<FileLineSink> open(const std::string& path,
                                            std::size_t max_queued = 10'000);
  // Writes to an fd it does not own (1: stdout).
  static std::shared_ptr<FileLineSink> to_fd(int fd, std::size_t max_queued = 10'000);
  FileLineSink(int fd, bool owned, std::size_t max_queued);
  ~FileLineSink() override;  // writes what is queued, then stops its thread
  FileLineSink(const FileLineSink&) = delete;
  FileLineSink& operator=(const FileLineSink&) = delete;

  void write_line(std::string line) override;
  // Blocks until every line queued so far is written (tests, shutdown).
  void flush();
  uint64_t dropped() const;

 private:
  void run();
  int fd_;
  bool owned_;
  std::size_t max_queued_;
  mutable std::mutex mu_;  // guards the fields below; never held across a write(2)
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::string> queue_;
  uint64_t dropped_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the fields above exist
};

// An around middleware: times the rest of the chain and logs the line after it.
struct AccessLog {
  std::shared_ptr<LineSink> sink;
  Task<void> operator()(Req& req, Res& res, Next next) const;
};

inline AccessLog access_log(std::shared_ptr<LineSink> sink) { return AccessLog{std::move(sink)}; }

// The line AccessLog writes (exposed for tests and other sinks).
std::string access_log_line(const Req& req, const Res& res, double duration_ms,
                            std::string_view request_id);

}  // namespace brigade::http
