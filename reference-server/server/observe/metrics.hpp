// Request counters and latency histograms in Prometheus' text exposition format.
// Labels are route patterns ("/v1/admin/releases/{id}"), never raw paths, so the number
// of series stays bounded whatever clients send. Thread-safe.
#ifndef MDS_SERVER_OBSERVE_METRICS_HPP
#define MDS_SERVER_OBSERVE_METRICS_HPP

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace mds::server {

class Metrics {
public:
  void record_request(const std::string &route, const std::string &method, unsigned status, double seconds);

  // Gauges the caller measures when scraped.
  struct Gauges {
    std::uint64_t db_size_bytes = 0;
    std::int64_t requests_in_flight = 0;
  };
  std::string render(const Gauges &gauges) const;

private:
  static constexpr std::array<double, 12> kBucketBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                           0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  struct Histogram {
    std::array<std::uint64_t, kBucketBounds.size()> buckets{}; // non-cumulative; summed when rendered
    std::uint64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> request_counts_;
  std::map<std::string, Histogram> latency_by_route_;
};

} // namespace mds::server

#endif
