// Request bodies sent with Content-Encoding: decoded by the body parsers (JSON, forms, text,
// multipart, buffered and streamed routes) for clients that compress with zlib, brotli and zstd;
// a zip bomb is 413, corrupt or truncated data 400, an unknown or refused coding 415.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/body.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace {

using testing::run_command;
using testing::TestServer;

std::string python() {  // Debian's: brotli and zstandard come from its packages
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

void routes(App& app) {
  app.post("/json", [](Req& req, Res& res) -> Task<void> {
    nlohmann::json v = co_await req.json();
    res.json({{"n", v["items"].size()}, {"first", v["items"][0]}});
  });
  app.post("/json-stream", RouteOptions::stream(64 << 20), [](Req& req, Res& res) -> Task<void> {
    nlohmann::json v = co_await req.json({.max_bytes = 32 << 20});
    res.json({{"n", v["items"].size()}});
  });
  app.post("/form", [](Req& req, Res& res) -> Task<void> {
    FormFields f = co_await req.form();
    res.send(std::string(form_value(f, "user")) + " " + std::string(form_value(f, "city")));
  });
  app.post("/text", [](Req& req, Res& res) -> Task<void> {
    std::string text = co_await text_body(req);
    res.send(std::to_string(text.size()) + " " + text.substr(0, 12));
  });
  app.post("/strict", [](Req& req, Res& res) -> Task<void> {
    std::string text = co_await text_body(req, {.inflate = false});
    res.send(text);
  });
  app.post("/upload", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto reading = req.multipart();  // named: g++ 12 destroys default arguments in co_await twice
    MultipartForm form = co_await reading;
    const UploadedFile* f = form.file("doc");
    res.send(std::string(form.field("title")) + " " + (f ? std::to_string(f->size) : "none"));
  });
}

