#pragma once
// Big bodies compared without printing them whole on a failure.
#include <gtest/gtest.h>

#include <string>

namespace brigade::http::testing {

inline ::testing::AssertionResult same_bytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  std::size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << ", first difference at " << at;
}

}  // namespace brigade::http::testing
