#pragma once
// Outgoing connections (Node's net.connect), as coroutines.
#include <cstdint>
#include <stop_token>
#include <string_view>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"

namespace brigade::net {

// Connects to a NUMERIC IPv4 or IPv6 address ("127.0.0.1", "::1"). Hostnames are not resolved
// here (that is the DNS layer's job): they fail with Error(EINVAL, "connect"). Failures throw
// Error(errno, "connect") (ECONNREFUSED, ENETUNREACH...). A stopped token aborts the attempt
// with CancelledError; for a connect timeout use with_timeout(ms, [&](std::stop_token t) {
// return connect(loop, ip, port, t); }), which throws TimeoutError.
Task<Stream> connect(Loop& loop, std::string_view ip, uint16_t port, std::stop_token token = {});

// Connects to a Unix stream socket at `path` (a leading '\0' makes a Linux abstract name).
Task<Stream> connect_unix(Loop& loop, std::string_view path, std::stop_token token = {});

}  // namespace brigade::net
