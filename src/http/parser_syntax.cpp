// Grammar checks on complete lines: request line, field line, chunk line, field values.
#include "brigade/http/parser_syntax.hpp"

#include <cstring>

namespace brigade::http::syntax {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return lower(c) >= 'a' && lower(c) <= 'z'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  char l = lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

size_t skip_ows(std::string_view s, size_t i) {
  while (i < s.size() && is_ows(s[i])) ++i;
  return i;
}

size_t skip_token(std::string_view s, size_t i) {
  while (i < s.size() && is_tchar(s[i])) ++i;
  return i;
}

// qdtext or the escaped byte of a quoted-pair: HTAB, SP, VCHAR, obs-text.
bool is_quotable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// quoted-string starting at s[i] == '"'; returns the index after it, or npos.
size_t skip_quoted_string(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i == s.size() || !is_quotable(s[i])) return std::string_view::npos;
    } else if (!is_quotable(c)) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

Verdict bad(std::string_view reason) { return {400, reason}; }

// True when no byte of the 8 in `word` is a control byte (< 0x20) or DEL; obs-text passes.
bool word_is_visible(uint64_t word) {
  constexpr uint64_t kOnes = ~uint64_t{0} / 255;
  constexpr uint64_t kHigh = kOnes * 0x80;
  uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
  uint64_t del = word ^ (kOnes * 0x7f);
  uint64_t is_del = (del - kOnes) & ~del & kHigh;
  return (below_space | is_del) == 0;
}

// field-content check, eight bytes at a time where there is no HTAB or control byte (the
// tail of eight or more bytes is the last eight, overlapping).
bool all_field_chars(const char* p, size_t n) {
  size_t i = 0;
  for (;;) {
    if (i + 8 > n) {
      if (n < 8) break;
      i = n - 8;
    }
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (!word_is_visible(word)) {
      for (size_t j = i; j < i + 8; ++j) {
        if (!is_field_char(p[j])) return false;
      }
    }
    i += 8;
    if (i == n) return true;
  }
  for (; i < n; ++i) {
    if (!is_field_char(p[i])) return false;
  }
  return true;
}

// ASCII 'A'-'Z' to 'a'-'z' in all eight bytes at once; other bytes unchanged.
uint64_t ascii_lower(uint64_t word) {
  constexpr uint64_t kOnes = ~uint64_t{0} / 255;
  constexpr uint64_t kHigh = kOnes * 0x80;
  uint64_t low7 = word & (kOnes * 0x7f);
  uint64_t ge_a = low7 + kOnes * (0x80 - 'A');      // high bit: byte >= 'A'
  uint64_t gt_z = low7 + kOnes * (0x80 - 'Z' - 1);  // high bit: byte > 'Z'
  uint64_t upper = (ge_a ^ gt_z) & ~word & kHigh;   // in 'A'..'Z' and ASCII
  return word | (upper >> 2);                       // 0x80 >> 2 == 0x20
}

// The N (4 or 8) bytes at p and q are equal but for ASCII case.
template <size_t N>
bool same_folded(const char* p, const char* q) {
  uint64_t x = 0, y = 0;
  std::memcpy(&x, p, N);
  std::memcpy(&y, q, N);
  return ascii_lower(x) == ascii_lower(y);
}

// "HTTP/" DIGIT "." DIGIT.
Verdict parse_version(std::string_view v, RequestLine& out) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' ||
      !is_digit(v[7])) {
    return bad("invalid HTTP version");
  }
  out.major = static_cast<uint8_t>(v[5] - '0');
  out.minor = static_cast<uint8_t>(v[7] - '0');
  if (out.major != 1) return {505, "HTTP version not supported"};
  return {};
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {  // whole words, the last one overlapping its predecessor
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (!same_folded<8>(p + i, q + i)) return false;
    }
    return same_folded<8>(p + n - 8, q + n - 8);
  }
  if (n >= 4) return same_folded<4>(p, q) && same_folded<4>(p + n - 4, q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (lower(p[i]) != lower(q[i])) return false;
  }
  return true;
}

