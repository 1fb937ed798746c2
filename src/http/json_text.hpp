// res.json's serializer: the text nlohmann's dump() writes (compact, UTF-8 as is, invalid UTF-8
// throws), appended to the body, without dump()'s byte-at-a-time UTF-8 decoding.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace brigade::http::detail {

void append_json_text(std::string& out, const nlohmann::json& value);

}  // namespace brigade::http::detail