TEST(BodyDecoding, ClientsThatCompressTheirBodies) {
  if (std::system((python() + " -c 'import brotli, zstandard' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "python3-brotli / python3-zstandard not installed (scripts/install-deps.sh)";
  TestServer s(routes);
  std::string script = R"(
import http.client, sys, json, zlib, gzip, brotli, zstandard
port = int(sys.argv[1])
def coded(coding, data):
    if coding == 'gzip': return gzip.compress(data)
    if coding == 'deflate': return zlib.compress(data)
    if coding == 'br': return brotli.compress(data)
    if coding == 'zstd': return zstandard.ZstdCompressor().compress(data)
def post(path, body, headers):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    c.request('POST', path, body=body, headers=headers)
    r = c.getresponse()
    return '%d %s' % (r.status, r.read().decode())
out = []
doc = json.dumps({'items': [{'id': i, 'name': 'user %d' % i} for i in range(2000)]}).encode()
for coding in ['gzip', 'deflate', 'br', 'zstd', 'GZIP', 'identity']:
    c = coding.lower()
    body = doc if c == 'identity' else coded(c, doc)
    out.append(coding + ' ' + post('/json', body, {'Content-Type': 'application/json', 'Content-Encoding': coding}))
    out.append(coding + ' ' + post('/json-stream', body, {'Content-Type': 'application/json', 'Content-Encoding': coding}))
form = b'user=ada&city=London'
out.append(post('/form', coded('br', form), {'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'br'}))
out.append(post('/text', coded('zstd', b'plain text ' * 1000), {'Content-Encoding': 'zstd'}))
# Two gzip members are one body.
out.append(post('/text', gzip.compress(b'plain text ') + gzip.compress(b'more'), {'Content-Encoding': 'gzip'}))
# multipart, gzipped whole, on a streamed route.
boundary = 'XyZ'
parts = (b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n'
         b'--XyZ\r\nContent-Disposition: form-data; name="doc"; filename="d.txt"\r\n'
         b'Content-Type: text/plain\r\n\r\n' + b'z' * 300000 + b'\r\n--XyZ--\r\n')
out.append(post('/upload', coded('gzip', parts), {'Content-Type': 'multipart/form-data; boundary=XyZ', 'Content-Encoding': 'gzip'}))
print('\n'.join(out))
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/body_decoding_client.py";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command(python() + " " + file + " " + std::to_string(s.port()), &st, 60);
  EXPECT_EQ(st, 0) << out;
  std::string expected;
  for (std::string c : {"gzip", "deflate", "br", "zstd", "GZIP", "identity"}) {
    expected += c + " 200 {\"first\":{\"id\":0,\"name\":\"user 0\"},\"n\":2000}\n";
    expected += c + " 200 {\"n\":2000}\n";
  }
  expected += "200 ada London\n";
  expected += "200 11000 plain text p\n";
  expected += "200 15 plain text m\n";
  expected += "200 report 300000\n";
  EXPECT_EQ(out, expected);
}

// curl sends prepared files: a bomb, corrupt and truncated data, codings not decoded.
TEST(BodyDecoding, BombsCorruptionAndUnknownCodings) {
  TestServer s(routes);
  std::string dir =
      std::string(BRIGADE_BINARY_DIR) + "/body_decoding_" + std::to_string(::getpid());
  std::string setup = "mkdir -p " + dir + " && cd " + dir +
                      " && head -c 67108864 /dev/zero | gzip -c > bomb.gz"
                      " && printf '{\"items\":[1]}' | gzip -c > ok.gz"
                      " && head -c 20 ok.gz > truncated.gz"
                      " && printf 'not gzip at all' > corrupt.gz"
                      " && head -c 67108864 /dev/zero | zstd -q -c > bomb.zst";
  ASSERT_EQ(std::system(setup.c_str()), 0);
  auto post = [&](const std::string& path, const std::string& file, const std::string& coding) {
    std::string cmd =
        "curl -s -w ' %{http_code}' -H 'Content-Type: application/json' "
        "-H 'Content-Encoding: " +
        coding + "' --data-binary @" + dir + "/" + file + " " + s.url(path);
    return run_command(cmd);
  };
  std::string ok = post("/json", "ok.gz", "gzip");
  EXPECT_EQ(ok, "{\"first\":1,\"n\":1} 200");
  // 64 MiB of zeros in ~64 KiB: refused once past the 1 MiB limit, on both kinds of route.
  std::string bomb = post("/json", "bomb.gz", "gzip");
  EXPECT_NE(bomb.find("over the limit of 1048576 bytes once decoded"), std::string::npos) << bomb;
  EXPECT_TRUE(bomb.ends_with(" 413")) << bomb;
  std::string streamed = post("/json-stream", "bomb.zst", "zstd");
  EXPECT_NE(streamed.find("over the limit of 33554432 bytes once decoded"), std::string::npos)
      << streamed;
  EXPECT_TRUE(streamed.ends_with(" 413")) << streamed;
  std::string corrupt = post("/json", "corrupt.gz", "gzip");
  EXPECT_NE(corrupt.find("Bad Request: the gzip body cannot be decoded: "), std::string::npos)
      << corrupt;
  EXPECT_TRUE(corrupt.ends_with(" 400")) << corrupt;
  std::string truncated = post("/json-stream", "truncated.gz", "gzip");
  EXPECT_NE(truncated.find("ends too early"), std::string::npos) << truncated;
  EXPECT_TRUE(truncated.ends_with(" 400")) << truncated;
  std::string unknown = post("/json", "ok.gz", "compress");
  EXPECT_NE(unknown.find("unsupported Content-Encoding 'compress'"), std::string::npos) << unknown;
  EXPECT_TRUE(unknown.ends_with(" 415")) << unknown;
  std::string several = post("/json", "ok.gz", "gzip, br");
  EXPECT_NE(several.find("more than one content coding"), std::string::npos) << several;
  EXPECT_TRUE(several.ends_with(" 415")) << several;
  std::string refused = post("/strict", "ok.gz", "gzip");
  EXPECT_NE(refused.find("Content-Encoding 'gzip' is not accepted here"), std::string::npos)
      << refused;
  EXPECT_TRUE(refused.ends_with(" 415")) << refused;
  // The connection still answers after each refusal (a buffered route read the whole body).
  EXPECT_EQ(post("/json", "ok.gz", "x-gzip"), "{\"first\":1,\"n\":1} 200");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace brigade::http
