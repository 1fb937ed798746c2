#pragma once
// dns::lookup: Node's dns.lookup, getaddrinfo(3) on the ThreadPool as slow work (DNS may hold at
// most half of the pool's threads, so a dead resolver cannot starve file I/O). It honours
// /etc/hosts and nsswitch as every other program on the machine does.
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::dns {

struct Address {
  std::string address;  // numeric: "127.0.0.1", "::1"
  int family = 4;       // 4 or 6, as Node reports it
};

struct LookupOptions {
  int family = 0;    // 0 (any), 4 or 6
  bool all = false;  // every address; otherwise only the first
  int hints = 0;     // getaddrinfo ai_flags: AI_ADDRCONFIG, AI_V4MAPPED, AI_NUMERICHOST...
};
// Trivially destructible, so `co_await lookup(h, {.all = true})` is safe under g++ 12's double
// destruction of braced temporaries in co_await expressions.
static_assert(std::is_trivially_destructible_v<LookupOptions>);

// The addresses of `host` in the resolver's order (one unless options.all). Failures throw
// brigade::Error: a name that does not resolve gives code() in gai_category() and what()
// "getaddrinfo ENOTFOUND <host>: Name or service not known"; EAI_SYSTEM gives the errno.
// A family other than 0, 4 or 6 throws std::invalid_argument.
Task<std::vector<Address>> lookup(std::string host, LookupOptions options = {},
                                  ThreadPool& pool = ThreadPool::shared());

// The error category of getaddrinfo's EAI_* codes (messages from gai_strerror).
const std::error_category& gai_category() noexcept;
// Node's code for an EAI_* value: "ENOTFOUND" for EAI_NONAME / EAI_NODATA, else "EAI_AGAIN",
// "EAI_FAIL", ... ("EAI_UNKNOWN" for codes it does not know).
std::string_view gai_code_name(int eai) noexcept;

}  // namespace brigade::dns
