// PgConnection against a real server: types both ways, errors, prepared statements, pipeline,
// LISTEN/NOTIFY, and the loop kept free while the server works.
#include "brigade/db/pg_connection.hpp"

#include <gtest/gtest.h>

#include "brigade/task/combinators.hpp"
#include "pg_server.hpp"

using namespace brigade;
using namespace brigade::db;
using brigade::test::PgTest;

namespace {

using PgConnectionTest = PgTest;

TEST_F(PgConnectionTest, ResultTypesAndNulls) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    Rows rows = co_await c->query(
        "SELECT 1::int2 AS a, 2::int4 AS b, 3000000000::int8 AS c, 1.5::float8 AS d, true AS e, "
        "'txt'::text AS f, NULL::int AS g, '\\x00ff10'::bytea AS h, 12.25::numeric AS i, "
        "'2024-01-02'::date AS j");
    EXPECT_EQ(rows.size(), 1u);
    Row r = rows.front();
    EXPECT_EQ(r["a"].type(), Type::kInt);
    EXPECT_EQ(r.get<int>("a"), 1);
    EXPECT_EQ(r.get<int>("b"), 2);
    EXPECT_EQ(r.get<int64_t>("c"), 3000000000LL);
    EXPECT_THROW(r.get<int>("c"), DbError);  // does not fit
    EXPECT_DOUBLE_EQ(r.get<double>("d"), 1.5);
    EXPECT_EQ(r["e"].type(), Type::kBool);
    EXPECT_TRUE(r.get<bool>("e"));
    EXPECT_EQ(r.get<std::string>("f"), "txt");
    EXPECT_TRUE(r.is_null("g"));
    EXPECT_EQ(r.get<std::optional<int>>("g"), std::nullopt);
    EXPECT_THROW(r.get<int>("g"), DbError);
    EXPECT_EQ(r.get<Bytes>("h"), (Bytes{0x00, 0xff, 0x10}));
    EXPECT_DOUBLE_EQ(r.get<double>("i"), 12.25);  // numeric comes as text, reads as a number
    EXPECT_EQ(r.get<std::string>("j"), "2024-01-02");
    Rows many = co_await c->query("SELECT g FROM generate_series(1, 500) g");
    int64_t sum = 0;
    for (Row row : many) sum += row.get<int64_t>(0);
    EXPECT_EQ(sum, 500 * 501 / 2);
  }());
}

TEST_F(PgConnectionTest, ParametersBindFromCppValues) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    Bytes blob{1, 0, 2, 255};
    std::optional<int> none;
    std::optional<std::string> some = "opt";
    std::string s = "it's \"quoted\"";
    Rows rows = co_await c->query(
        "SELECT $1 + 1 AS i, $2 * 2 AS d, NOT $3 AS b, $4 || '!' AS t, length($5) AS n, "
        "$6::int IS NULL AS isnull, $7::text AS o, $8::text IS NULL AS np, $9::text AS sv, $10 AS "
        "big",
        41, 0.25, false, s, blob, none, some, nullptr, std::string_view("view"), int64_t{1} << 40);
    Row r = rows.front();
    EXPECT_EQ(r.get<int>("i"), 42);
    EXPECT_DOUBLE_EQ(r.get<double>("d"), 0.5);
    EXPECT_TRUE(r.get<bool>("b"));
    EXPECT_EQ(r.get<std::string>("t"), s + "!");
    EXPECT_EQ(r.get<int>("n"), 4);
    EXPECT_TRUE(r.get<bool>("isnull"));
    EXPECT_EQ(r.get<std::string>("o"), "opt");
    EXPECT_TRUE(r.get<bool>("np"));
    EXPECT_EQ(r.get<std::string>("sv"), "view");
    EXPECT_EQ(r.get<int64_t>("big"), int64_t{1} << 40);
    Rows echo = co_await c->query("SELECT $1::bytea AS b", blob);
    EXPECT_EQ(echo.front().get<Bytes>("b"), blob);

    co_await c->query("CREATE TEMP TABLE items(id serial PRIMARY KEY, name text, price float8)");
    Rows ins = co_await c->query("INSERT INTO items(name, price) VALUES ($1, $2), ($3, $4)", "a",
                                 1.0, "b", 2.5);
    EXPECT_EQ(ins.affected(), 2);
    Rows sel = co_await c->query("SELECT name FROM items WHERE id = $1", 2);
    EXPECT_EQ(sel.front().get<std::string>("name"), "b");
    Rows upd = co_await c->query("UPDATE items SET price = price + $1", 1);
    EXPECT_EQ(upd.affected(), 2);
  }());
}

