#include "brigade/http/server_request.hpp"

namespace brigade::http {

std::string_view ServerRequest::param(std::string_view name) const noexcept {
  for (const Param& p : params_)
    if (p.name == name) return p.escaped ? std::string_view(p.decoded) : p.raw;
  return {};
}

bool ServerRequest::has_param(std::string_view name) const noexcept {
  for (const Param& p : params_)
    if (p.name == name) return true;
  return false;
}

const QueryPairs& ServerRequest::query_pairs() const {
  if (!query_parsed_) {
    query_parsed_ = true;
    if (head_) parse_query(head_->query, query_);
  }
  return query_;
}

std::string_view ServerRequest::query(std::string_view name) const {
  for (const auto& [k, v] : query_pairs())
    if (k == name) return v;
  return {};
}

bool ServerRequest::has_query(std::string_view name) const {
  for (const auto& kv : query_pairs())
    if (kv.first == name) return true;
  return false;
}

void ServerRequest::add_param(std::string_view name, std::string_view raw) {
  Param& p = params_.emplace_back();
  p.name = name;
  p.raw = raw;
  p.escaped = needs_decoding(raw, false);
  if (p.escaped) percent_decode_append(p.decoded, raw, false);
}

void ServerRequest::clear() noexcept {
  head_ = nullptr;
  body_.clear();
  params_.clear();
  route_ = {};
  query_.clear();
  query_parsed_ = false;
}

void ServerRequest::release_memory() {
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
  if (query_.capacity() > 64) QueryPairs().swap(query_);
}

}  // namespace brigade::http
