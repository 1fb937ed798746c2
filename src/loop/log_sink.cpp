#include "brigade/loop/log_sink.hpp"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

#include "brigade/loop/thread.hpp"

namespace brigade::log {

namespace {

Level level_from_env() {
  const char* v = std::getenv("BRIGADE_LOG_LEVEL");
  std::optional<Level> parsed = v ? parse_level(v) : std::nullopt;
  return parsed.value_or(Level::kInfo);
}

Format format_from_env() {
  const char* v = std::getenv("BRIGADE_LOG_FORMAT");
  if (v && std::string_view(v) == "json") return Format::kJson;
  if (v && std::string_view(v) == "pretty") return Format::kPretty;
  return isatty(2) ? Format::kPretty : Format::kJson;
}

struct Sink {
  // Settings and counters: each stands alone (no other data is published through them), so
  // every access is relaxed; the queue below is under mu.
  std::atomic<Level> level{level_from_env()};
  std::atomic<Format> format{format_from_env()};
  std::atomic<int> fd{2};
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> dropped{0};

  std::mutex mu;                       // the queue and the counters below
  std::condition_variable wake;        // records queued
  std::condition_variable written_cv;  // a batch is out
  std::vector<Record> queue;
  std::size_t capacity = 8192;
  uint64_t accepted = 0;  // records ever queued
  uint64_t done = 0;      // of those, written
  int pid = 0;  // the process whose thread drains the queue (a forked child starts its own)

