#pragma once
// Drives a RequestParser over a byte stream cut into reads, the way a server connection does
// (one buffer, compacted after every kNeedMore so the bytes move), and writes down everything
// the parser reported. Two runs over the same bytes must write the same transcript.
#include <string>
#include <string_view>
#include <vector>

#include "brigade/http/parser.hpp"

namespace brigade::http::testing {

inline std::string describe(const Request& r) {
  std::string s = "method=" + std::to_string(static_cast<int>(r.method)) + ":" +
                  std::string(r.method_name) + " target=" + std::string(r.target) +
                  " path=" + std::string(r.path) + " query=" + std::string(r.query) +
                  " version=" + std::to_string(r.version_major) + "." +
                  std::to_string(r.version_minor) + "\n";
  for (const Header& h : r.headers) {
    s += "  [" + std::string(h.name) + "]=[" + std::string(h.value) + "]\n";
  }
  s += "  cl=" + (r.has_content_length ? std::to_string(r.content_length) : std::string("-")) +
       " chunked=" + std::to_string(r.chunked) + " keep_alive=" + std::to_string(r.keep_alive) +
       " expect=" + std::to_string(r.expect_continue) + " upgrade=" + std::to_string(r.upgrade) +
       "\n";
  return s;
}

// True when `part` lies inside `whole` (an empty view anywhere counts).
inline bool inside(std::string_view whole, std::string_view part) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// True when every view of the request points into the given bytes.
inline bool views_inside(std::string_view bytes, const Request& r) {
  bool ok = inside(bytes, r.method_name) && inside(bytes, r.target) && inside(bytes, r.path) &&
            inside(bytes, r.query);
  for (const Header& h : r.headers) ok = ok && inside(bytes, h.name) && inside(bytes, h.value);
  return ok;
}

struct Run {
  std::string transcript;
  int messages = 0;
  int error_status = 0;  // 0 when no error
  std::string bug;       // set when a result broke the contract (views, consumed)
  std::string last_body;
};

// Feeds `reads` one after the other; each parse result is checked for sane `consumed`.
inline Run run_reads(const std::vector<std::string_view>& reads, ParserLimits limits = {}) {
  RequestParser parser(limits);
  Run run;
  std::string buffer;
  std::string body;
  std::string rest;  // bytes after an upgrade
  bool stopped = false;
  bool upgraded = false;
  for (std::string_view read : reads) {
    if (upgraded) rest += read;
    if (stopped) continue;
    buffer += read;
    size_t off = 0;
    while (!stopped) {
      ParseResult r = parser.parse(buffer.data() + off, buffer.size() - off);
      if (r.consumed > buffer.size() - off) {
        run.bug = "consumed past the end";
        return run;
      }
      std::string_view given(buffer.data() + off, r.consumed);
      off += r.consumed;
      if (r.status == ParseStatus::kNeedMore) break;
      switch (r.status) {
        case ParseStatus::kHeadersComplete:
          run.transcript += describe(parser.request());
          if (!views_inside(given, parser.request())) run.bug = "view outside the head";
          break;
        case ParseStatus::kBodyChunk:
          if (r.body.empty() || !inside(given, r.body)) run.bug = "bad body view";
          body += r.body;
          break;
        case ParseStatus::kMessageComplete:
          run.transcript += "  body=[" + body + "]\ncomplete\n";
          run.last_body = body;
          body.clear();
          ++run.messages;
          break;
        case ParseStatus::kUpgraded:
          stopped = upgraded = true;
          rest = buffer.substr(off);
          break;
        case ParseStatus::kError:
          run.transcript +=
              "error " + std::to_string(r.error_status) + " " + std::string(r.error_reason) + "\n";
          run.error_status = r.error_status;
          stopped = true;
          break;
        default:
          break;
      }
    }
    buffer.erase(0, off);  // compact: the kept bytes move to the front
  }
  if (!stopped) run.transcript += "eof kept=" + std::to_string(buffer.size()) + "\n";
  if (!body.empty()) run.transcript += "  partial body=[" + body + "]\n";
  if (upgraded) run.transcript += "rest=[" + rest + "]\n";
  return run;
}

inline Run run_whole(std::string_view input, ParserLimits limits = {}) {
  return run_reads({input}, limits);
}

inline Run run_bytewise(std::string_view input, ParserLimits limits = {}) {
  std::vector<std::string_view> reads;
  for (size_t i = 0; i < input.size(); ++i) reads.push_back(input.substr(i, 1));
  return run_reads(reads, limits);
}

inline Run run_split(std::string_view input, size_t cut, ParserLimits limits = {}) {
  return run_reads({input.substr(0, cut), input.substr(cut)}, limits);
}

}  // namespace brigade::http::testing
