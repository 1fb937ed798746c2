#pragma once
// ClientCore: the curl multi handle of one Client, driven by the loop. curl's socket callback
// becomes I/O watches, its timer callback a loop timer (or an immediate for "now").
#include <curl/curl.h>

#include <memory>
#include <unordered_map>

#include "brigade/http/client.hpp"
#include "brigade/loop/loop.hpp"
#include "transfer.hpp"

namespace brigade::http::detail {

struct ClientCore {
  ClientCore(Loop& loop, const ClientOptions& options);
  ~ClientCore();

  // Hands a prepared transfer to curl; throws FetchError if curl refuses it.
  void start(const std::shared_ptr<Transfer>& t);
  // Takes it out of curl (done, aborted); the transfer keeps its answer.
  void remove(Transfer* t);
  // The loop died before the client (a shared client at thread exit): touch it no more.
  void forget_loop() noexcept { loop_gone = true; }

  void socket_action(curl_socket_t fd, int flags);
  void read_messages();

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);

  Loop& loop;
  const ClientOptions& options;
  CURLM* multi = nullptr;
  std::unordered_map<Transfer*, std::shared_ptr<Transfer>> active;
  TimerId timer;
  std::shared_ptr<ClientCore*> self;  // immediates find the core through it (null once gone)
  bool immediate_pending = false;
  bool loop_gone = false;
};

}  // namespace brigade::http::detail
