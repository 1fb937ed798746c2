// multipart/form-data pull parser (see multipart.hpp).
#include "brigade/http/multipart.hpp"

#include <algorithm>
#include <cctype>

#include "brigade/http/parser_syntax.hpp"
#include "brigade/http/query.hpp"

namespace brigade::http {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Parameters after the first ';' of a header value: name=token or name="quoted \"string\"".
// Calls f(name, value) for each; false on a malformed parameter list.
template <typename F>
bool for_each_param(std::string_view v, F&& f) {
  std::size_t semi = v.find(';');
  if (semi == std::string_view::npos) return true;
  v.remove_prefix(semi + 1);
  for (;;) {
    v = syntax::trim_ows(v);
    if (v.empty()) return true;
    std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view name = syntax::trim_ows(v.substr(0, eq));
    v = syntax::trim_ows(v.substr(eq + 1));
    std::string value;
    if (!v.empty() && v.front() == '"') {
      std::size_t i = 1;
      for (; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) ++i;
        value += v[i];
      }
      if (i >= v.size()) return false;  // no closing quote
      v.remove_prefix(i + 1);
      v = syntax::trim_ows(v);
      if (!v.empty() && v.front() != ';') return false;
    } else {
      std::size_t end = v.find(';');
      value = std::string(syntax::trim_ows(v.substr(0, end)));
      v = end == std::string_view::npos ? std::string_view{} : v.substr(end);
    }
    if (name.empty()) return false;
    f(name, std::move(value));
    if (!v.empty()) v.remove_prefix(1);  // the ';'
  }
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::string_view type = syntax::trim_ows(content_type.substr(0, content_type.find(';')));
  if (type.size() < 10 || !iequals(type.substr(0, 10), "multipart/")) return std::nullopt;
  std::optional<std::string> boundary;
  bool ok = for_each_param(content_type, [&](std::string_view name, std::string value) {
    if (iequals(name, "boundary")) boundary = std::move(value);
  });
  if (!ok || !boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  for (char c : *boundary)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return std::nullopt;
  return boundary;
}

MultipartParser::MultipartParser(std::string_view boundary, std::size_t max_header_bytes)
    : delimiter_("\r\n--" + std::string(boundary)), max_header_bytes_(max_header_bytes) {
  buf_ = "\r\n";  // the first boundary may open the body: it is then a delimiter like the rest
}

void MultipartParser::compact() {
  if (pos_ == 0) return;
  buf_.erase(0, pos_);
  pos_ = 0;
}

void MultipartParser::push(std::string_view bytes) {
  if (state_ == State::kDone || state_ == State::kError) return;  // an epilogue: dropped
  compact();
  buf_.append(bytes);
}

MultipartEvent MultipartParser::fail(std::string message, bool too_large) {
  state_ = State::kError;
  error_ = std::move(message);
  too_large_ = too_large;
  buf_.clear();
  pos_ = 0;
  return {MultipartEvent::kError, {}};
}

bool MultipartParser::parse_head(std::string_view block) {
  part_ = MultipartPart{};
  part_.content_type = "text/plain";
  bool disposition = false;
  std::string filename_star;
  while (!block.empty()) {
    std::size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error_ = "multipart: a part header line without a name and ':'";
      return false;
    }
    std::string_view name = syntax::trim_ows(line.substr(0, colon)),
                     value = syntax::trim_ows(line.substr(colon + 1));
    if (iequals(name, "content-type")) {
      part_.content_type = std::string(value);
    } else if (iequals(name, "content-disposition")) {
      std::string_view kind = syntax::trim_ows(value.substr(0, value.find(';')));
      if (!iequals(kind, "form-data")) {
        error_ = "multipart: a part's Content-Disposition is not form-data";
        return false;
      }
      bool ok = for_each_param(value, [&](std::string_view key, std::string v) {
        if (iequals(key, "name")) {
          part_.name = std::move(v);
          disposition = true;
        } else if (iequals(key, "filename")) {
          part_.filename = std::move(v);
          part_.is_file = true;
        } else if (iequals(key, "filename*")) {
          filename_star = std::move(v);
        }
      });
      if (!ok) {
        error_ = "multipart: malformed Content-Disposition parameters";
        return false;
      }
    }
  }
  if (!disposition) {
    error_ = "multipart: a part without Content-Disposition: form-data; name=...";
    return false;
  }
  if (!filename_star.empty()) {  // charset'language'percent-encoded (RFC 5987)
    std::size_t quote = filename_star.find('\'');
    quote = quote == std::string::npos ? std::string::npos : filename_star.find('\'', quote + 1);
    if (quote != std::string::npos) {
      part_.filename = percent_decode(std::string_view(filename_star).substr(quote + 1));
      part_.is_file = true;
    }
  }
  // Only the base name: a client's directories must never reach a path built from it.
  std::size_t slash = part_.filename.find_last_of("/\\");
  if (slash != std::string::npos) part_.filename.erase(0, slash + 1);
  return true;
}