Method method_from_name(std::string_view name) {
  switch (name.size()) {
    case 3:
      if (name == "GET") return Method::kGet;
      if (name == "PUT") return Method::kPut;
      break;
    case 4:
      if (name == "POST") return Method::kPost;
      if (name == "HEAD") return Method::kHead;
      break;
    case 5:
      if (name == "PATCH") return Method::kPatch;
      if (name == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (name == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (name == "OPTIONS") return Method::kOptions;
      if (name == "CONNECT") return Method::kConnect;
      break;
  }
  return Method::kOther;
}

Verdict parse_request_line(std::string_view line, RequestLine& out) {
  size_t m = skip_token(line, 0);
  if (m == 0 || m == line.size() || line[m] != ' ') return bad("invalid method");
  size_t t = m + 1;
  size_t e = t;
  while (e < line.size() && is_target_char(line[e])) ++e;
  if (e == t || e == line.size() || line[e] != ' ') return bad("invalid request target");
  out.method = line.substr(0, m);
  out.target = line.substr(t, e - t);
  return parse_version(line.substr(e + 1), out);
}

Verdict check_target_form(Method method, std::string_view target) {
  if (target.front() == '/') {
    return method == Method::kConnect ? bad("CONNECT needs authority-form") : Verdict{};
  }
  if (method == Method::kConnect) return valid_host(target) ? Verdict{} : bad("invalid authority");
  if (target == "*") return method == Method::kOptions ? Verdict{} : bad("'*' only for OPTIONS");
  // absolute-form: scheme "://" ...
  size_t i = 0;
  if (!is_alpha(target[0])) return bad("invalid request target");
  while (i < target.size() && (is_alpha(target[i]) || is_digit(target[i]) || target[i] == '+' ||
                               target[i] == '-' || target[i] == '.')) {
    ++i;
  }
  if (target.substr(i, 3) != "://") return bad("invalid request target");
  return {};
}

void split_target(std::string_view target, std::string_view& path, std::string_view& query) {
  std::string_view rest = target;
  if (!target.empty() && target.front() != '/') {
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) {  // "*" or authority-form
      path = target;
      query = {};
      return;
    }
    size_t slash = target.find_first_of("/?", scheme + 3);
    rest = slash == std::string_view::npos ? std::string_view{} : target.substr(slash);
  }
  size_t q = rest.find('?');
  path = rest.substr(0, q);
  query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
}

Verdict parse_field_line(std::string_view line, Header& out) {
  if (line.empty()) return bad("empty field line");
  if (is_ows(line.front())) return bad("obs-fold or leading whitespace");
  size_t colon = skip_token(line, 0);
  if (colon == line.size()) return bad("field line without colon");
  if (line[colon] != ':') {
    return is_ows(line[colon]) ? bad("whitespace before colon") : bad("invalid field name");
  }
  if (colon == 0) return bad("empty field name");
  size_t v = skip_ows(line, colon + 1);
  size_t end = line.size();
  if (!all_field_chars(line.data() + v, end - v)) return bad("invalid byte in field value");
  while (end > v && is_ows(line[end - 1])) --end;
  out.name = line.substr(0, colon);
  out.value = line.substr(v, end - v);
  return {};
}

Verdict parse_content_length(std::string_view value, uint64_t& out) {
  if (value.empty()) return bad("empty Content-Length");
  uint64_t n = 0;
  for (char c : value) {
    if (!is_digit(c)) return bad("invalid Content-Length");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return bad("Content-Length overflow");
    n = n * 10 + d;
  }
  out = n;
  return {};
}

Verdict parse_chunk_line(std::string_view line, uint64_t& size) {
  size_t i = 0;
  uint64_t n = 0;
  for (int d; i < line.size() && (d = hex_value(line[i])) >= 0; ++i) {
    if (n >> 60) return bad("chunk size overflow");
    n = n * 16 + static_cast<uint64_t>(d);
  }
  if (i == 0) return bad("invalid chunk size");
  while (i < line.size()) {  // *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
    i = skip_ows(line, i);
    if (i == line.size() || line[i] != ';') return bad("invalid chunk extension");
    i = skip_ows(line, i + 1);
    size_t name_end = skip_token(line, i);
    if (name_end == i) return bad("invalid chunk extension name");
    i = name_end;
    size_t eq = skip_ows(line, name_end);
    if (eq < line.size() && line[eq] == '=') {
      i = skip_ows(line, eq + 1);
      if (i < line.size() && line[i] == '"') {
        i = skip_quoted_string(line, i);
        if (i == std::string_view::npos) return bad("invalid chunk extension value");
      } else {
        size_t value_end = skip_token(line, i);
        if (value_end == i) return bad("invalid chunk extension value");
        i = value_end;
      }
    }
  }
  size = n;
  return {};
}

bool valid_host(std::string_view value) {
  bool ok = true;  // no early exit: a branch-free loop is faster on the (valid) usual host
  for (char c : value) ok &= is_host_char(c);
  return ok;
}

}  // namespace brigade::http::syntax
