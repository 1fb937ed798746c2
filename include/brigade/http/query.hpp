#pragma once
// Percent-decoding and query-string parsing (application/x-www-form-urlencoded rules).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brigade::http {

// Decodes %XX escapes; with `plus_is_space` (query strings) '+' becomes ' '. A malformed escape
// ("%G1", a trailing "%") is kept as is, as Node's querystring does.
std::string percent_decode(std::string_view in, bool plus_is_space = false);
// Appends the decoded form of `in` to `out` (no allocation when out has the capacity).
void percent_decode_append(std::string& out, std::string_view in, bool plus_is_space);
bool needs_decoding(std::string_view in, bool plus_is_space) noexcept;
// Whether every '%' in `in` starts a %XX escape (Express answers 400 to a path param that
// does not decode; a query string keeps malformed escapes as they are).
bool escapes_well_formed(std::string_view in) noexcept;

// "a=1&b=x%20y&c" -> {{"a","1"},{"b","x y"},{"c",""}}; empty pairs are skipped.
using QueryPairs = std::vector<std::pair<std::string, std::string>>;
void parse_query(std::string_view query, QueryPairs& out);

// An application/x-www-form-urlencoded body, strictly. Returns 0, or the HTTP status to answer
// with `error` set: 400 for a malformed %-escape, 413 for more than max_fields pairs (0: no
// limit). Untrusted input: fuzzed by tests/fuzz/fuzz_form_parser.cpp.
int parse_form(std::string_view body, QueryPairs& out, std::size_t max_fields, std::string& error);

}  // namespace brigade::http
