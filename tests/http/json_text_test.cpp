// res.json's serializer writes exactly what nlohmann's dump() writes, and refuses what it refuses.
#include "../../src/http/json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace {

using nlohmann::json;

std::string text_of(const json& v) {
  std::string out = "prefix:";
  brigade::http::detail::append_json_text(out, v);
  return out.substr(7);
}

TEST(JsonText, ScalarsAsDumpWritesThem) {
  for (const json& v :
       {json(nullptr), json(true), json(false), json(0), json(-1), json(42u),
        json(std::numeric_limits<int64_t>::min()), json(std::numeric_limits<int64_t>::max()),
        json(std::numeric_limits<uint64_t>::max()), json(1.0), json(-0.0), json(0.1), json(1e300),
        json(5e-324), json(std::numeric_limits<double>::quiet_NaN()),
        json(std::numeric_limits<double>::infinity()), json(""), json("plain"),
        json(json::binary_t({1, 2, 3}))})
    EXPECT_EQ(text_of(v), v.dump());
}

TEST(JsonText, StringsEscapeAsDumpDoes) {
  std::string every_control;
  for (int c = 1; c < 0x20; ++c) every_control += static_cast<char>(c);
  for (const std::string& s :
       {std::string("quote \" backslash \\ slash /"), every_control, std::string("\x7f del"),
        std::string("nul \0 inside", 12), std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
        std::string("tab\tnew\nline\r"), std::string("\"")})
    EXPECT_EQ(text_of(json(s)), json(s).dump()) << s;
}

TEST(JsonText, InvalidUtf8ThrowsAsDumpDoesAndKeyOrderIsDumps) {
  EXPECT_THROW(text_of(json("bad \xff byte")), json::type_error);
  EXPECT_THROW(text_of(json({{"k\xc3", 1}})), json::type_error);
  json o = {{"b", 1}, {"a", {1, 2, {{"z", nullptr}, {"y", json::array()}}}}, {"", json::object()}};
  EXPECT_EQ(text_of(o), o.dump());
}

TEST(JsonText, RandomDocumentsMatchDump) {
  std::mt19937_64 rng(20261203);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto random_string = [&] {
    static const std::string pieces[] = {"a",
                                         "Z",
                                         "0",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "/"};
    std::string s;
    for (int i = pick(12); i > 0; --i) s += pieces[pick(14)];
    return s;
  };
  std::function<json(int)> random_value = [&](int depth) -> json {
    switch (pick(depth > 3 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return pick(2) == 0;
      case 2:
        return static_cast<int64_t>(rng()) >> pick(64);
      case 3:
        return rng() >> pick(64);
      case 4:
        return std::ldexp(static_cast<double>(static_cast<int64_t>(rng())), pick(80) - 100);
      case 5:
        return random_string();
      case 6: {
        json a = json::array();
        for (int i = pick(5); i > 0; --i) a.push_back(random_value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int i = pick(5); i > 0; --i) o[random_string()] = random_value(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    json v = random_value(0);
    ASSERT_EQ(text_of(v), v.dump()) << "document " << i;
  }
}

}  // namespace
