#pragma once
// The process's log sink: records queue here and one thread formats and writes them, so a loop
// never waits for a terminal or a pipe. The queue is bounded; when it is full a record is
// counted as dropped (and a line later says how many), never waited for.
//
// Users log through brigade/log/log.hpp (log::info(...)), which adds the request id of the
// current task; the loop's own reports (blocked loop, uncaught exceptions) come here directly.
//
// Settings, read once at first use: BRIGADE_LOG_LEVEL (debug, info, warn, error, silent;
// default info), BRIGADE_LOG_FORMAT (json, pretty; default pretty on a terminal, else json).
// Lines go to stderr unless set_output() says otherwise.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::log {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError, kFatal, kSilent };
enum class Format : uint8_t { kJson, kPretty };

struct Record {
  Level level = Level::kInfo;
  uint64_t unix_ns = 0;  // wall-clock time of the call
  std::string message;
  std::string request_id;  // "" for none
  nlohmann::json fields;   // an object (or null)
};

// Whether a record at `level` would be written (one relaxed load).
bool enabled(Level level) noexcept;
void set_level(Level level) noexcept;
Level level() noexcept;
void set_format(Format format) noexcept;
Format format() noexcept;
// Where lines go (default 2, stderr). The caller keeps the fd open while it is set.
void set_output(int fd) noexcept;
// Records held at most (default 8192); beyond, new ones are dropped.
void set_queue_capacity(std::size_t records) noexcept;

// Queues the record for the writer thread; never blocks on I/O. Records below the level are
// ignored.
void write(Record record);
// Writes everything queued, then this record whatever the level, from the calling thread (for
// the line that must be out before the process ends).
void write_now(Record record);
// Waits until every record queued so far is written (at most `timeout_ms`); true if it was.
bool flush(int timeout_ms = 1000);

struct SinkStats {
  uint64_t written = 0;  // records written
  uint64_t dropped = 0;  // records dropped because the queue was full
};
SinkStats stats() noexcept;

// The wall clock in nanoseconds since the epoch.
uint64_t unix_now_ns() noexcept;
// "debug", "info"... and back ("warning" is accepted too); nullopt for anything else.
const char* level_name(Level level) noexcept;
std::optional<Level> parse_level(std::string_view name) noexcept;
// One line, without the newline: {"time":"2026-01-31T12:00:00.123Z","level":"info","msg":...,
// "request_id":...,<fields>} or, for terminals, "12:00:00.123 INFO  msg key=value [req id]".
std::string format_line(const Record& record, Format format);

}  // namespace brigade::log
