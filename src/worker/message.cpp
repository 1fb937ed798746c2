#include "brigade/worker/message.hpp"

#include <cxxabi.h>

#include <cstdlib>

namespace brigade {

namespace {
std::string readable(const std::type_info& t) {
  int status = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : t.name();
  std::free(name);
  return out;
}
}  // namespace

MessageTypeError::MessageTypeError(const std::type_info& held, const std::type_info& wanted)
    : what_(held == typeid(void)
                ? "Message: empty, get<" + readable(wanted) + "> asked"
                : "Message: holds " + readable(held) + ", get<" + readable(wanted) + "> asked") {}

}  // namespace brigade
