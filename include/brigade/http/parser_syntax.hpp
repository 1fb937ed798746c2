#pragma once
// The RFC 9110/9112 grammar pieces the request parser is built from: character classes and
// pure functions on one complete line. No state; usable by the server too (e.g. to validate
// header values it is asked to send).
#include <array>
#include <cstdint>
#include <string_view>

#include "brigade/http/parser.hpp"

namespace brigade::http::syntax {

namespace detail {
constexpr bool tchar(unsigned c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
constexpr bool host_char(unsigned c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("-._~!$&'()*+,;=:[]%").find(static_cast<char>(c)) !=
         std::string_view::npos;
}
template <typename Pred>
constexpr std::array<bool, 256> table(Pred pred) {
  std::array<bool, 256> t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = pred(c);
  return t;
}
inline constexpr auto kToken = table(tchar);
inline constexpr auto kHost = table(host_char);
// field-content bytes: VCHAR, obs-text, SP, HTAB (no CTL, no DEL).
inline constexpr auto kField =
    table([](unsigned c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });
// request-target bytes: visible ASCII only.
inline constexpr auto kTarget = table([](unsigned c) { return c > 0x20 && c < 0x7f; });
}  // namespace detail

inline bool is_tchar(char c) { return detail::kToken[static_cast<unsigned char>(c)]; }
inline bool is_field_char(char c) { return detail::kField[static_cast<unsigned char>(c)]; }
inline bool is_target_char(char c) { return detail::kTarget[static_cast<unsigned char>(c)]; }
inline bool is_host_char(char c) { return detail::kHost[static_cast<unsigned char>(c)]; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
// `s` without leading and trailing OWS (spaces and tabs).
inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// ASCII case-insensitive equality (field names, codings, connection options).
bool equals_ignore_case(std::string_view a, std::string_view b);

// Known method for a token; Method::kOther for any other token.
Method method_from_name(std::string_view name);

// A failed grammar check: the status to answer and why. status == 0 means fine.
struct Verdict {
  uint16_t status = 0;
  std::string_view reason;
  explicit operator bool() const { return status != 0; }
};

struct RequestLine {
  std::string_view method;
  std::string_view target;
  uint8_t major = 0;
  uint8_t minor = 0;
};
// "method SP request-target SP HTTP-version", CRLF already stripped.
Verdict parse_request_line(std::string_view line, RequestLine& out);
// Form checks that need the method: "*" only for OPTIONS, authority-form only for CONNECT.
Verdict check_target_form(Method method, std::string_view target);
// Splits a target into path and query (absolute-form: the path starts after the authority).
void split_target(std::string_view target, std::string_view& path, std::string_view& query);

// "field-name: OWS field-value OWS", CRLF already stripped; value comes back trimmed.
Verdict parse_field_line(std::string_view line, Header& out);

// Content-Length: 1*DIGIT that fits in 64 bits.
Verdict parse_content_length(std::string_view value, uint64_t& out);

// chunk-size [chunk-ext], CRLF already stripped.
Verdict parse_chunk_line(std::string_view line, uint64_t& size);

// Host: uri-host [":" port] alphabet (may be empty).
bool valid_host(std::string_view value);

// Calls fn(element) for each non-empty, OWS-trimmed element of a comma-separated list.
template <typename Fn>
void for_each_list_element(std::string_view list, Fn&& fn) {
  size_t i = 0;
  while (i <= list.size()) {
    size_t comma = list.find(',', i);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view e = trim_ows(list.substr(i, comma - i));
    if (!e.empty()) fn(e);
    i = comma + 1;
  }
}

}  // namespace brigade::http::syntax
