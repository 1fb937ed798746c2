// SqliteDb: query shapes, types, errors, transactions, concurrency, and a loop never blocked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "brigade/db/sqlite_db.hpp"
#include "brigade/task/combinators.hpp"

namespace fs = std::filesystem;
using namespace brigade;
using namespace brigade::db;

namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("brigade-sqlite-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "test.db").string(); }

  Loop loop_;
  fs::path dir_;
};

TEST_F(SqliteTest, QueriesTypesAndNulls) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    co_await db.exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, ok BOOLEAN, data BLOB)");
    Bytes blob{0, 1, 255};  // named: g++ 12 cannot keep a braced temporary in a co_await
    Rows ins = co_await db.query("INSERT INTO t(name, score, ok, data) VALUES (?, ?, ?, ?)", "ada",
                                 1.5, true, blob);
    EXPECT_EQ(ins.affected(), 1);
    EXPECT_EQ(ins.last_insert_id(), 1);
    std::optional<std::string> none;
    co_await db.query("INSERT INTO t(name, score, ok, data) VALUES ($1, $2, $3, $4)", none, nullptr,
                      false, std::string_view("x"));
    Rows rows = co_await db.query("SELECT id, name, score, ok, data FROM t ORDER BY id");
    EXPECT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows.columns()[1], "name");
    Row r = rows[0];
    EXPECT_EQ(r.get<int>("id"), 1);
    EXPECT_EQ(r.get<std::string>("name"), "ada");
    EXPECT_DOUBLE_EQ(r.get<double>(2), 1.5);
    EXPECT_TRUE(r.get<bool>("ok"));
    EXPECT_EQ(r.get<Bytes>("data"), (Bytes{0, 1, 255}));
    Row s = rows[1];
    EXPECT_TRUE(s.is_null("name"));
    EXPECT_EQ(s.get<std::optional<std::string>>("name"), std::nullopt);
    EXPECT_TRUE(s["score"].is_null());
    EXPECT_FALSE(s.get<bool>("ok"));
    EXPECT_THROW(s.get<std::string>("name"), DbError);
    EXPECT_THROW(s.get<int>("nope"), DbError);
    int n = 0;
    for (Row row : rows) n += row.get<int>(0);
    EXPECT_EQ(n, 3);
  }());
}

TEST_F(SqliteTest, ParametersByPositionAndName) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    Rows r = co_await db.query("SELECT $2 || $1 AS s, ?1 + 0 AS n", "a", "b");
    EXPECT_EQ(r.front().get<std::string>("s"), "ba");
    EXPECT_THROW(co_await db.query("SELECT ?, ?", 1), DbError);
  }());
}

TEST_F(SqliteTest, ErrorsCarrySqlstate) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    co_await db.exec("CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)");
    co_await db.query("INSERT INTO u(email) VALUES (?)", "a@x");
    auto state_of = [&](std::string sql, std::optional<std::string> email) -> Task<std::string> {
      try {
        co_await db.query(std::move(sql), email);
      } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kServer);
        co_return e.sqlstate();
      }
      co_return "none";
    };
    EXPECT_EQ(co_await state_of("INSERT INTO u(email) VALUES (?)", "a@x"), "23505");
    EXPECT_EQ(co_await state_of("INSERT INTO u(email) VALUES (?)", std::nullopt), "23502");
    EXPECT_EQ(co_await state_of("SELEC ?", "x"), "42601");
    EXPECT_EQ(co_await state_of("SELECT * FROM missing WHERE 1 = ?", "x"), "42P01");
    Rows after = co_await db.query("SELECT count(*) FROM u");  // the connection is still fine
    EXPECT_EQ(after.front().get<int>(0), 1);
  }());
}

TEST_F(SqliteTest, TransactionsCommitRollbackAndDrop) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    co_await db.exec("CREATE TABLE a(x INTEGER)");
    {
      SqliteTransaction tx = co_await db.begin();
      co_await tx.query("INSERT INTO a VALUES (1)");
      co_await tx.commit();
      EXPECT_FALSE(tx.active());
    }
    {
      SqliteTransaction tx = co_await db.begin();
      co_await tx.query("INSERT INTO a VALUES (2)");
      co_await tx.rollback();
    }
    try {
      SqliteTransaction tx = co_await db.begin();
      co_await tx.query("INSERT INTO a VALUES (3)");
      throw std::runtime_error("boom");  // the guard rolls back
    } catch (const std::runtime_error&) {
    }
    Rows r = co_await db.query("SELECT group_concat(x) FROM a");
    EXPECT_EQ(r.front().get<std::string>(0), "1");
  }());
}

