#include "brigade/http/query.hpp"

namespace brigade::http {

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool needs_decoding(std::string_view in, bool plus_is_space) noexcept {
  for (char c : in)
    if (c == '%' || (plus_is_space && c == '+')) return true;
  return false;
}

bool escapes_well_formed(std::string_view in) noexcept {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') continue;
    if (i + 2 >= in.size() || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) return false;
    i += 2;
  }
  return true;
}

void percent_decode_append(std::string& out, std::string_view in, bool plus_is_space) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  percent_decode_append(out, in, plus_is_space);
  return out;
}

void parse_query(std::string_view query, QueryPairs& out) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    auto& kv = out.emplace_back();
    percent_decode_append(kv.first, key, true);
    percent_decode_append(kv.second, value, true);
  }
}

int parse_form(std::string_view body, QueryPairs& out, std::size_t max_fields, std::string& error) {
  std::size_t count = 0;
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    if (max_fields && ++count > max_fields) {
      error = "Payload Too Large: more than " + std::to_string(max_fields) + " form fields";
      return 413;
    }
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!escapes_well_formed(key) || !escapes_well_formed(value)) {
      error = "Bad Request: a malformed %-escape in the form field '" +
              std::string(key.substr(0, 64)) + "'";
      return 400;
    }
    auto& kv = out.emplace_back();
    percent_decode_append(kv.first, key, true);
    percent_decode_append(kv.second, value, true);
  }
  return 0;
}

}  // namespace brigade::http
