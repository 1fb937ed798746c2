// SqliteConn: open, prepare (cached), bind, step, and SQLite's error codes as SQLSTATEs.
#include "sqlite_conn.hpp"

#include <cstring>

namespace brigade::db {

namespace {

const char* sqlstate_of(int extended, const char* message) {
  switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return sqlstate::kUniqueViolation;
    case SQLITE_CONSTRAINT_NOTNULL:
      return "23502";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return "23503";
    case SQLITE_CONSTRAINT_CHECK:
      return "23514";
    default:
      break;
  }
  switch (extended & 0xff) {
    case SQLITE_CONSTRAINT:
      return "23000";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "55P03";  // lock_not_available
    case SQLITE_INTERRUPT:
      return sqlstate::kQueryCanceled;
    case SQLITE_CANTOPEN:
      return sqlstate::kUnableToConnect;
    case SQLITE_READONLY:
      return "25006";
    case SQLITE_ERROR:
      if (std::strstr(message, "syntax error") || std::strstr(message, "incomplete input"))
        return sqlstate::kSyntaxError;
      if (std::strstr(message, "no such table")) return sqlstate::kUndefinedTable;
      if (std::strstr(message, "no such column")) return "42703";
      return "42000";
    default:
      return "58000";  // system_error: I/O, corruption, full disk
  }
}

// $1/?1 name the parameter's position as in PostgreSQL; plain ? and :name count in order.
std::size_t param_position(sqlite3_stmt* st, int index) {
  const char* name = sqlite3_bind_parameter_name(st, index);
  if (!name || (name[0] != '$' && name[0] != '?') || name[1] < '1' || name[1] > '9')
    return static_cast<std::size_t>(index);
  return static_cast<std::size_t>(std::strtoul(name + 1, nullptr, 10));
}

void bind(sqlite3* db, sqlite3_stmt* st, int index, const Value& v) {
  int rc = SQLITE_OK;
  switch (v.type()) {
    case Type::kNull:
      rc = sqlite3_bind_null(st, index);
      break;
    case Type::kInt:
      rc = sqlite3_bind_int64(st, index, v.as_int());
      break;
    case Type::kReal:
      rc = sqlite3_bind_double(st, index, v.as_double());
      break;
    case Type::kBool:
      rc = sqlite3_bind_int(st, index, v.as_bool() ? 1 : 0);
      break;
    case Type::kText: {
      std::string_view s = v.as_text();  // a null pointer would bind NULL, not ''
      rc = sqlite3_bind_text64(st, index, s.data() ? s.data() : "", s.size(), SQLITE_STATIC,
                               SQLITE_UTF8);
      break;
    }
    case Type::kBytes: {
      const Bytes& b = v.as_bytes();
      // An empty vector's data() is null, which SQLite binds as NULL: bind a zero-length blob.
      rc = b.empty() ? sqlite3_bind_zeroblob64(st, index, 0)
                     : sqlite3_bind_blob64(st, index, b.data(), b.size(), SQLITE_STATIC);
      break;
    }
  }
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "bind");
}

void bind_all(sqlite3* db, sqlite3_stmt* st, const std::vector<Value>& params) {
  int count = sqlite3_bind_parameter_count(st);
  std::size_t wanted = 0;
  for (int i = 1; i <= count; ++i) wanted = std::max(wanted, param_position(st, i));
  if (wanted != params.size())
    throw_usage("the statement takes " + std::to_string(wanted) + " parameters, " +
                std::to_string(params.size()) + " given");
  for (int i = 1; i <= count; ++i) bind(db, st, i, params[param_position(st, i) - 1]);
}

Value column_value(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
      return Value(static_cast<std::int64_t>(sqlite3_column_int64(st, i)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(st, i));
    case SQLITE_TEXT: {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return Value(std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
    }
    case SQLITE_BLOB: {
      auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, i));
      return Value(Bytes(p, p + sqlite3_column_bytes(st, i)));
    }
    default:
      return Value();
  }
}

// Resets the statement however run() leaves, so the cached statement is ready for its next use.
struct ResetOnExit {
  sqlite3_stmt* st;
  ~ResetOnExit() {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

}  // namespace

void throw_sqlite(sqlite3* db, int rc, const char* what) {
  int extended = db ? sqlite3_extended_errcode(db) : rc;
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw DbError(DbError::Kind::kServer, sqlstate_of(extended, message),
                std::string("sqlite ") + what + ": " + message);
}

SqliteConn::SqliteConn(const std::string& path, const SqliteOptions& options) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    db = nullptr;
    throw DbError(DbError::Kind::kConnection, sqlstate::kUnableToConnect,
                  "sqlite open '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  try {
    if (options.wal) exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
}

SqliteConn::~SqliteConn() {
  for (auto& [sql, st] : statements) sqlite3_finalize(st);
  sqlite3_close_v2(db);
}

void SqliteConn::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text is in sqlite3_errmsg
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "exec");
}

Rows SqliteConn::run(const std::string& sql, const std::vector<Value>& params) {
  sqlite3_stmt*& st = statements[sql];
  if (!st) {
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &st, &tail);
    if (rc != SQLITE_OK || !st) {
      statements.erase(sql);
      if (rc != SQLITE_OK) throw_sqlite(db, rc, "prepare");
      throw_usage("empty statement");
    }
    while (tail && *tail && std::strchr(" \t\r\n;", *tail)) ++tail;
    if (tail && *tail) {
      sqlite3_finalize(st);
      statements.erase(sql);
      throw_usage("one statement per query (use exec() for scripts): " + sql);
    }
  }
  ResetOnExit reset{st};
  bind_all(db, st, params);
  int columns = sqlite3_column_count(st);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(columns));
  for (int i = 0; i < columns; ++i) names.emplace_back(sqlite3_column_name(st, i));
  Rows rows(std::move(names));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    for (int i = 0; i < columns; ++i) rows.push(column_value(st, i));
  if (rc != SQLITE_DONE) throw_sqlite(db, rc, "step");
  if (!sqlite3_stmt_readonly(st)) {
    rows.set_affected(sqlite3_changes64(db));
    rows.set_last_insert_id(sqlite3_last_insert_rowid(db));
  }
  return rows;
}

}  // namespace brigade::db