  std::mutex write_mu;  // one writer of lines at a time (the thread, or write_now)
  uint64_t dropped_reported = 0;
};

Sink& sink() {
  static Sink* s = [] {
    auto* made = new Sink;  // never destroyed: the thread outlives static teardown
    pthread_atfork([] { sink().mu.lock(); }, [] { sink().mu.unlock(); },
                   [] {
                     Sink& c = sink();
                     c.queue.clear();  // the parent writes its own records
                     c.accepted = c.done = 0;
                     c.mu.unlock();
                   });
    std::atexit([] { flush(1000); });  // lines logged just before exit() still get out
    return made;
  }();
  return *s;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(std::size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {  // a non-blocking pipe shared with another process
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;  // a closed or broken output: the lines are lost, the process goes on
    }
  }
}

// Formats and writes a batch (and the count of lines dropped since the last such line); the
// caller holds write_mu.
void write_batch(Sink& s, const std::vector<Record>& batch) {
  Format format = s.format.load(std::memory_order_relaxed);
  std::string out;
  for (const Record& r : batch) {
    out += format_line(r, format);
    out += '\n';
  }
  uint64_t dropped = s.dropped.load(std::memory_order_relaxed);
  if (dropped != s.dropped_reported) {
    Record note{Level::kWarn,
                unix_now_ns(),
                "log lines dropped: the queue was full",
                "",
                {{"dropped", dropped - s.dropped_reported}, {"dropped_total", dropped}}};
    s.dropped_reported = dropped;
    out += format_line(note, format);
    out += '\n';
  }
  write_all(s.fd.load(std::memory_order_relaxed), out);
  s.written.fetch_add(batch.size(), std::memory_order_relaxed);
}

void drain(Sink* s) {
  std::vector<Record> batch;
  std::unique_lock lock(s->mu);
  for (;;) {
    s->wake.wait(lock, [s] { return !s->queue.empty(); });
    batch.swap(s->queue);
    lock.unlock();
    {
      std::lock_guard out(s->write_mu);
      write_batch(*s, batch);
    }
    std::size_t n = batch.size();
    batch.clear();
    lock.lock();
    s->done += n;
    s->written_cv.notify_all();
  }
}

void append_time(std::string& out, uint64_t unix_ns, bool iso) {
  time_t secs = time_t(unix_ns / 1'000'000'000u);
  unsigned ms = unsigned(unix_ns / 1'000'000u % 1000u);
  tm parts{};
  if (iso)
    gmtime_r(&secs, &parts);
  else
    localtime_r(&secs, &parts);
  char buf[48];
  std::size_t n = strftime(buf, sizeof buf, iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &parts);
  out.append(buf, n);
  char frac[8];
  int m = std::snprintf(frac, sizeof frac, iso ? ".%03uZ" : ".%03u", ms);
  out.append(frac, std::size_t(m));
}

// JSON text of a value; invalid UTF-8 becomes U+FFFD rather than an exception.
std::string dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kFatal:
      return "fatal";
    case Level::kSilent:
      return "silent";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view name) noexcept {
  if (name == "debug" || name == "trace") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "fatal") return Level::kFatal;
  if (name == "silent" || name == "off" || name == "none") return Level::kSilent;
  return std::nullopt;
}

uint64_t unix_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

bool enabled(Level level) noexcept {
  return level != Level::kSilent && level >= sink().level.load(std::memory_order_relaxed);
}
void set_level(Level level) noexcept { sink().level.store(level, std::memory_order_relaxed); }
Level level() noexcept { return sink().level.load(std::memory_order_relaxed); }
void set_format(Format format) noexcept { sink().format.store(format, std::memory_order_relaxed); }
Format format() noexcept { return sink().format.load(std::memory_order_relaxed); }
void set_output(int fd) noexcept { sink().fd.store(fd, std::memory_order_relaxed); }
void set_queue_capacity(std::size_t records) noexcept {
  Sink& s = sink();
  std::lock_guard lock(s.mu);
  s.capacity = records ? records : 1;
}

void write(Record record) {
  if (!enabled(record.level)) return;
  Sink& s = sink();
  std::unique_lock lock(s.mu);
  if (s.queue.size() >= s.capacity) {
    s.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  int pid = getpid();
  if (s.pid != pid) {
    s.pid = pid;
    start_thread("brigade-log", [p = &s] { drain(p); }).detach();
  }
  s.queue.push_back(std::move(record));
  ++s.accepted;
  bool first = s.queue.size() == 1;
  lock.unlock();
  if (first) s.wake.notify_one();  // later ones find the thread awake or about to look
}

void write_now(Record record) {
  Sink& s = sink();
  std::vector<Record> batch;
  std::lock_guard out(s.write_mu);
  {
    std::lock_guard lock(s.mu);
    batch.swap(s.queue);
    s.done += batch.size();
  }
  batch.push_back(std::move(record));  // whatever the level: the process's last words
  write_batch(s, batch);
  std::lock_guard lock(s.mu);
  s.written_cv.notify_all();
}

bool flush(int timeout_ms) {
  Sink& s = sink();
  std::unique_lock lock(s.mu);
  uint64_t target = s.accepted;
  return s.written_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                               [&] { return s.done >= target; });
}

SinkStats stats() noexcept {
  Sink& s = sink();
  return {s.written.load(std::memory_order_relaxed), s.dropped.load(std::memory_order_relaxed)};
}

std::string format_line(const Record& r, Format format) {
  std::string out;
  out.reserve(96 + r.message.size());
  if (format == Format::kJson) {
    out += "{\"time\":\"";
    append_time(out, r.unix_ns, true);
    out += "\",\"level\":\"";
    out += level_name(r.level);
    out += "\",\"msg\":";
    out += dump(r.message);
    if (!r.request_id.empty()) {
      out += ",\"request_id\":";
      out += dump(r.request_id);
    }
    if (r.fields.is_object()) {
      for (auto it = r.fields.begin(); it != r.fields.end(); ++it) {
        out += ',';
        out += dump(it.key());
        out += ':';
        out += dump(it.value());
      }
    } else if (!r.fields.is_null()) {
      out += ",\"fields\":";
      out += dump(r.fields);
    }
    out += '}';
    return out;
  }
  append_time(out, r.unix_ns, false);
  static const char* const kTags[] = {"DEBUG", "INFO ", "WARN ", "ERROR", "FATAL", "     "};
  out += ' ';
  out += kTags[int(r.level)];
  out += ' ';
  out += r.message;
  auto append_value = [&out](const nlohmann::json& v) {
    const std::string* text = v.is_string() ? v.get_ptr<const std::string*>() : nullptr;
    bool bare = text && !text->empty() && text->find_first_of(" \t\n\"=") == std::string::npos;
    out += bare ? *text : dump(v);
  };
  if (r.fields.is_object()) {
    for (auto it = r.fields.begin(); it != r.fields.end(); ++it) {
      out += ' ';
      out += it.key();
      out += '=';
      append_value(it.value());
    }
  } else if (!r.fields.is_null()) {
    out += ' ';
    append_value(r.fields);
  }
  if (!r.request_id.empty()) {
    out += " [req ";
    out += r.request_id;
    out += ']';
  }
  return out;
}

}  // namespace brigade::log