TEST_F(PgConnectionTest, ErrorsCarrySqlstateAndTheConnectionStaysUsable) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    co_await c->query("CREATE TEMP TABLE u(email text UNIQUE)");
    co_await c->query("INSERT INTO u VALUES ($1)", "a@x");
    auto failure = [&](std::string sql) -> Task<DbError> {
      try {
        co_await c->query(std::move(sql));
      } catch (const DbError& e) {
        co_return e;
      }
      co_return DbError(DbError::Kind::kUsage, "none", "no error");
    };
    DbError syntax = co_await failure("SELEC 1");
    EXPECT_EQ(syntax.sqlstate(), "42601");
    EXPECT_EQ(syntax.kind(), DbError::Kind::kServer);
    EXPECT_NE(std::string(syntax.what()).find("syntax"), std::string::npos) << syntax.what();
    EXPECT_EQ((co_await failure("SELECT * FROM nowhere")).sqlstate(), "42P01");
    EXPECT_EQ((co_await failure("SELECT 1 / 0")).sqlstate(), "22012");
    DbError dup = co_await failure("INSERT INTO u VALUES ('a@x')");
    EXPECT_EQ(dup.sqlstate(), "23505");
    EXPECT_NE(dup.detail().find("a@x"), std::string::npos) << dup.detail();
    Rows ok = co_await c->query("SELECT 7");
    EXPECT_EQ(ok.front().get<int>(0), 7);
  }());
}

TEST_F(PgConnectionTest, PreparedStatements) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    co_await c->prepare("add", "SELECT $1::int + $2::int AS sum");
    EXPECT_TRUE(c->is_prepared("add"));
    for (int i = 0; i < 5; ++i) {
      Rows r = co_await c->execute("add", i, 10);
      EXPECT_EQ(r.front().get<int>("sum"), i + 10);
    }
    bool threw = false;
    try {
      co_await c->execute("missing", 1);
    } catch (const DbError& e) {
      threw = true;
      EXPECT_EQ(e.sqlstate(), "26000");  // invalid_sql_statement_name
    }
    EXPECT_TRUE(threw);
  }());
}

TEST_F(PgConnectionTest, ConcurrentStatementsArePipelined) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    std::vector<Statement> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(statement("SELECT $1::int * 2", i));
    std::vector<Rows> out = co_await c->pipeline(std::move(batch));
    EXPECT_EQ(out.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i].front().get<int>(0), 2 * i);

    // One failure in a batch fails only itself: the statements around it still ran.
    co_await c->query("CREATE TEMP TABLE p(x int)");
    std::vector<Statement> mixed;
    mixed.push_back(statement("INSERT INTO p VALUES (1)"));
    mixed.push_back(statement("INSERT INTO p VALUES ('not a number')"));
    mixed.push_back(statement("INSERT INTO p VALUES (3)"));
    EXPECT_THROW(co_await c->pipeline(std::move(mixed)), DbError);
    Rows sum = co_await c->query("SELECT sum(x)::int FROM p");
    EXPECT_EQ(sum.front().get<int>(0), 4);
    EXPECT_EQ(c->in_flight(), 0u);
  }());
}

