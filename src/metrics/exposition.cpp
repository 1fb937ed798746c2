// The text exposition format 0.0.4.
#include "brigade/metrics/exposition.hpp"

#include <charconv>
#include <cmath>

namespace brigade::metrics {

namespace {

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Whole numbers up to 2^53 as integers ("3", not "3e+00"); the rest shortest round-trip.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, end);
  }
  // Plain decimals where they are short ("0.0001", not "1e-04": le labels read as written).
  double a = std::fabs(v);
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v,
                                 a >= 1e-6 && a < 1e15 ? std::chars_format::fixed
                                                       : std::chars_format::general);
  return std::string(buf, end);
}

std::string format_text(const std::vector<MetricFamily>& families) {
  std::string out;
  out.reserve(families.size() * 256);
  for (const MetricFamily& f : families) {
    out.append("# HELP ").append(f.name).append(" ").append(escape_help(f.help)).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(type_name(f.type)).append("\n");
    for (const Sample& s : f.samples) {
      out.append(s.name);
      if (!s.labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < s.labels.size(); ++i) {
          if (i) out += ',';
          out.append(s.labels[i].first).append("=\"");
          out.append(escape_label_value(s.labels[i].second)).append("\"");
        }
        out += '}';
      }
      out.append(" ").append(format_value(s.value)).append("\n");
    }
  }
  return out;
}

}  // namespace brigade::metrics
