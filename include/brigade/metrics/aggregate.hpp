#pragma once
// Families from several processes as one (prom-client's AggregatorRegistry): what the cluster
// primary serves from its workers' registries.
#include <string>
#include <string_view>
#include <vector>

#include "brigade/metrics/registry.hpp"

namespace brigade::metrics {

// Families as JSON and back (the message a worker answers the primary with). from_json throws
// std::invalid_argument on anything that is not what to_json writes.
std::string to_json(const std::vector<MetricFamily>& families);
std::vector<MetricFamily> from_json(std::string_view text);

// One family per name and one sample per (name, labels), combined by the family's Aggregation:
// counters, histograms' buckets, sums and counts, and most gauges add up; percentiles and
// maxima take the largest, minima the smallest, ratios the average. A family whose type or
// aggregation differs between processes is kept as the first process reported it.
std::vector<MetricFamily> aggregate(const std::vector<std::vector<MetricFamily>>& processes);

}  // namespace brigade::metrics
