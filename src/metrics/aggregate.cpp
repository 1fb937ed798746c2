// Families from several processes merged into one set.
#include "brigade/metrics/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace brigade::metrics {

using nlohmann::json;

std::string to_json(const std::vector<MetricFamily>& families) {
  json out = json::array();
  for (const MetricFamily& f : families) {
    json samples = json::array();
    for (const Sample& s : f.samples) {
      json labels = json::array();
      for (const auto& [k, v] : s.labels) labels.push_back({k, v});
      // JSON has no NaN or infinities: those go as text.
      json value = std::isfinite(s.value) ? json(s.value) : json(std::to_string(s.value));
      samples.push_back({s.name, labels, value});
    }
    out.push_back({{"name", f.name},
                   {"help", f.help},
                   {"type", int(f.type)},
                   {"aggregation", int(f.aggregation)},
                   {"samples", samples}});
  }
  return out.dump();
}

std::vector<MetricFamily> from_json(std::string_view text) {
  std::vector<MetricFamily> out;
  json in;
  try {
    in = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("metrics: families JSON: ") + e.what());
  }
  try {
    if (!in.is_array()) throw std::invalid_argument("metrics: families JSON: not an array");
    for (const json& f : in) {
      MetricFamily m;
      m.name = f.at("name").get<std::string>();
      m.help = f.at("help").get<std::string>();
      int type = f.at("type").get<int>(), aggregation = f.at("aggregation").get<int>();
      if (type < 0 || type > int(MetricType::kHistogram) || aggregation < 0 ||
          aggregation > int(Aggregation::kAverage))
        throw std::invalid_argument("metrics: families JSON: unknown type or aggregation");
      m.type = MetricType(type);
      m.aggregation = Aggregation(aggregation);
      for (const json& s : f.at("samples")) {
        Sample sample;
        sample.name = s.at(0).get<std::string>();
        for (const json& l : s.at(1))
          sample.labels.emplace_back(l.at(0).get<std::string>(), l.at(1).get<std::string>());
        const json& v = s.at(2);
        sample.value =
            v.is_number() ? v.get<double>() : std::strtod(v.get<std::string>().c_str(), nullptr);
        m.samples.push_back(std::move(sample));
      }
      out.push_back(std::move(m));
    }
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("metrics: families JSON: ") + e.what());
  }
  return out;
}

std::vector<MetricFamily> aggregate(const std::vector<std::vector<MetricFamily>>& processes) {
  struct Combined {
    double value = 0;
    std::size_t n = 0;
  };
  std::vector<MetricFamily> out;
  std::map<std::string, std::size_t> family_at;
  // Per family: (sample name, labels) -> combined value, in first-seen order.
  std::vector<std::map<std::pair<std::string, Labels>, std::size_t>> sample_at;
  std::vector<std::vector<Combined>> combined;
  for (const std::vector<MetricFamily>& families : processes) {
    for (const MetricFamily& f : families) {
      auto [it, fresh] = family_at.emplace(f.name, out.size());
      if (fresh) {
        out.push_back({f.name, f.help, f.type, f.aggregation, {}});
        sample_at.emplace_back();
        combined.emplace_back();
      }
      std::size_t fi = it->second;
      MetricFamily& into = out[fi];
      if (into.type != f.type || into.aggregation != f.aggregation) continue;
      for (const Sample& s : f.samples) {
        auto [si, new_sample] =
            sample_at[fi].emplace(std::make_pair(s.name, s.labels), into.samples.size());
        if (new_sample) {
          into.samples.push_back({s.name, s.labels, 0});
          combined[fi].push_back({});
        }
        Combined& c = combined[fi][si->second];
        switch (into.aggregation) {
          case Aggregation::kSum:
          case Aggregation::kAverage:
            c.value += s.value;
            break;
          case Aggregation::kMax:
            c.value = c.n ? std::max(c.value, s.value) : s.value;
            break;
          case Aggregation::kMin:
            c.value = c.n ? std::min(c.value, s.value) : s.value;
            break;
        }
        ++c.n;
      }
    }
  }
  for (std::size_t fi = 0; fi < out.size(); ++fi)
    for (std::size_t si = 0; si < out[fi].samples.size(); ++si) {
      const Combined& c = combined[fi][si];
      out[fi].samples[si].value =
          out[fi].aggregation == Aggregation::kAverage && c.n ? c.value / double(c.n) : c.value;
    }
  return out;
}

}  // namespace brigade::metrics
