#pragma once
// Structured logs (pino's model): one JSON line per call, written off the loop by the log sink's
// thread (brigade/loop/log_sink.hpp: level, format, output, dropped lines).
//
//   log::info("user signed in", {{"user", id}, {"ms", 12.5}});
//   // {"time":"2026-01-31T12:00:00.123Z","level":"info","msg":"user signed in",
//   //  "request_id":"f3a9","ms":12.5,"user":42}      (fields in key order)
//
// The request id is the current task's log::request_id (an AsyncLocal, as a request id kept in
// AsyncLocalStorage): bind it once per request and every line logged in that request's tasks,
// through any co_await or spawn, carries it:
//
//   co_await log::request_id.run(id, handle(req, res));
//
// BRIGADE_LOG_LEVEL=debug|info|warn|error|silent (default info); BRIGADE_LOG_FORMAT=json|pretty
// (default: pretty on a terminal). A call below the level costs one load, but its arguments are
// still built: guard an expensive one with `if (log::enabled(log::Level::kDebug))`.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "brigade/loop/log_sink.hpp"
#include "brigade/task/combinators.hpp"

namespace brigade::log {

// The request id lines logged in this task carry.
inline const AsyncLocal<std::string> request_id;

// Logs `message` with `fields` (a JSON object: {{"key", value}, ...}) at `level`.
inline void emit(Level level, std::string_view message, nlohmann::json fields = {}) {
  if (!enabled(level)) return;
  const std::string* id = request_id.get();
  write({level, unix_now_ns(), std::string(message), id ? *id : std::string(), std::move(fields)});
}

inline void debug(std::string_view message, nlohmann::json fields = {}) {
  emit(Level::kDebug, message, std::move(fields));
}
inline void info(std::string_view message, nlohmann::json fields = {}) {
  emit(Level::kInfo, message, std::move(fields));
}
inline void warn(std::string_view message, nlohmann::json fields = {}) {
  emit(Level::kWarn, message, std::move(fields));
}
inline void error(std::string_view message, nlohmann::json fields = {}) {
  emit(Level::kError, message, std::move(fields));
}

}  // namespace brigade::log
