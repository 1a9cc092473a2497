// What a route handler sees and returns. Handlers are plain functions of a Request; the
// HTTP server owns sockets, bodies, limits, logging and metrics.
#ifndef MDS_SERVER_HTTP_MESSAGE_HPP
#define MDS_SERVER_HTTP_MESSAGE_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mds::server::http {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> path_params; // "{id}" in the route pattern → "id"
  std::map<std::string, std::string> query;
  std::string content_type;
  // Request headers by lower-case name (a repeated header keeps its last value).
  std::map<std::string, std::string> headers;
  // Routes with BodyMode::Buffered get the body here; BodyMode::Spooled routes get it in
  // a temporary file that is removed once the answer is sent.
  std::string body;
  std::filesystem::path body_file;
  std::uint64_t body_size = 0;
  // BodyMode::Spooled: the body's SHA-256 in lower-case hex, computed as it was written,
  // so a content-addressed upload is checked without reading it back.
  std::string body_sha256;
  // The holder of the admin token, on authenticated routes.
  std::string actor;

  std::optional<std::string> query_param(const std::string &name) const;
  // `name` in lower case.
  std::optional<std::string> header(const std::string &name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json"; // no Content-Type header when empty
  std::string body;
  // A body shared with a cache of answers, sent in place of `body` without a copy: the
  // HTTP server holds it until the answer has gone out.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A file sent instead of `body`: `file_length` bytes from `file_offset`, streamed by the
  // HTTP server (opened when the answer is queued).
  std::filesystem::path file;
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;

  static Response json(unsigned status, std::string body);
  static Response text(unsigned status, std::string content_type, std::string body);
  // {"error": {"code": 800, "name": "unauthorized", "message": "..."}} with the status
  // that fits the code.
  static Response error(const Error &error);
};

// The HTTP status for an error code: 400 for bad input, 401, 404, 409 for conflicts and
// forbidden moves, 413, 429, 500 for our own failures.
unsigned http_status_for(ErrorCode code);

} // namespace mds::server::http

#endif
