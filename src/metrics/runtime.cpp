// Runtime collectors: the loop, the pools and the process in Prometheus' names.
#include "brigade/metrics/runtime.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace brigade::metrics {

// ---- LatencyHistogram as buckets ------------------------------------------------------------
// The histogram shows its buckets only through percentile(): the value at rank r (1-based) is
// percentile at (r - 0.5) / count, and ranks are searched by bisection.

namespace {

uint64_t value_at_rank(const LatencyHistogram& h, uint64_t rank) {
  return h.percentile(100.0 * (double(rank) - 0.5) / double(h.count()));
}

// The largest rank in [lo, hi] whose value is at most `ns` (value(lo) <= ns is known).
uint64_t last_rank_at_most(const LatencyHistogram& h, uint64_t lo, uint64_t hi, uint64_t ns) {
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    if (value_at_rank(h, mid) <= ns)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

// (bucket value, cumulative count) for every bucket holding values.
std::vector<std::pair<uint64_t, uint64_t>> steps_of(const LatencyHistogram& h) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t n = h.count();
  for (uint64_t rank = 1; rank <= n;) {
    uint64_t v = value_at_rank(h, rank);
    uint64_t last = last_rank_at_most(h, rank, n, v);
    out.emplace_back(v, last);
    rank = last + 1;
  }
  return out;
}

constexpr double kNs = 1e-9;

}  // namespace

uint64_t count_at_most(const LatencyHistogram& h, uint64_t ns) {
  uint64_t n = h.count();
  if (n == 0) return 0;
  if (h.max() <= ns) return n;
  if (value_at_rank(h, 1) > ns) return 0;
  return last_rank_at_most(h, 1, n, ns);
}

void add_latency_samples(MetricFamily& family, const LatencyHistogram& h,
                         const std::vector<double>& bounds_s, const Labels& labels) {
  std::vector<uint64_t> cumulative;
  cumulative.reserve(bounds_s.size() + 1);
  for (double b : bounds_s) cumulative.push_back(count_at_most(h, uint64_t(b * 1e9)));
  cumulative.push_back(h.count());
  double sum = h.mean() * double(h.count()) * kNs;
  add_histogram_samples(family, bounds_s, cumulative, sum, labels);
}

LatencyHistogram LatencyWindow::take(const LatencyHistogram& cumulative) {
  std::vector<std::pair<uint64_t, uint64_t>> now = steps_of(cumulative);
  if (cumulative.count() < previous_count_) previous_.clear();  // reset underneath: start over
  LatencyHistogram out;
  std::size_t j = 0;
  uint64_t before_at = 0;  // previous cumulative count at or below the current value
  int64_t last_now = 0, last_before = 0;
  for (const auto& [value, count] : now) {
    while (j < previous_.size() && previous_[j].first <= value) before_at = previous_[j++].second;
    int64_t fresh = (int64_t(count) - last_now) - (int64_t(before_at) - last_before);
    for (int64_t k = 0; k < fresh; ++k) out.record(value);
    last_now = int64_t(count);
    last_before = int64_t(before_at);
  }
  previous_ = std::move(now);
  previous_count_ = cumulative.count();
  return out;
}

// ---- Collectors -----------------------------------------------------------------------------

Collector collect_loop(Registry& registry, Loop& loop) {
  return registry.add_collector(
      [&loop, bounds = default_buckets()](std::vector<MetricFamily>& out) {
        const LoopMetrics& m = loop.metrics();
        MetricFamily& delay = add_family(
            out, "brigade_eventloop_delay_seconds",
            "How long the loop was busy per iteration that did work: the longest an event waited",
            MetricType::kHistogram);
        add_latency_samples(delay, m.delay, bounds);
        struct Figure {
          const char* name;
          const char* help;
          double value;
          Aggregation aggregation;
        };
        const Figure figures[] = {
            {"brigade_eventloop_delay_p50_seconds", "Loop delay, 50th percentile since start",
             double(m.delay.percentile(50)) * kNs, Aggregation::kMax},
            {"brigade_eventloop_delay_p90_seconds", "Loop delay, 90th percentile since start",
             double(m.delay.percentile(90)) * kNs, Aggregation::kMax},
            {"brigade_eventloop_delay_p99_seconds", "Loop delay, 99th percentile since start",
             double(m.delay.percentile(99)) * kNs, Aggregation::kMax},
            {"brigade_eventloop_delay_min_seconds", "Shortest loop delay since start",
             double(m.delay.min()) * kNs, Aggregation::kMin},
            {"brigade_eventloop_delay_max_seconds", "Longest loop delay since start",
             double(m.delay.max()) * kNs, Aggregation::kMax},
            {"brigade_eventloop_delay_mean_seconds", "Mean loop delay since start",
             m.delay.mean() * kNs, Aggregation::kAverage},
            {"brigade_eventloop_utilization_ratio",
             "Event-loop utilization since start: busy time over busy and idle time",
             m.elu.utilization(), Aggregation::kAverage},
        };
        for (const Figure& f : figures)
          add_family(out, f.name, f.help, MetricType::kGauge, f.aggregation)
              .samples.push_back({f.name, {}, f.value});
        add_family(out, "brigade_eventloop_active_seconds_total",
                   "Time the loop spent running work", MetricType::kCounter)
            .samples.push_back(
                {"brigade_eventloop_active_seconds_total", {}, double(m.elu.active_ns) * kNs});
        add_family(out, "brigade_eventloop_idle_seconds_total",
                   "Time the loop spent waiting for events", MetricType::kCounter)
            .samples.push_back(
                {"brigade_eventloop_idle_seconds_total", {}, double(m.elu.idle_ns) * kNs});
        add_family(out, "brigade_eventloop_blocked_total",
                   "Times the loop was busy past the blocked-loop threshold", MetricType::kCounter)
            .samples.push_back({"brigade_eventloop_blocked_total", {}, double(m.blocked_count)});
      });
}