TEST_F(PgConnectionTest, ListenNotifyIsAStream) {
  run(loop_, [&]() -> Task<void> {
    auto listener = co_await PgConnection::connect(conninfo_);
    auto sender = co_await PgConnection::connect(conninfo_);
    co_await listener->listen("jobs");
    co_await listener->listen("Other Channel");
    for (int i = 0; i < 3; ++i) co_await sender->notify("jobs", "job " + std::to_string(i));
    co_await sender->notify("Other Channel", "");
    for (int i = 0; i < 3; ++i) {
      Notification n = co_await listener->next_notification(2000);
      EXPECT_EQ(n.channel, "jobs");
      EXPECT_EQ(n.payload, "job " + std::to_string(i));
      EXPECT_EQ(n.backend_pid, sender->backend_pid());
    }
    Notification other = co_await listener->next_notification(2000);
    EXPECT_EQ(other.channel, "Other Channel");
    // A notification sent inside a transaction arrives at commit, while the listener waits.
    auto later = [&]() -> Task<void> {
      co_await brigade::sleep(30);
      co_await sender->query("BEGIN");
      co_await sender->query("SELECT pg_notify('jobs', 'in tx')");
      co_await brigade::sleep(30);
      co_await sender->query("COMMIT");
    };
    auto [n, done] = co_await when_all(listener->next_notification(5000), later());
    EXPECT_EQ(n.payload, "in tx");
    uint64_t start = loop_.now();
    try {
      co_await listener->next_notification(50);
      ADD_FAILURE() << "expected a timeout";
    } catch (const DbError& e) {
      EXPECT_EQ(e.kind(), DbError::Kind::kTimeout);
    }
    EXPECT_GE(loop_.now() - start, 40u);
    co_await listener->unlisten("jobs");
    co_await sender->notify("jobs", "unheard");
    co_await sender->query("SELECT 1");
    co_await listener->query("SELECT 1");  // a round trip: anything sent before has arrived
    EXPECT_EQ(listener->pending_notifications(), 0u);
  }());
}

TEST_F(PgConnectionTest, LoopKeepsTickingWhileTheServerWorks) {
  int ticks = 0;
  Timer ticker(loop_);
  ticker.start(
      5, [&] { ++ticks; }, true);
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    co_await c->query("SELECT pg_sleep(0.3)");
  }());
  ticker.clear();
  EXPECT_GE(ticks, 15) << "the loop was blocked";
}

TEST_F(PgConnectionTest, ConnectFailsClearly) {
  run(loop_, []() -> Task<void> {
    try {
      co_await PgConnection::connect("host=127.0.0.1 port=1 user=x connect_timeout=2", 3000);
      ADD_FAILURE() << "connected to port 1?";
    } catch (const DbError& e) {
      EXPECT_EQ(e.kind(), DbError::Kind::kConnection);
      EXPECT_EQ(e.sqlstate(), "08001");
      EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
  }());
}

TEST_F(PgConnectionTest, HostNamesAndUrls) {
  std::string port = conninfo_.substr(conninfo_.find("port=") + 5);
  port = port.substr(0, port.find(' '));
  run(loop_, [&]() -> Task<void> {
    std::string by_name = "host=localhost port=" + port + " user=postgres dbname=postgres";
    auto a = co_await PgConnection::connect(by_name);
    EXPECT_EQ((co_await a->query("SELECT 1")).front().get<int>(0), 1);
    auto b =
        co_await PgConnection::connect("postgresql://postgres@127.0.0.1:" + port + "/postgres");
    EXPECT_EQ((co_await b->query("SELECT 2")).front().get<int>(0), 2);
    try {
      co_await PgConnection::connect("host=no-such-host.invalid user=x");
      ADD_FAILURE() << "resolved an .invalid name";
    } catch (const DbError& e) {
      EXPECT_EQ(e.sqlstate(), "08001") << e.what();
    }
    EXPECT_THROW(co_await PgConnection::connect("nonsense without equals"), DbError);
  }());
}

TEST_F(PgConnectionTest, ClientTimeoutCancelsOnlyThatStatement) {
  run(loop_, [&]() -> Task<void> {
    auto c = co_await PgConnection::connect(conninfo_);
    uint64_t start = loop_.now();
    try {
      co_await c->run("SELECT pg_sleep(5)", std::vector<Value>(), 150);
      ADD_FAILURE() << "expected a timeout";
    } catch (const DbError& e) {
      EXPECT_EQ(e.kind(), DbError::Kind::kTimeout) << e.what();
      EXPECT_EQ(e.sqlstate(), "57014");
    }
    loop_.update_time();
    EXPECT_LT(loop_.now() - start, 3000u);
    Rows r = co_await c->query("SELECT 5");  // the same connection carries on
    EXPECT_EQ(r.front().get<int>(0), 5);
    EXPECT_TRUE(c->ok());
  }());
}

}  // namespace
