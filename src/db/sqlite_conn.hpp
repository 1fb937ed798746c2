#pragma once
// One SQLite connection and its prepared-statement cache. Used by one thread at a time.
#include <sqlite3.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "brigade/db/rows.hpp"
#include "brigade/db/sqlite_db.hpp"

namespace brigade::db {

struct SqliteConn {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements;

  SqliteConn(const std::string& path, const SqliteOptions& options);  // throws DbError
  ~SqliteConn();
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  // One statement, prepared once per connection and kept.
  Rows run(const std::string& sql, const std::vector<Value>& params);
  // Statements separated by ';', without parameters.
  void exec(const char* sql);
};

// DbError from the connection's last error (SQLSTATE chosen from SQLite's extended code).
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, const char* what);

}  // namespace brigade::db
