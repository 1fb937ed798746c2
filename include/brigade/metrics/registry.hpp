#pragma once
// Prometheus metrics (prom-client's model): a Registry of counters, gauges and histograms, each
// a Family of children by label values, plus collectors that report figures read at scrape time
// (the loop, the pools, the process: runtime.hpp). The hot path is lock-free: a child's inc(),
// set() and observe() are relaxed atomic operations; only labels(...) takes the family's lock, so
// keep the child it returns.
//
//   metrics::Registry& r = metrics::Registry::global();
//   metrics::Counter& signups = r.counter("app_signups_total", "Accounts made").labels();
//   metrics::Family<metrics::Histogram>& jobs =
//       r.histogram("app_job_seconds", "Job run time", {"kind"}, {0.01, 0.1, 1});
//   signups.inc();
//   jobs.labels({"resize"}).observe(0.042);
//   std::string text = r.expose();  // the text exposition format 0.0.4 (exposition.hpp)
//
// Names follow Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]*; labels [a-zA-Z_][a-zA-Z0-9_]*, not
// "__..."; "le" is a histogram's own); a bad name, a wrong number of label values, or a name
// registered again with another type, help or labels throws std::invalid_argument. Registering
// the same definition again returns the existing family.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::metrics {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// How the cluster primary combines one family's samples from its workers (aggregate.hpp).
enum class Aggregation : uint8_t { kSum, kMax, kMin, kAverage };

using Labels = std::vector<std::pair<std::string, std::string>>;

// One line of the exposition: the full name (with _bucket/_sum/_count), labels, value.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// A family's samples at one moment, what gather() returns and the exposition is made of.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  Aggregation aggregation = Aggregation::kSum;
  std::vector<Sample> samples;
};

// Request durations and loop delays in seconds: 100 us to 10 s (prom-client's defaults and
// the sub-millisecond steps an event loop's answers take).
std::vector<double> default_buckets();

class Counter {
 public:
  // Adds `v` (>= 0; a negative amount throws std::invalid_argument: counters only go up).
  void inc(double v = 1);
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound and then +Inf (the last is the count), and the sum.
  std::vector<uint64_t> cumulative() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// What Family<M> shares: the definition and how its children become samples.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  virtual void collect(MetricFamily& out) const = 0;

 protected:
  void check_values(std::size_t count) const;
  Labels labels_of(const std::vector<std::string>& values) const;
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
};

template <typename M>
class Family : public FamilyBase {
 public:
  template <typename... MakeArgs>
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> labels,
         MakeArgs... make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        make_([make...] { return std::make_unique<M>(make...); }) {}

  // The child for these label values (in the order of the label names), made on first use.
  // Its address is stable for the family's life.
  M& labels(std::initializer_list<std::string_view> values = {}) {
    return labels(std::vector<std::string>(values.begin(), values.end()));
  }
  M& labels(std::vector<std::string> values) {
    check_values(values.size());
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(std::move(values), make_()).first;
    return *it->second;
  }

  void collect(MetricFamily& out) const override;

 private:
  std::function<std::unique_ptr<M>()> make_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

template <>
void Family<Counter>::collect(MetricFamily& out) const;
template <>
void Family<Gauge>::collect(MetricFamily& out) const;
template <>
void Family<Histogram>::collect(MetricFamily& out) const;

class Registry;

// A registered collector; unregisters when destroyed (move-only).
class Collector {
 public:
  Collector() noexcept = default;
  Collector(Registry* registry, uint64_t id) noexcept : registry_(registry), id_(id) {}
  Collector(Collector&& o) noexcept : registry_(o.registry_), id_(o.id_) { o.registry_ = nullptr; }
  Collector& operator=(Collector&& o) noexcept;
  ~Collector() { reset(); }
  void reset() noexcept;

 private:
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

// Appends families read at scrape time; runs on the thread that gathers.
using CollectFn = std::function<void(std::vector<MetricFamily>& out)>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process's default registry (what http::metrics_handler() serves by default).
  static Registry& global();

  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names = {},
                               std::vector<double> buckets = default_buckets());

  // Adds a collector, called by every gather() until the returned handle goes. The collector
  // must not call this registry (gather holds its lock while it runs).
  [[nodiscard]] Collector add_collector(CollectFn fn);

  // Every family's samples (registered ones, then collected; families of the same name merged).
  std::vector<MetricFamily> gather() const;
  // gather() in the text exposition format.
  std::string expose() const;

 private:
  friend class Collector;
  FamilyBase* find(const std::string& name, MetricType type,
                   const std::vector<std::string>& label_names, const std::string& help);
  void remove_collector(uint64_t id) noexcept;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::map<uint64_t, CollectFn> collectors_;
  uint64_t next_id_ = 1;
};

// Checks a metric or label name against Prometheus' rules (std::invalid_argument naming it).
void check_metric_name(std::string_view name);
void check_label_name(std::string_view name);

// Adds an empty family to `out` and returns it (for collectors).
MetricFamily& add_family(std::vector<MetricFamily>& out, std::string name, std::string help,
                         MetricType type, Aggregation aggregation = Aggregation::kSum);
// A histogram's samples: `cumulative` has one count per bound and then +Inf's.
void add_histogram_samples(MetricFamily& family, const std::vector<double>& bounds,
                           const std::vector<uint64_t>& cumulative, double sum,
                           const Labels& labels = {});

}  // namespace brigade::metrics
