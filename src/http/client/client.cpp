#include "brigade/http/client.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/loop_handle.hpp"
#include "callbacks.hpp"
#include "client_core.hpp"
#include "transfer.hpp"

namespace brigade::http {

struct Client::Impl : detail::ClientCore {
  using ClientCore::ClientCore;
};

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("fetch: curl_global_init failed");
    // Without the threaded resolver, curl resolves names inside socket_action: on the loop.
    const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_ASYNCHDNS))
      throw std::runtime_error("fetch: libcurl lacks AsynchDNS; name lookups would block the loop");
  });
}

bool body_forbidden(const std::string& method) { return method == "GET" || method == "HEAD"; }

curl_slist* header_lines(const ClientOptions& client, const FetchOptions& options) {
  FetchHeaders merged;
  for (const auto& [name, value] : client.default_headers.fields())
    if (!options.headers.has(name)) merged.append(name, value);
  for (const auto& [name, value] : options.headers.fields()) merged.append(name, value);
  // fetch sends a string body as text/plain unless told otherwise (curl would say form data).
  if ((!options.body.empty() || options.body_stream) && !merged.has("content-type"))
    merged.append("content-type", "text/plain;charset=UTF-8");
  if (!merged.has("expect")) merged.append("Expect", "");  // no 100-continue round trip
  curl_slist* list = nullptr;
  for (const auto& [name, value] : merged.fields()) {
    if (name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      curl_slist_free_all(list);
      throw std::invalid_argument("fetch: invalid header '" + name + "'");
    }
    // "Name:" removes a header curl would add; "Name;" sends it empty.
    std::string line = name + (value.empty() && name != "Expect" ? ";" : ": " + value);
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = next;
  }
  return list;
}

std::shared_ptr<detail::Transfer> prepare(Client::Impl& core, Loop& loop, std::string url,
                                          FetchOptions& options) {
  const ClientOptions& co = core.options;
  bool has_body = !options.body.empty() || options.body_stream;
  if (body_forbidden(options.method) && has_body)
    throw std::invalid_argument("fetch: a " + options.method + " request cannot have a body");
  if (!options.body.empty() && options.body_stream)
    throw std::invalid_argument("fetch: both body and body_stream");
  auto t = std::make_shared<detail::Transfer>();
  t->core = &core;
  t->loop = &loop;
  t->url = std::move(url);
  t->request_headers = header_lines(co, options);  // before the body moves: it looks at it
  t->body = std::move(options.body);
  t->redirect = options.redirect;
  t->max_response_size = co.max_response_size;
  t->max_header_size = co.max_header_size;
  t->high_water = co.body_buffer_size;
  t->easy = curl_easy_init();
  if (!t->easy) throw FetchError(FetchError::Kind::kNetwork, "fetch: curl_easy_init failed");

  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &detail::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &detail::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->request_headers);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every decoder curl has
  curl_easy_setopt(e, CURLOPT_USERAGENT, co.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // a proxy's CONNECT answer
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, long(co.connect_timeout_ms));
  uint64_t timeout = options.timeout_ms ? options.timeout_ms : co.timeout_ms;
  if (timeout) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, long(timeout));
  // curl counts a connection's idle age in whole seconds.
  curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, long((co.keep_alive_timeout_ms + 999) / 1000));
  if (!co.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, co.ca_file.c_str());
  if (!co.cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, co.cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEY, co.key_file.c_str());
  }
  if (co.max_response_size)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(co.max_response_size));
  if (options.redirect == Redirect::kFollow) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, long(options.max_redirects));
  }
  if (options.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (options.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
  } else if (options.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, options.method.c_str());  // curl copies it
  }
  if (options.body_stream) {
    t->body_source =
        std::make_shared<std::function<Task<std::string>()>>(std::move(options.body_stream));
    curl_easy_setopt(e, CURLOPT_POST, 1L);  // with CUSTOMREQUEST for PUT and the others
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &detail::on_upload);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    // The size from a content-length header the caller set, else chunked.
    std::string_view length = options.headers.get("content-length");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     length.empty() ? curl_off_t(-1) : curl_off_t(std::stoll(std::string(length))));
  } else if (!t->body.empty() || options.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(t->body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
  }
  return t;
}

// Waits for the final answer's head (or the failure).
struct HeadAwaiter {
  std::shared_ptr<detail::Transfer> t;
  std::coroutine_handle<> handle;
  bool suspended = false;
  HeadAwaiter(std::shared_ptr<detail::Transfer> tr) : t(std::move(tr)) {}
  HeadAwaiter(HeadAwaiter&& o) noexcept : t(std::move(o.t)) {}
  ~HeadAwaiter() {
    // The fetching frame is destroyed while it waits: stop the transfer, nobody will read it.
    if (suspended && t->waiter == handle) {
      t->waiter = nullptr;
      t->abort(std::make_exception_ptr(CancelledError("fetch " + t->url)));
    }
  }
  bool await_ready() const noexcept { return t->head_done || t->done; }
  void await_suspend(std::coroutine_handle<> h) {
    t->waiter = h;
    handle = h;
    suspended = true;
  }
  void await_resume() {
    suspended = false;
    if (!t->head_done) std::rethrow_exception(t->error);
  }
};

struct SharedClient {
  Loop* loop;
  std::shared_ptr<LoopHandle> handle;
  std::unique_ptr<Client> client;
};

// The per-thread list of shared clients. A loop that died first leaves its client behind: it is
// told to touch the loop no more before it is freed.
struct SharedClients {
  std::vector<SharedClient> entries;
  ~SharedClients() {
    for (auto& e : entries) forget_if_dead(e);
  }
  static void forget_if_dead(SharedClient& e);
};

thread_local SharedClients t_shared;

}  // namespace

void SharedClients::forget_if_dead(SharedClient& e) {
  if (!e.handle->alive()) e.client->impl().forget_loop();
}

Client::Client(Loop& loop, ClientOptions options) : loop_(loop), options_(std::move(options)) {
  global_init();
  impl_ = std::make_unique<Impl>(loop_, options_);
}

Client::~Client() = default;

std::size_t Client::in_flight() const noexcept { return impl_->active.size(); }

Task<Response> Client::fetch(std::string url, FetchOptions options) {
  if (options.signal.stop_requested()) throw CancelledError("fetch " + url);
  std::shared_ptr<detail::Transfer> t = prepare(*impl_, loop_, std::move(url), options);
  impl_->start(t);
  if (options.signal.stop_possible())
    t->stop.emplace(loop_, options.signal, detail::Transfer::OnStop{t.get()});
  HeadAwaiter head(t);  // named: g++ 12 destroys a temporary awaiter twice
  co_await head;
  co_return Response(std::move(t));
}

Client& Client::shared(Loop& loop) {
  auto& entries = t_shared.entries;
  const std::shared_ptr<LoopHandle>& handle = loop.handle();
  for (auto it = entries.begin(); it != entries.end();) {
    if (it->loop == &loop && it->handle == handle) return *it->client;
    if (!it->handle->alive()) {  // a dead loop's client (maybe at this very address)
      it->client->impl().forget_loop();
      it = entries.erase(it);
    } else {
      ++it;
    }
  }
  entries.push_back(SharedClient{&loop, handle, std::make_unique<Client>(loop)});
  return *entries.back().client;
}

Task<Response> fetch(std::string url, FetchOptions options) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("brigade: fetch needs a loop on this thread");
  return Client::shared(*loop).fetch(std::move(url), std::move(options));
}

}  // namespace brigade::http
