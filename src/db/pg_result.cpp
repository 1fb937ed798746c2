// PGresult in text format → Rows typed by column OID; error results → DbError.
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "pg_request.hpp"

namespace brigade::db {

namespace {

constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26;
constexpr Oid kFloat4 = 700, kFloat8 = 701;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Value bytea_value(const char* text, std::size_t len) {
  if (len >= 2 && text[0] == '\\' && text[1] == 'x') {  // bytea_output = hex (the default)
    Bytes out((len - 2) / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] =
          static_cast<std::uint8_t>(hex_digit(text[2 + 2 * i]) * 16 + hex_digit(text[3 + 2 * i]));
    return Value(std::move(out));
  }
  std::size_t n = 0;  // the old escape format
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
  Bytes out(raw, raw + n);
  PQfreemem(raw);
  return Value(std::move(out));
}

Value real_value(const char* text, std::size_t len) {
  double d = 0;
  auto [end, ec] = std::from_chars(text, text + len, d);
  if (ec == std::errc() && end == text + len) return Value(d);
  return Value(std::strtod(text, nullptr));  // "Infinity", "-Infinity", "NaN"
}

Value cell_value(Oid type, const char* text, std::size_t len) {
  switch (type) {
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      std::int64_t i = 0;
      std::from_chars(text, text + len, i);
      return Value(i);
    }
    case kFloat4:
    case kFloat8:
      return real_value(text, len);
    case kBool:
      return Value(text[0] == 't');
    case kBytea:
      return bytea_value(text, len);
    default:
      return Value(std::string(text, len));
  }
}

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Rows rows_from(const PGresult* res) {
  int fields = PQnfields(res);
  int tuples = PQntuples(res);
  std::vector<std::string> names;
  std::vector<Oid> types;
  names.reserve(static_cast<std::size_t>(fields));
  for (int f = 0; f < fields; ++f) {
    names.emplace_back(PQfname(res, f));
    types.push_back(PQftype(res, f));
  }
  Rows rows(std::move(names));
  rows.reserve(static_cast<std::size_t>(tuples));
  for (int t = 0; t < tuples; ++t)
    for (int f = 0; f < fields; ++f) {
      if (PQgetisnull(res, t, f)) {
        rows.push(Value());
        continue;
      }
      rows.push(cell_value(types[static_cast<std::size_t>(f)], PQgetvalue(res, t, f),
                           static_cast<std::size_t>(PQgetlength(res, t, f))));
    }
  const char* affected = PQcmdTuples(const_cast<PGresult*>(res));
  if (affected && *affected) rows.set_affected(std::strtoll(affected, nullptr, 10));
  return rows;
}

DbError error_from(const PGresult* res) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
  if (!state)  // made by libpq itself: the connection failed
    return DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure,
                   "postgres: " + trimmed(PQresultErrorMessage(res)));
  std::string code = state;
  bool lost = code.starts_with("08") || code.starts_with("57P");  // connection, admin shutdown
  return DbError(lost ? DbError::Kind::kConnection : DbError::Kind::kServer, code,
                 "postgres: " + trimmed(primary ? primary : PQresultErrorMessage(res)),
                 detail ? detail : "");
}

DbError connection_error(const char* what, PGconn* pg) {
  std::string message = std::string("postgres: ") + what;
  std::string reason = trimmed(pg ? PQerrorMessage(pg) : nullptr);
  if (!reason.empty()) message += ": " + reason;
  return DbError(DbError::Kind::kConnection, sqlstate::kConnectionFailure, message);
}

}  // namespace brigade::db
