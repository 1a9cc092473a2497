// Structured logs: one JSON object per line on stderr, so a log shipper needs no parser
// of its own. Thread-safe; each line is written with a single call so lines from
// different threads never interleave.
#ifndef MDS_SERVER_OBSERVE_LOGGER_HPP
#define MDS_SERVER_OBSERVE_LOGGER_HPP

#include <mds/error.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace mds::server {

class Logger {
public:
  explicit Logger(std::FILE *sink = stderr) : sink_(sink) {}

  void info(std::string_view event, std::string_view message) { write("info", event, message); }
  void warn(std::string_view event, std::string_view message) { write("warn", event, message); }
  void error(std::string_view event, std::string_view message) { write("error", event, message); }
  // An error with its code and name: {"level":"error","event":..,"code":104,"name":"io_error",..}.
  void failure(std::string_view event, const Error &error);

  void request(std::string_view method, std::string_view path, std::string_view route, unsigned status,
               double duration_ms, std::string_view actor);

private:
  void write(std::string_view level, std::string_view event, std::string_view message);
  void emit(const std::string &line);

  std::FILE *sink_;
  std::mutex mutex_;
};

} // namespace mds::server

#endif