MultipartEvent MultipartParser::next() {
  for (;;) {
    std::string_view in = std::string_view(buf_).substr(pos_);
    switch (state_) {
      case State::kPreamble: {
        std::size_t at = in.find(delimiter_);
        if (at != std::string_view::npos) {
          pos_ += at + delimiter_.size();
          state_ = State::kAfterDelimiter;
          continue;
        }
        // Keep only what may still be the start of the first boundary.
        if (in.size() >= delimiter_.size()) pos_ += in.size() - (delimiter_.size() - 1);
        if (ended_) return fail("multipart: no boundary in the body");
        return {MultipartEvent::kNeedMore, {}};
      }
      case State::kAfterDelimiter: {
        if (in.size() >= 2 && in.substr(0, 2) == "--") {
          state_ = State::kDone;
          buf_.clear();
          pos_ = 0;
          return {MultipartEvent::kDone, {}};
        }
        std::size_t i = 0;
        while (i < in.size() && (in[i] == ' ' || in[i] == '\t')) ++i;  // transport padding
        if (i > 256) return fail("multipart: junk after a boundary");
        if (i + 2 <= in.size()) {
          if (in.substr(i, 2) != "\r\n") return fail("multipart: junk after a boundary");
          pos_ += i + 2;
          state_ = State::kHeaders;
          continue;
        }
        if (ended_) return fail("multipart: the body ended inside a boundary line");
        return {MultipartEvent::kNeedMore, {}};
      }
      case State::kHeaders: {
        std::size_t end;
        std::size_t skip;
        if (in.substr(0, 2) == "\r\n") {
          end = 0;  // no headers at all (then no name: rejected by parse_head)
          skip = 2;
        } else {
          end = in.find("\r\n\r\n");
          skip = 4;
        }
        if (end == std::string_view::npos) {
          // Only once no terminator can end within the limit, so cutting the input anywhere
          // gives the same answer.
          if (in.size() >= max_header_bytes_ + 4)
            return fail("multipart: a part's headers are larger than the limit", true);
          if (ended_) return fail("multipart: the body ended inside a part's headers");
          return {MultipartEvent::kNeedMore, {}};
        }
        if (end > max_header_bytes_)
          return fail("multipart: a part's headers are larger than the limit", true);
        if (!parse_head(in.substr(0, end))) return fail(std::move(error_));
        pos_ += end + skip;
        state_ = State::kBody;
        return {MultipartEvent::kPartBegin, {}};
      }
      case State::kBody: {
        std::size_t at = in.find(delimiter_);
        if (at == 0) {
          pos_ += delimiter_.size();
          state_ = State::kAfterDelimiter;
          return {MultipartEvent::kPartEnd, {}};
        }
        if (at != std::string_view::npos) {
          pos_ += at;
          return {MultipartEvent::kData, in.substr(0, at)};
        }
        if (in.size() >= delimiter_.size()) {
          std::size_t safe = in.size() - (delimiter_.size() - 1);
          pos_ += safe;
          return {MultipartEvent::kData, in.substr(0, safe)};
        }
        if (ended_) return fail("multipart: the body ended before the closing boundary");
        return {MultipartEvent::kNeedMore, {}};
      }
      case State::kDone:
        return {MultipartEvent::kDone, {}};
      case State::kError:
        return {MultipartEvent::kError, {}};
    }
  }
}

}  // namespace brigade::http
