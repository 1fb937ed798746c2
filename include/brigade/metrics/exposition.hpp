#pragma once
// The Prometheus text exposition format, version 0.0.4: per family "# HELP" and "# TYPE" lines,
// then one line per sample, `name{label="value",...} value`.
#include <string>
#include <string_view>
#include <vector>

#include "brigade/metrics/registry.hpp"

namespace brigade::metrics {

// The Content-Type a scrape answer carries.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string format_text(const std::vector<MetricFamily>& families);

// A label value with \ " and newline escaped (\\ \" \n).
std::string escape_label_value(std::string_view value);
// HELP text with \ and newline escaped.
std::string escape_help(std::string_view help);
// A sample value: integers without a fraction, others as the shortest text that reads back the
// same double, and +Inf, -Inf, NaN.
std::string format_value(double value);

}  // namespace brigade::metrics
