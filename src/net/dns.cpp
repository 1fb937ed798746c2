// dns::lookup: getaddrinfo on the pool, results copied out as numeric strings.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include "brigade/net/dns.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

#include "brigade/error.hpp"

namespace brigade::dns {

namespace {

class GaiCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int eai) const override { return ::gai_strerror(eai); }
};

struct AddrInfoList {
  addrinfo* head = nullptr;
  ~AddrInfoList() {
    if (head) ::freeaddrinfo(head);
  }
};

[[noreturn]] void throw_gai_error(int eai, const std::string& host) {
  if (eai == EAI_SYSTEM) throw Error(errno, "getaddrinfo '" + host + "'");
  std::string op = "getaddrinfo " + std::string(gai_code_name(eai)) + " " + host;
  throw Error(std::error_code(eai, gai_category()), std::move(op));
}

Address address_of(const addrinfo& ai) {
  char text[INET6_ADDRSTRLEN];
  const void* raw =
      ai.ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai.ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai.ai_addr)->sin_addr);
  ::inet_ntop(ai.ai_family, raw, text, sizeof text);
  return Address{text, ai.ai_family == AF_INET6 ? 6 : 4};
}

std::vector<Address> resolve(const std::string& host, LookupOptions options) {
  addrinfo hints{};
  hints.ai_family = options.family == 4 ? AF_INET : options.family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
  hints.ai_flags = options.hints;
  AddrInfoList list;
  if (int eai = ::getaddrinfo(host.c_str(), nullptr, &hints, &list.head))
    throw_gai_error(eai, host);
  std::vector<Address> out;
  for (addrinfo* ai = list.head; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    out.push_back(address_of(*ai));
    if (!options.all) break;
  }
  if (out.empty()) throw_gai_error(EAI_NODATA, host);
  return out;
}

}  // namespace

const std::error_category& gai_category() noexcept {
  static const GaiCategory category;
  return category;
}

std::string_view gai_code_name(int eai) noexcept {
  switch (eai) {
    case EAI_NONAME:
    case EAI_NODATA:
      return "ENOTFOUND";
    case EAI_AGAIN:
      return "EAI_AGAIN";
    case EAI_FAIL:
      return "EAI_FAIL";
    case EAI_FAMILY:
      return "EAI_FAMILY";
    case EAI_ADDRFAMILY:
      return "EAI_ADDRFAMILY";
    case EAI_BADFLAGS:
      return "EAI_BADFLAGS";
    case EAI_MEMORY:
      return "EAI_MEMORY";
    case EAI_SERVICE:
      return "EAI_SERVICE";
    case EAI_SOCKTYPE:
      return "EAI_SOCKTYPE";
    case EAI_SYSTEM:
      return "EAI_SYSTEM";
    default:
      return "EAI_UNKNOWN";
  }
}

Task<std::vector<Address>> lookup(std::string host, LookupOptions options, ThreadPool& pool) {
  if (options.family != 0 && options.family != 4 && options.family != 6)
    throw std::invalid_argument("dns::lookup: family must be 0, 4 or 6");
  auto job = pool.run([host = std::move(host), options] { return resolve(host, options); },
                      WorkKind::kSlow);
  co_return co_await job;
}

}  // namespace brigade::dns
