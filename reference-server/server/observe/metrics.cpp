#include "server/observe/metrics.hpp"

#include <cstdio>
#include <sstream>

namespace mds::server {
namespace {

// Route patterns are ours and contain no quotes or backslashes, but escape anyway so a
// future label with user text cannot break the exposition format.
std::string label_value(const std::string &raw) {
  std::string out;
  for (char c : raw) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

} // namespace

void Metrics::record_request(const std::string &route, const std::string &method, unsigned status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++request_counts_[{route, method, status}];
  auto &histogram = latency_by_route_[route];
  ++histogram.count;
  histogram.sum += seconds;
  for (std::size_t i = 0; i < kBucketBounds.size(); ++i) {
    if (seconds <= kBucketBounds[i]) {
      ++histogram.buckets[i];
      break;
    }
  }
}

std::string Metrics::render(const Gauges &gauges) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mutex_);

  out << "# HELP mds_http_requests_total HTTP requests answered, by route pattern, method and status.\n"
      << "# TYPE mds_http_requests_total counter\n";
  for (const auto &[key, count] : request_counts_) {
    const auto &[route, method, status] = key;
    out << "mds_http_requests_total{route=\"" << label_value(route) << "\",method=\"" << label_value(method)
        << "\",status=\"" << status << "\"} " << count << '\n';
  }

  out << "# HELP mds_http_request_duration_seconds Time from the first byte of a request to the end of its answer.\n"
      << "# TYPE mds_http_request_duration_seconds histogram\n";
  for (const auto &[route, histogram] : latency_by_route_) {
    const auto label = label_value(route);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBucketBounds.size(); ++i) {
      cumulative += histogram.buckets[i];
      out << "mds_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"" << number(kBucketBounds[i])
          << "\"} " << cumulative << '\n';
    }
    out << "mds_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"+Inf\"} " << histogram.count << '\n'
        << "mds_http_request_duration_seconds_sum{route=\"" << label << "\"} " << number(histogram.sum) << '\n'
        << "mds_http_request_duration_seconds_count{route=\"" << label << "\"} " << histogram.count << '\n';
  }

  out << "# HELP mds_http_requests_in_flight Requests received and not yet answered.\n"
      << "# TYPE mds_http_requests_in_flight gauge\n"
      << "mds_http_requests_in_flight " << gauges.requests_in_flight << '\n'
      << "# HELP mds_db_size_bytes Size of the database files (main file and write-ahead log).\n"
      << "# TYPE mds_db_size_bytes gauge\n"
      << "mds_db_size_bytes " << gauges.db_size_bytes << '\n';
  return out.str();
}

} // namespace mds::server
