#pragma once
// curl's header and write callbacks for a Transfer (CURLOPT_HEADERFUNCTION, CURLOPT_WRITEFUNCTION).
#include <cstddef>

namespace brigade::http::detail {

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* transfer);
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* transfer);

}  // namespace brigade::http::detail
