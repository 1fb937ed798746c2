// Body parsers with real clients: req.json(), req.form() and req.multipart() answered to curl
// and Python's urllib, with 400 (malformed), 413 (over a limit) and 415 (wrong type); a streamed
// upload larger than the server's buffers lands in a temporary file whole and is removed after.
#include "brigade/http/body.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "test_app.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace {

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Where this test's uploads go: its own folder, so leftovers are seen.
std::string upload_dir() {
  static std::string dir = [] {
    std::string d = std::string(BRIGADE_BINARY_DIR) + "/http_body_test_uploads";
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

void add_body_routes(App& app) {
  app.post("/json", [](Req& req, Res& res) -> Task<void> {
    nlohmann::json v = co_await req.json({.max_bytes = 1024});
    res.json({{"got", v}});
  });
  app.post("/form", [](Req& req, Res& res) -> Task<void> {
    FormFields f = co_await req.form({.max_bytes = 1024, .max_fields = 10});
    std::string out;
    for (auto& [k, v] : f) out += k + "=" + v + ";";
    res.send(out);
  });
  auto upload = [](Req& req, Res& res) -> Task<void> {
    MultipartOptions o;
    o.temp_dir = upload_dir();
    o.limits.max_file_bytes = 4u << 20;
    o.limits.max_field_bytes = 100;
    o.limits.max_files = 2;
    MultipartForm form = co_await req.multipart(std::move(o));
    nlohmann::json out = {{"fields", nlohmann::json::object()}, {"files", nlohmann::json::array()}};
    for (auto& [k, v] : form.fields) out["fields"][k] = v;
    for (const UploadedFile& f : form.files) {
      // Check what is on disk now: the form removes the file when it goes.
      std::ifstream in(f.path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::size_t sum = 0;
      for (unsigned char c : bytes) sum += c;
      out["files"].push_back({{"field", f.field},
                              {"filename", f.filename},
                              {"type", f.content_type},
                              {"size", f.size},
                              {"on_disk", bytes.size()},
                              {"sum", sum}});
    }
    res.json(out);
  };
  app.post("/upload", upload);
  app.post("/upload-streamed", RouteOptions::stream(), upload);
  // A handler instead of temporary files: counts the bytes of each file part.
  app.post("/upload-counted", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto counted = std::make_shared<std::string>();
    auto bytes = std::make_shared<uint64_t>(0);
    FilePartHandler on_file = [counted, bytes](const MultipartPart& part,
                                               std::string_view piece) -> Task<void> {
      if (piece.empty())
        *counted += part.name + ":" + std::to_string(std::exchange(*bytes, 0)) + ";";
      else
        *bytes += piece.size();
      co_return;
    };
    MultipartForm form = co_await req.multipart(MultipartOptions(), on_file);
    res.send(*counted + "files=" + std::to_string(form.files.size()) +
             ";path=" + (form.files.empty() ? "-" : form.files[0].path));
  });
}

std::string code_of(const std::string& curl_args, const TestServer& s, const std::string& path) {
  return run_command("curl -s -o /dev/null -w '%{http_code}' " + curl_args + " " + s.url(path));
}

TEST(HttpBody, JsonAndFormWithCurl) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  TestServer s(add_body_routes);
  EXPECT_EQ(run_command("curl -s -H 'Content-Type: application/json' -d '{\"a\":[1,2]}' " +
                        s.url("/json")),
            R"({"got":{"a":[1,2]}})");
  EXPECT_EQ(run_command("curl -s -H 'Content-Type: application/vnd.api+json; charset=utf-8' "
                        "-d '7' " +
                        s.url("/json")),
            R"({"got":7})");
  std::string bad = run_command(
      "curl -s -w ' %{http_code}' -H 'Content-Type: application/json' "
      "-d '{\"a\":' " +
      s.url("/json"));
  EXPECT_NE(bad.find("invalid JSON"), std::string::npos) << bad;
  EXPECT_TRUE(bad.ends_with(" 400")) << bad;
  EXPECT_EQ(code_of("-H 'Content-Type: application/json' --data-binary ''", s, "/json"), "400");
  EXPECT_EQ(code_of("-H 'Content-Type: text/plain' -d '{}'", s, "/json"), "415");
  std::string big = "'[" + std::string(2000, '1') + "]'";
  EXPECT_EQ(code_of("-H 'Content-Type: application/json' -d " + big, s, "/json"), "413");

  // curl -d sends application/x-www-form-urlencoded.
  EXPECT_EQ(run_command("curl -s -d 'a=1&b=x%20y+z&c' -d 'a=2' " + s.url("/form")),
            "a=1;b=x y z;c=;a=2;");
  EXPECT_EQ(code_of("-d 'a=%ZZ'", s, "/form"), "400");
  EXPECT_EQ(code_of("-d 'a=1&a=2&a=3&a=4&a=5&a=6&a=7&a=8&a=9&a=10&a=11'", s, "/form"), "413");
  EXPECT_EQ(code_of("-H 'Content-Type: application/json' -d '{}'", s, "/form"), "415");
  // The connection stays usable after a 4xx from a parser.
  std::string two =
      run_command("curl -s -d 'a=%ZZ' " + s.url("/form") + " --next -d 'ok=1' " + s.url("/form"));
  EXPECT_TRUE(two.ends_with("ok=1;")) << two;
}

TEST(HttpBody, MultipartWithCurl) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  TestServer s(add_body_routes);
  std::string dir = upload_dir();
  std::string src = std::string(BRIGADE_BINARY_DIR) + "/http_body_test_3mib.bin";
  ASSERT_EQ(std::system(("head -c 3145728 /dev/urandom > " + src).c_str()), 0);
  std::size_t sum = 0;
  {
    std::ifstream in(src, std::ios::binary);
    for (std::istreambuf_iterator<char> it(in), end; it != end; ++it)
      sum += static_cast<unsigned char>(*it);
  }
  for (const char* route : {"/upload", "/upload-streamed"}) {
    int st = -1;
    std::string out = run_command("curl -s -F title=holiday -F 'note=a b' -F 'photo=@" + src +
                                      ";type=image/png;filename=../../etc/x.png' " + s.url(route),
                                  &st);
    ASSERT_EQ(st, 0) << out;
    nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j["fields"]["title"], "holiday") << route;
    EXPECT_EQ(j["fields"]["note"], "a b") << route;
    ASSERT_EQ(j["files"].size(), 1u) << out;
    EXPECT_EQ(j["files"][0]["field"], "photo");
    EXPECT_EQ(j["files"][0]["filename"], "x.png");  // never a path
    EXPECT_EQ(j["files"][0]["type"], "image/png");
    EXPECT_EQ(j["files"][0]["size"], 3145728);
    EXPECT_EQ(j["files"][0]["on_disk"], 3145728);
    EXPECT_EQ(j["files"][0]["sum"], sum);
  }
  EXPECT_EQ(files_in(dir), 0u);  // removed with the form
  // Limits: a field over 100 bytes, a third file, a file over 4 MiB; nothing left on disk.
  EXPECT_EQ(code_of("-F 'a=" + std::string(200, 'x') + "'", s, "/upload-streamed"), "413");
  EXPECT_EQ(code_of("-F a=@" + src + " -F b=@" + src + " -F c=@" + src, s, "/upload-streamed"),
            "413");
  std::string five = std::string(BRIGADE_BINARY_DIR) + "/http_body_test_5mib.bin";
  ASSERT_EQ(std::system(("head -c 5242880 /dev/zero > " + five).c_str()), 0);
  EXPECT_EQ(code_of("-F a=@" + five, s, "/upload-streamed"), "413");
  EXPECT_EQ(files_in(dir), 0u);
  // Wrong type, no boundary, a body cut before its closing boundary.
  EXPECT_EQ(code_of("-d a=1", s, "/upload"), "415");
  EXPECT_EQ(code_of("-H 'Content-Type: multipart/form-data' -d a=1", s, "/upload"), "400");
  EXPECT_EQ(run_command("printf -- '--XX\\r\\nContent-Disposition: form-data; name=\"a\"\\r\\n"
                        "\\r\\nabc' | curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: "
                        "multipart/form-data; boundary=XX' --data-binary @- " +
                        s.url("/upload-streamed")),
            "400");
  // A handler that takes the file parts instead of temporary files.
  EXPECT_EQ(run_command("curl -s -F a=@" + src + " -F b=@" + five + " -F c=1 " +
                        s.url("/upload-counted")),
            "a:3145728;b:5242880;files=2;path=");
  std::remove(src.c_str());
  std::remove(five.c_str());
}

