// Structured logs: one JSON object per line on stderr, so a log shipper needs no parser
// of its own. Thread-safe and never interleaving lines.
//
// Lines are appended to a buffer that a writer thread flushes shortly after the first
// line of a batch arrives (flush_delay), so a request costs no write(2) of its own and no
// HTTP thread ever waits on the log's file while holding a lock another thread needs.
// A line reaches the sink within flush_delay plus one write; flush() and the destructor
// write everything logged so far. A buffer above kMaxPendingBytes is written by the
// thread that filled it, so a sink slower than the load slows requests rather than
// growing memory without bound.
#ifndef MDS_SERVER_OBSERVE_LOGGER_HPP
#define MDS_SERVER_OBSERVE_LOGGER_HPP

#include <mds/error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mds::server {

class Logger {
public:
  static constexpr std::size_t kMaxPendingBytes = 1u << 20;
  static constexpr std::chrono::milliseconds kDefaultFlushDelay{2};

  explicit Logger(std::FILE *sink = stderr, std::chrono::milliseconds flush_delay = kDefaultFlushDelay);
  ~Logger();
  Logger(const Logger &) = delete;
  Logger &operator=(const Logger &) = delete;

  void info(std::string_view event, std::string_view message) { write("info", event, message); }
  void warn(std::string_view event, std::string_view message) { write("warn", event, message); }
  void error(std::string_view event, std::string_view message) { write("error", event, message); }
  // An error with its code and name: {"level":"error","event":..,"code":104,"name":"io_error",..}.
  void failure(std::string_view event, const Error &error);

  void request(std::string_view method, std::string_view path, std::string_view route, unsigned status,
               double duration_ms, std::string_view actor);

  // Writes every line logged before the call to the sink.
  void flush();

private:
  void write(std::string_view level, std::string_view event, std::string_view message);
  void emit(std::string_view line);
  void write_out(const std::string &lines);
  void run_writer();

  std::FILE *sink_;
  const std::chrono::milliseconds flush_delay_;
  std::mutex sink_mutex_; // keeps batches whole and in order on the sink
  std::mutex mutex_;      // guards pending_ and stopping_
  std::condition_variable wake_;
  std::string pending_;
  bool stopping_ = false;
  std::thread writer_;
};

} // namespace mds::server

#endif