TEST_F(SqliteTest, ManyCoroutinesAtOnce) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    co_await db.exec("CREATE TABLE c(i INTEGER)");
    auto one = [&](int i) -> Task<int64_t> {
      if (i % 2) co_return (co_await db.query("INSERT INTO c VALUES (?)", i)).affected();
      co_return (co_await db.query("SELECT ?", i)).front().get<int64_t>(0);
    };
    std::vector<Task<int64_t>> tasks;
    for (int i = 0; i < 200; ++i) tasks.push_back(one(i));
    std::vector<int64_t> results = co_await when_all(std::move(tasks));
    EXPECT_EQ(results[10], 10);
    EXPECT_EQ(results[11], 1);
    Rows r = co_await db.query("SELECT count(*), sum(i) FROM c");
    EXPECT_EQ(r.front().get<int>(0), 100);
    EXPECT_EQ(r.front().get<int64_t>(1), 10000);
  }());
}

TEST_F(SqliteTest, InMemoryUsesOneConnection) {
  SqliteDb db = SqliteDb::open(":memory:");
  EXPECT_EQ(db.max_connections(), 1u);
  run(loop_, [&]() -> Task<void> {
    co_await db.exec("CREATE TABLE m(i INTEGER)");
    std::vector<Task<Rows>> tasks;
    for (int i = 0; i < 20; ++i) tasks.push_back(db.query("INSERT INTO m VALUES (?)", i));
    co_await when_all(std::move(tasks));
    Rows r = co_await db.query("SELECT count(*) FROM m");
    EXPECT_EQ(r.front().get<int>(0), 20);
  }());
}

TEST_F(SqliteTest, LoopKeepsTickingDuringASlowQuery) {
  SqliteDb db = SqliteDb::open(path());
  int ticks = 0;
  Timer ticker(loop_);
  ticker.start(
      5, [&] { ++ticks; }, true);
  uint64_t start = Loop::hrtime();
  run(loop_, [&]() -> Task<void> {
    Rows r = co_await db.query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
        "SELECT count(*) FROM c");
    EXPECT_EQ(r.front().get<int>(0), 1000000);
  }());
  double ms = double(Loop::hrtime() - start) / 1e6;
  ticker.clear();
  EXPECT_GT(ms, 50.0) << "the query should be slow enough to matter";
  EXPECT_GE(ticks, int(ms / 5 / 4)) << ms << " ms, " << ticks << " ticks";
}

TEST_F(SqliteTest, OpenFailsClearly) {
  try {
    SqliteOptions o;
    o.create = false;
    SqliteDb::open((dir_ / "missing" / "x.db").string(), o);
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::kConnection);
    EXPECT_EQ(e.sqlstate(), "08001");
  }
}

}  // namespace

namespace {

// An empty blob is a zero-length blob, not NULL (an empty vector's data() is a null pointer);
// the same for an empty string through every way text binds.
TEST_F(SqliteTest, EmptyBlobAndEmptyTextAreNotNull) {
  SqliteDb db = SqliteDb::open(path());
  run(loop_, [&]() -> Task<void> {
    co_await db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, data BLOB)");
    Bytes empty;
    std::string empty_text;
    co_await db.query("INSERT INTO t(id, data) VALUES (1, ?)", empty);
    co_await db.query("INSERT INTO t(id, data) VALUES (2, ?)", empty_text);
    co_await db.query("INSERT INTO t(id, data) VALUES (3, ?)", std::string_view());
    Value empty_value{Bytes{}};
    co_await db.query("INSERT INTO t(id, data) VALUES (4, ?)", empty_value);
    Rows rows = co_await db.query("SELECT typeof(data) AS t, length(data) AS n FROM t ORDER BY id");
    EXPECT_EQ(rows.size(), 4u);
    if (rows.size() != 4) co_return;
    EXPECT_EQ(rows[0].get<std::string>("t"), "blob");
    EXPECT_EQ(rows[1].get<std::string>("t"), "text");
    EXPECT_EQ(rows[2].get<std::string>("t"), "text");
    EXPECT_EQ(rows[3].get<std::string>("t"), "blob");
    for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].get<int>("n"), 0) << i;
    Rows back = co_await db.query("SELECT data FROM t WHERE id = 1");
    EXPECT_FALSE(back[0].is_null("data"));
    EXPECT_EQ(back[0].get<Bytes>("data"), Bytes{});
  }());
}

// A moved-from SqliteDb fails with a clear DbError instead of a null dereference.
TEST_F(SqliteTest, MovedFromDbIsAClearError) {
  SqliteDb db = SqliteDb::open(path());
  SqliteDb other = std::move(db);
  EXPECT_TRUE(db.path().empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(db.max_connections(), 0u);
  run(loop_, [&]() -> Task<void> {
    for (int what = 0; what < 3; ++what) {
      try {
        if (what == 0) co_await db.query("SELECT 1");
        if (what == 1) co_await db.exec("SELECT 1");
        if (what == 2) co_await db.begin();
        ADD_FAILURE() << "a moved-from SqliteDb ran a statement";
      } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kUsage);
        EXPECT_NE(std::string(e.what()).find("moved from"), std::string::npos) << e.what();
      }
    }
    Rows rows = co_await other.query("SELECT 1 AS one");
    EXPECT_EQ(rows[0].get<int>("one"), 1);
  }());
}

}  // namespace
