#pragma once
// curl's header, write and read callbacks for a Transfer (CURLOPT_HEADERFUNCTION,
// CURLOPT_WRITEFUNCTION, CURLOPT_READFUNCTION).
#include <cstddef>

namespace brigade::http::detail {

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* transfer);
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* transfer);
// CURLOPT_READFUNCTION for a streamed request body.
std::size_t on_upload(char* buffer, std::size_t size, std::size_t count, void* transfer);

}  // namespace brigade::http::detail
