// Access log lines, and a file sink writing them on its own thread.
#include "brigade/http/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "brigade/error.hpp"
#include "brigade/http/request_id.hpp"

namespace brigade::http {

std::shared_ptr<FileLineSink> FileLineSink::open(const std::string& path, std::size_t max_queued) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(errno, "open " + path);
  return std::make_shared<FileLineSink>(fd, true, max_queued);
}

std::shared_ptr<FileLineSink> FileLineSink::to_fd(int fd, std::size_t max_queued) {
  return std::make_shared<FileLineSink>(fd, false, max_queued);
}

FileLineSink::FileLineSink(int fd, bool owned, std::size_t max_queued)
    : fd_(fd), owned_(owned), max_queued_(max_queued), thread_([this] { run(); }) {}

FileLineSink::~FileLineSink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (owned_) ::close(fd_);
}

void FileLineSink::write_line(std::string line) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    line += '\n';
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
}

void FileLineSink::flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && !writing_; });
}

uint64_t FileLineSink::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void FileLineSink::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, all written
    std::string batch;           // everything queued, in one write(2)
    while (!queue_.empty()) {
      batch += queue_.front();
      queue_.pop_front();
    }
    writing_ = true;
    lock.unlock();
    std::string_view rest = batch;
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk or a closed pipe: the lines are lost, not the loop
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    lock.lock();
    writing_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

std::string access_log_line(const Req& req, const Res& res, double ms,
                            std::string_view request_id) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char when[40];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  char tail[96];
  std::snprintf(tail, sizeof tail, ".%03dZ] ", static_cast<int>(millis.count()));
  std::string line = req.ip();
  line.append(" [").append(when).append(tail);
  line += '"';
  line.append(req.method_name()).append(" ").append(req.target());
  line.append(req.http11() ? " HTTP/1.1\" " : " HTTP/1.0\" ");
  std::snprintf(tail, sizeof tail, "%d %llu %.3fms ", res.status(),
                static_cast<unsigned long long>(res.body_bytes()), ms);
  line += tail;
  line.append(request_id.empty() ? std::string_view("-") : request_id);
  return line;
}

Task<void> AccessLog::operator()(Req& req, Res& res, Next next) const {
  auto t0 = std::chrono::steady_clock::now();
  co_await next();
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::string_view id = current_request_id();
  if (id.empty()) id = res.get("X-Request-Id");
  sink->write_line(access_log_line(req, res, ms, id));
}

}  // namespace brigade::http
