#include <algorithm>

#include "brigade/http/fetch.hpp"

namespace brigade::http {

namespace {
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
           return lower(x) == lower(y);
         });
}
}  // namespace

std::string_view FetchHeaders::get(std::string_view name) const {
  for (const auto& [n, v] : fields_)
    if (same_name(n, name)) return v;
  return {};
}

bool FetchHeaders::has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const Field& f) { return same_name(f.first, name); });
}

void FetchHeaders::set(std::string name, std::string value) {
  remove(name);
  fields_.emplace_back(std::move(name), std::move(value));
}

void FetchHeaders::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return same_name(f.first, name); });
}

}  // namespace brigade::http