Collector collect_thread_pool(Registry& registry, ThreadPool& pool) {
  return registry.add_collector([&pool,
                                 bounds = default_buckets()](std::vector<MetricFamily>& out) {
    ThreadPoolStats s = pool.stats();
    auto gauge = [&out](const char* name, const char* help, double v) {
      add_family(out, name, help, MetricType::kGauge).samples.push_back({name, {}, v});
    };
    gauge("brigade_threadpool_threads", "Threads of the thread pool", double(s.threads));
    gauge("brigade_threadpool_queued_tasks", "Tasks waiting for a thread-pool thread",
          double(s.queued));
    gauge("brigade_threadpool_running_tasks", "Tasks running on the thread pool",
          double(s.running));
    add_family(out, "brigade_threadpool_completed_tasks_total", "Tasks the thread pool ran",
               MetricType::kCounter)
        .samples.push_back({"brigade_threadpool_completed_tasks_total", {}, double(s.completed)});
    MetricFamily& wait =
        add_family(out, "brigade_threadpool_wait_seconds",
                   "Time thread-pool tasks waited from enqueue to start", MetricType::kHistogram);
    add_latency_samples(wait, s.wait_ns, bounds);
  });
}

Collector collect_worker_pool(Registry& registry, const WorkerPool& pool, std::string name) {
  return registry.add_collector(
      [&pool, name = std::move(name), bounds = default_buckets()](std::vector<MetricFamily>& out) {
        PoolStats s = pool.stats();
        Labels pool_label = {{"pool", name}};
        auto gauge = [&](const char* metric, const char* help, double v,
                         Aggregation a = Aggregation::kSum) {
          add_family(out, metric, help, MetricType::kGauge, a)
              .samples.push_back({metric, pool_label, v});
        };
        gauge("brigade_workerpool_threads", "Worker threads alive", double(s.threads));
        gauge("brigade_workerpool_idle_threads", "Worker threads waiting for work",
              double(s.idle_threads));
        gauge("brigade_workerpool_queued_tasks", "Tasks waiting for a worker thread",
              double(s.queue_size));
        gauge("brigade_workerpool_running_tasks", "Tasks running on a worker thread",
              double(s.running));
        gauge("brigade_workerpool_utilization_ratio",
              "Time spent running tasks over time alive times max threads", s.utilization,
              Aggregation::kAverage);
        MetricFamily& tasks = add_family(out, "brigade_workerpool_tasks_total",
                                         "Tasks that ended, by outcome", MetricType::kCounter);
        const std::pair<const char*, uint64_t> outcomes[] = {{"completed", s.completed},
                                                             {"failed", s.failed},
                                                             {"cancelled", s.cancelled},
                                                             {"timed_out", s.timed_out}};
        for (const auto& [outcome, n] : outcomes)
          tasks.samples.push_back({tasks.name, {{"pool", name}, {"outcome", outcome}}, double(n)});
        add_latency_samples(add_family(out, "brigade_workerpool_wait_seconds",
                                       "Time tasks waited from run() to start on a worker thread",
                                       MetricType::kHistogram),
                            s.wait_time, bounds, pool_label);
        add_latency_samples(add_family(out, "brigade_workerpool_run_seconds",
                                       "Time tasks ran on a worker thread", MetricType::kHistogram),
                            s.run_time, bounds, pool_label);
      });
}

namespace {

// /proc/self/stat's start time in seconds since the epoch (boot time + ticks since boot).
double process_start_time() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::size_t paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) ticks = std::strtoull(field.c_str(), nullptr, 10);
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  double boot = 0;
  while (std::getline(proc_stat, line))
    if (line.rfind("btime ", 0) == 0) boot = std::strtod(line.c_str() + 6, nullptr);
  long hz = ::sysconf(_SC_CLK_TCK);
  return boot + double(ticks) / double(hz > 0 ? hz : 100);
}

double open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the directory's own fd
}

}  // namespace

Collector collect_process(Registry& registry) {
  double start = process_start_time();
  return registry.add_collector([start](std::vector<MetricFamily>& out) {
    auto one = [&out](const char* name, const char* help, MetricType type, double v,
                      Aggregation a = Aggregation::kSum) {
      add_family(out, name, help, type, a).samples.push_back({name, {}, v});
    };
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    double cpu = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) * 1e-6 +
                 double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) * 1e-6;
    one("process_cpu_seconds_total", "User and system CPU time spent in seconds",
        MetricType::kCounter, cpu);
    unsigned long long pages_virtual = 0, pages_resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%llu %llu", &pages_virtual, &pages_resident) != 2)
        pages_virtual = pages_resident = 0;
      std::fclose(f);
    }
    double page = double(::sysconf(_SC_PAGESIZE));
    one("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::kGauge,
        double(pages_resident) * page);
    one("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::kGauge,
        double(pages_virtual) * page);
    one("process_open_fds", "Number of open file descriptors", MetricType::kGauge, open_fds());
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    one("process_max_fds", "Maximum number of open file descriptors", MetricType::kGauge,
        double(fds.rlim_cur), Aggregation::kMin);
    one("process_start_time_seconds", "Start time of the process since the epoch in seconds",
        MetricType::kGauge, start, Aggregation::kMin);
  });
}

}  // namespace brigade::metrics
