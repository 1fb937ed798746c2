// The registry, its families and children, and the samples they become at scrape time.
#include "brigade/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "brigade/metrics/exposition.hpp"

namespace brigade::metrics {

std::vector<double> default_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

namespace {

bool name_char(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

}  // namespace

void check_metric_name(std::string_view name) {
  bool ok = !name.empty();
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = name_char(name[i], i == 0, true);
  if (!ok)
    throw std::invalid_argument("metrics: bad metric name \"" + std::string(name) +
                                "\" (letters, digits, _ and :, not a digit first)");
}

void check_label_name(std::string_view name) {
  bool ok = !name.empty() && name.substr(0, 2) != "__";
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = name_char(name[i], i == 0, false);
  if (!ok)
    throw std::invalid_argument("metrics: bad label name \"" + std::string(name) +
                                "\" (letters, digits and _, not a digit first, not __...)");
}

// ---- Children -------------------------------------------------------------------------------

void Counter::inc(double v) {
  if (!(v >= 0)) throw std::invalid_argument("metrics: a counter only goes up (inc by a negative)");
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i])))
      throw std::invalid_argument("metrics: histogram buckets must increase");
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
  // The first bucket whose bound is >= v ("le"); past the last, +Inf's.
  std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                           bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

// ---- Families -------------------------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  check_metric_name(name_);
  for (const std::string& l : label_names_) {
    check_label_name(l);
    if (type_ == MetricType::kHistogram && l == "le")
      throw std::invalid_argument("metrics: \"le\" is a histogram's own label (" + name_ + ")");
  }
}

void FamilyBase::check_values(std::size_t count) const {
  if (count == label_names_.size()) return;
  std::string names;
  for (const std::string& l : label_names_) names += (names.empty() ? "" : ", ") + l;
  throw std::invalid_argument("metrics: " + name_ + " takes " +
                              std::to_string(label_names_.size()) + " label value(s) (" + names +
                              "), got " + std::to_string(count));
}

Labels FamilyBase::labels_of(const std::vector<std::string>& values) const {
  Labels out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(label_names_[i], values[i]);
  return out;
}

template <>
void Family<Counter>::collect(MetricFamily& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [values, child] : children_)
    out.samples.push_back({name_, labels_of(values), child->value()});
}

template <>
void Family<Gauge>::collect(MetricFamily& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [values, child] : children_)
    out.samples.push_back({name_, labels_of(values), child->value()});
}

template <>
void Family<Histogram>::collect(MetricFamily& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [values, child] : children_)
    add_histogram_samples(out, child->bounds(), child->cumulative(), child->sum(),
                          labels_of(values));
}

MetricFamily& add_family(std::vector<MetricFamily>& out, std::string name, std::string help,
                         MetricType type, Aggregation aggregation) {
  out.push_back({std::move(name), std::move(help), type, aggregation, {}});
  return out.back();
}

void add_histogram_samples(MetricFamily& f, const std::vector<double>& bounds,
                           const std::vector<uint64_t>& cumulative, double sum,
                           const Labels& labels) {
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    Labels l = labels;
    l.emplace_back("le", i < bounds.size() ? format_value(bounds[i]) : "+Inf");
    f.samples.push_back({f.name + "_bucket", std::move(l), double(cumulative[i])});
  }
  f.samples.push_back({f.name + "_sum", labels, sum});
  f.samples.push_back(
      {f.name + "_count", labels, cumulative.empty() ? 0.0 : double(cumulative.back())});
}

// ---- Collectors -----------------------------------------------------------------------------

Collector& Collector::operator=(Collector&& o) noexcept {
  if (this != &o) {
    reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void Collector::reset() noexcept {
  if (registry_) registry_->remove_collector(id_);
  registry_ = nullptr;
}

// ---- The registry ---------------------------------------------------------------------------

Registry& Registry::global() {
  static Registry* r = new Registry;  // never destroyed: collectors may unregister at exit
  return *r;
}

FamilyBase* Registry::find(const std::string& name, MetricType type,
                           const std::vector<std::string>& label_names, const std::string& help) {
  for (auto& f : families_) {
    if (f->name() != name) continue;
    if (f->type() != type || f->label_names() != label_names || f->help() != help)
      throw std::invalid_argument("metrics: " + name +
                                  " is registered already with another type, help or labels");
    return f.get();
  }
  return nullptr;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  if (FamilyBase* f = find(name, MetricType::kCounter, label_names, help))
    return static_cast<Family<Counter>&>(*f);
  auto f = std::make_unique<Family<Counter>>(std::move(name), std::move(help), MetricType::kCounter,
                                             std::move(label_names));
  families_.push_back(std::move(f));
  return static_cast<Family<Counter>&>(*families_.back());
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  if (FamilyBase* f = find(name, MetricType::kGauge, label_names, help))
    return static_cast<Family<Gauge>&>(*f);
  auto f = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), MetricType::kGauge,
                                           std::move(label_names));
  families_.push_back(std::move(f));
  return static_cast<Family<Gauge>&>(*families_.back());
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> buckets) {
  Histogram check(buckets);  // bad buckets throw here, before anything is registered
  std::lock_guard lock(mu_);
  if (FamilyBase* f = find(name, MetricType::kHistogram, label_names, help))
    return static_cast<Family<Histogram>&>(*f);
  auto f =
      std::make_unique<Family<Histogram>>(std::move(name), std::move(help), MetricType::kHistogram,
                                          std::move(label_names), check.bounds());
  families_.push_back(std::move(f));
  return static_cast<Family<Histogram>&>(*families_.back());
}

Collector Registry::add_collector(CollectFn fn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  collectors_.emplace(id, std::move(fn));
  return Collector(this, id);
}

void Registry::remove_collector(uint64_t id) noexcept {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::vector<MetricFamily> Registry::gather() const {
  std::vector<MetricFamily> out;
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    MetricFamily& m = add_family(out, f->name(), f->help(), f->type());
    f->collect(m);
  }
  for (const auto& [id, fn] : collectors_) fn(out);
  // One family per name: a collector may report a family in several pieces (one per pool...).
  std::vector<MetricFamily> merged;
  merged.reserve(out.size());
  for (MetricFamily& f : out) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&f](const MetricFamily& m) { return m.name == f.name; });
    if (same == merged.end()) {
      merged.push_back(std::move(f));
      continue;
    }
    for (Sample& s : f.samples) same->samples.push_back(std::move(s));
  }
  return merged;
}

std::string Registry::expose() const { return format_text(gather()); }

}  // namespace brigade::metrics