TEST(HttpBody, PythonUrllib) {
  if (!have("python3")) GTEST_SKIP() << "python3 not installed";
  TestServer s(add_body_routes);
  std::string script = R"(
import json, sys, urllib.request, urllib.error, urllib.parse
base = 'http://127.0.0.1:%s' % sys.argv[1]
def post(path, body, ctype):
    req = urllib.request.Request(base + path, data=body, headers={'Content-Type': ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return '%d %s' % (r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        return '%d %s' % (e.code, e.read().decode().split(':')[0])
print(post('/json', json.dumps({'name': 'Zoë'}).encode(), 'application/json'))
print(post('/form', urllib.parse.urlencode({'q': 'a&b=c', 'n': 'é'}).encode(),
           'application/x-www-form-urlencoded'))
b = 'py-boundary'
body = ('--%s\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n'
        '--%s\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        'Content-Type: text/plain\r\n\r\nhello\r\n--%s--\r\n' % (b, b, b)).encode()
r = json.loads(post('/upload-streamed', body, 'multipart/form-data; boundary=' + b)[4:])
print(r['fields']['k'], r['files'][0]['filename'], r['files'][0]['size'])
print(post('/json', b'[1,', 'application/json'))
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/http_body_test.py";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command("python3 " + file + " " + std::to_string(s.port()), &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out,
            "200 {\"got\":{\"name\":\"Zoë\"}}\n"
            "200 q=a&b=c;n=é;\n"
            "v a.txt 5\n"
            "400 Bad Request\n");
}

}  // namespace
}  // namespace brigade::http::testing
