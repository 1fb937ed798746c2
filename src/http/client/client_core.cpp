#include "client_core.hpp"

#include <cassert>

#include "brigade/error.hpp"

namespace brigade::http::detail {

namespace {
// One socket curl asked to watch.
struct SocketWatch {
  IoWatch watch;
  ClientCore* core;
};

void on_io(IoWatch& w, uint32_t events) {
  auto* sw = static_cast<SocketWatch*>(w.data);
  // curl may remove (and this frees) the watch inside socket_action: copy what is needed first.
  ClientCore* core = sw->core;
  int fd = w.fd;
  int flags = 0;
  if (events & (io::kReadable | io::kHangup)) flags |= CURL_CSELECT_IN;
  if (events & io::kWritable) flags |= CURL_CSELECT_OUT;
  if (events & io::kError) flags |= CURL_CSELECT_ERR;
  core->socket_action(fd, flags);
}
}  // namespace

ClientCore::ClientCore(Loop& l, const ClientOptions& o)
    : loop(l), options(o), self(std::make_shared<ClientCore*>(this)) {
  multi = curl_multi_init();
  if (!multi) throw FetchError(FetchError::Kind::kNetwork, "fetch: curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &ClientCore::on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &ClientCore::on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  if (o.max_connections_per_origin > 0)
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, o.max_connections_per_origin);
  if (o.max_connections > 0)
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.max_connections);
}

ClientCore::~ClientCore() {
  *self = nullptr;
  // Copy: abort() removes each from `active`.
  auto pending = active;
  for (auto& [t, keep] : pending) {
    if (loop_gone) t->waiter = nullptr;  // a frame left on a dead loop is never resumed
    t->abort(std::make_exception_ptr(
        FetchError(FetchError::Kind::kClosed, "fetch " + t->url + ": the client was closed")));
  }
  if (!loop_gone && timer) loop.clear_timer(timer);
  // Closing the cached connections tells the socket callback to remove their watches.
  curl_multi_cleanup(multi);
}

void ClientCore::start(const std::shared_ptr<Transfer>& t) {
  CURLMcode rc = curl_multi_add_handle(multi, t->easy);
  if (rc != CURLM_OK)
    throw FetchError(FetchError::Kind::kNetwork,
                     "fetch " + t->url + ": " + curl_multi_strerror(rc));
  t->in_multi = true;
  t->counted = true;
  loop.ref();  // the loop lives while a transfer is in flight (its watches and timer do not count)
  active.emplace(t.get(), t);
}

void ClientCore::remove(Transfer* t) {
  if (!t->in_multi) return;
  t->in_multi = false;
  curl_multi_remove_handle(multi, t->easy);
  if (t->counted && !loop_gone) loop.unref();
  t->counted = false;
  t->core = nullptr;
  active.erase(t);  // may free t if nothing else holds it: callers hold a reference
}

void ClientCore::socket_action(curl_socket_t fd, int flags) {
  int running = 0;
  curl_multi_socket_action(multi, fd, flags, &running);
  read_messages();
}

void ClientCore::read_messages() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* raw = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
    CURLcode result = msg->data.result;  // msg is invalid after remove_handle
    auto it = active.find(raw);
    if (it == active.end()) continue;
    std::shared_ptr<Transfer> keep = it->second;
    keep->complete(result);
  }
}

int ClientCore::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp, void* socketp) {
  auto* core = static_cast<ClientCore*>(userp);
  auto* sw = static_cast<SocketWatch*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (sw) {
      if (!core->loop_gone) core->loop.io_stop(sw->watch);
      curl_multi_assign(core->multi, fd, nullptr);
      delete sw;
    }
    return 0;
  }
  if (core->loop_gone) return -1;
  if (!sw) {
    sw = new SocketWatch{};
    sw->core = core;
    sw->watch.fd = fd;
    sw->watch.handler = &on_io;
    sw->watch.data = sw;
    sw->watch.ref = false;  // transfers keep the loop alive, not idle sockets
    curl_multi_assign(core->multi, fd, sw);
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= io::kReadable;
  if (what & CURL_POLL_OUT) events |= io::kWritable;
  if (sw->watch.active && sw->watch.events == events) return 0;
  if (core->loop.io_start(sw->watch, events) != 0) return -1;  // curl fails the transfer
  return 0;
}

int ClientCore::on_timer(CURLM* /*multi*/, long timeout_ms, void* userp) {
  auto* core = static_cast<ClientCore*>(userp);
  if (core->loop_gone) return -1;
  if (core->timer) core->loop.clear_timer(core->timer);
  core->timer = {};
  if (timeout_ms < 0) return 0;
  if (timeout_ms == 0) {
    // "Now": in this iteration's check phase, outside curl (a timer would wait a whole 1 ms).
    if (!core->immediate_pending) {
      core->immediate_pending = true;
      core->loop.set_immediate([self = core->self] {
        if (ClientCore* c = *self) {
          c->immediate_pending = false;
          c->socket_action(CURL_SOCKET_TIMEOUT, 0);
        }
      });
    }
    return 0;
  }
  core->timer = core->loop.set_timeout(uint64_t(timeout_ms), [core] {
    core->timer = {};
    core->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  core->loop.unref_timer(core->timer);
  return 0;
}

}  // namespace brigade::http::detail
