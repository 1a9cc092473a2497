#include "server/http/http_server.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <microhttpd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <thread>
#include <unistd.h>

namespace mds::server::http {

struct HttpServer::Exchange {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Request request;
  const Route *route = nullptr;
  // A refusal answered once the request has been read to its end: a request without a
  // body (answering then keeps the connection alive), or a body that crossed its limit
  // midway (the rest is read and dropped).
  std::optional<Error> refusal;
  bool responded = false;
  unsigned status = 0;
  int spool_fd = -1;
  std::optional<core::crypto::Sha256> spool_hash; // of the spooled bytes, updated as they are written

  Exchange() = default;
  Exchange(const Exchange &) = delete;
  Exchange &operator=(const Exchange &) = delete;
  ~Exchange() {
    if (spool_fd >= 0) {
      close(spool_fd);
    }
    if (!request.body_file.empty()) {
      std::error_code ignored;
      std::filesystem::remove(request.body_file, ignored);
    }
  }
};

namespace {

MHD_Result to_mhd(int ok) {
  return ok != 0 ? MHD_YES : MHD_NO;
}

MHD_Result access_trampoline(void *cls, MHD_Connection *connection, const char *url, const char *method,
                             const char * /*version*/, const char *upload_data, size_t *upload_data_size,
                             void **context) {
  return to_mhd(
      static_cast<HttpServer *>(cls)->on_access(connection, url, method, upload_data, upload_data_size, context));
}

void completed_trampoline(void *cls, MHD_Connection * /*connection*/, void **context,
                          MHD_RequestTerminationCode /*reason*/) {
  static_cast<HttpServer *>(cls)->on_completed(context);
}

void mhd_log(void *cls, const char *format, va_list arguments) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, arguments);
  std::string text = message;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  static_cast<Logger *>(cls)->warn("http", text);
}

MHD_Result collect_query(void *cls, MHD_ValueKind /*kind*/, const char *key, const char *value) {
  auto &query = *static_cast<std::map<std::string, std::string> *>(cls);
  query[key] = value != nullptr ? value : "";
  return MHD_YES;
}

MHD_Result collect_header(void *cls, MHD_ValueKind /*kind*/, const char *key, const char *value) {
  auto &headers = *static_cast<std::map<std::string, std::string> *>(cls);
  std::string name = key != nullptr ? key : "";
  for (char &c : name) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  headers[name] = value != nullptr ? value : "";
  return MHD_YES;
}

std::optional<std::string_view> header(MHD_Connection *connection, const char *name) {
  const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(value);
}

// Content-Length as a number; nullopt when absent (chunked) or not a plain number.
std::optional<std::uint64_t> content_length(MHD_Connection *connection) {
  const auto text = header(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!text || text->empty() || text->size() > 19) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

struct ResponseReleaser {
  void operator()(MHD_Response *response) const { MHD_destroy_response(response); }
};

void release_shared_body(void *held) {
  delete static_cast<std::shared_ptr<const std::string> *>(held);
}

Error too_large(std::size_t limit) {
  return make_error(ErrorCode::PayloadTooLarge,
                    "request body above the limit of " + std::to_string(limit) + " bytes for this endpoint");
}

} // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(ListenSocket socket, const HttpServerOptions &options,
                                                      const Router &router, const AdminTokens &tokens, Metrics &metrics,
                                                      Logger &logger) {
  std::unique_ptr<HttpServer> server(new HttpServer(options, router, tokens, metrics, logger));
  unsigned threads = options.threads;
  if (threads == 0) {
    threads = std::max(2u, std::thread::hardware_concurrency());
  }
  server->listen_fd_ = socket.release();
  // ITC lets quiesce and stop wake the epoll threads at once.
  const unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  // The logger comes first so that even messages about the other options reach it.
  server->daemon_ =
      MHD_start_daemon(flags, 0, nullptr, nullptr, &access_trampoline, server.get(), MHD_OPTION_EXTERNAL_LOGGER,
                       &mhd_log, &logger, MHD_OPTION_LISTEN_SOCKET, server->listen_fd_, MHD_OPTION_THREAD_POOL_SIZE,
                       threads, MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options.idle_timeout.count()),
                       MHD_OPTION_NOTIFY_COMPLETED, &completed_trampoline, server.get(), MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    close(server->listen_fd_);
    server->listen_fd_ = -1;
    return make_error(ErrorCode::IoError, "libmicrohttpd failed to start");
  }
  return server;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) {
    MHD_stop_daemon(daemon_);
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
  }
}

bool HttpServer::shut_down(std::chrono::milliseconds deadline) {
  if (daemon_ == nullptr) {
    return true;
  }
  draining_ = true;
  const MHD_socket quiesced = MHD_quiesce_daemon(daemon_);
  if (quiesced != MHD_INVALID_SOCKET) {
    close(quiesced);
    listen_fd_ = -1;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool drained = in_flight_.load() == 0;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  return drained;
}

int HttpServer::on_access(void *connection, const char *url, const char *method, const char *upload_data,
                          std::size_t *upload_data_size, void **context) noexcept {
  try {
    if (*context == nullptr) {
      return begin(connection, url, method, context);
    }
    auto &exchange = *static_cast<Exchange *>(*context);
    if (*upload_data_size > 0) {
      if (!exchange.responded) {
        receive(exchange, upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (exchange.responded) {
      return MHD_YES;
    }
    return finish(connection, exchange);
  } catch (...) {
    // Out of memory while taking a request apart: drop the connection rather than
    // let an exception into libmicrohttpd's C frames.
    return MHD_NO;
  }
}

int HttpServer::begin(void *connection_ptr, const char *url, const char *method, void **context) {
  auto *connection = static_cast<MHD_Connection *>(connection_ptr);
  auto exchange = std::make_unique<Exchange>();
  exchange->request.method = method;
  exchange->request.path = url;
  auto &request_state = *exchange;
  *context = exchange.release();
  ++in_flight_;

  // A refused request with a body on its way is answered at once, so the body is never
  // read (libmicrohttpd then closes the connection). Without a body, the answer waits for
  // the end of the request, which keeps the connection alive.
  const auto declared_length = content_length(connection);
  const bool body_coming =
      (declared_length && *declared_length > 0) || header(connection, MHD_HTTP_HEADER_TRANSFER_ENCODING).has_value();
  auto refuse = [&](Error error) -> int {
    if (body_coming) {
      return send(connection, request_state, Response::error(error));
    }
    request_state.refusal = std::move(error);
    return MHD_YES;
  };

  auto matched = router_.match(request_state.request.method, request_state.request.path);
  if (matched.route == nullptr) {
    return refuse(matched.path_known ? make_error(ErrorCode::Unsupported, "method not allowed on this path")
                                     : make_error(ErrorCode::NotFound, "no such endpoint"));
  }
  request_state.route = matched.route;
  request_state.request.path_params = std::move(matched.params);

  // The token is checked before any body is read, so an unauthenticated client cannot
  // make the server store anything.
  if (matched.route->access == Access::Admin) {
    auto actor = tokens_.authenticate(header(connection, MHD_HTTP_HEADER_AUTHORIZATION));
    if (!actor) {
      return refuse(actor.error());
    }
    request_state.request.actor = std::move(actor.value());
  }

  const auto limit = matched.route->body_mode == BodyMode::None ? 0 : matched.route->body_limit;
  if (declared_length && *declared_length > limit) {
    return refuse(too_large(limit));
  }

  if (matched.route->body_mode == BodyMode::Spooled) {
    auto pattern = (options_.spool_dir / "upload-XXXXXX").string();
    request_state.spool_fd = mkostemp(pattern.data(), O_CLOEXEC);
    if (request_state.spool_fd < 0) {
      return refuse(make_error(ErrorCode::IoError, "cannot create a spool file for the upload"));
    }
    request_state.request.body_file = pattern;
    request_state.spool_hash.emplace();
  }
  return MHD_YES;
}

void HttpServer::receive(Exchange &exchange, const char *data, std::size_t size) {
  if (exchange.refusal || exchange.route == nullptr) {
    return;
  }
  const auto limit = exchange.route->body_mode == BodyMode::None ? 0 : exchange.route->body_limit;
  if (exchange.request.body_size + size > limit) {
    // A chunked body (no Content-Length) crossed the limit: drop what we hold and answer
    // 413 when the client has finished sending.
    exchange.refusal = too_large(limit);
    exchange.request.body.clear();
    exchange.request.body.shrink_to_fit();
    return;
  }
  exchange.request.body_size += size;
  if (exchange.route->body_mode == BodyMode::Buffered) {
    exchange.request.body.append(data, size);
    return;
  }
  exchange.spool_hash->update(core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(data), size));
  while (size > 0) {
    const auto written = write(exchange.spool_fd, data, size);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      exchange.refusal = make_error(errno == ENOSPC ? ErrorCode::DiskFull : ErrorCode::IoError,
                                    std::string("cannot spool the upload: ") + std::strerror(errno));
      return;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

int HttpServer::finish(void *connection_ptr, Exchange &exchange) {
  auto *connection = static_cast<MHD_Connection *>(connection_ptr);
  if (exchange.refusal) {
    return send(connection, exchange, Response::error(*exchange.refusal));
  }
  if (exchange.spool_fd >= 0) {
    close(exchange.spool_fd);
    exchange.spool_fd = -1;
    const auto digest = exchange.spool_hash->finish();
    if (!exchange.spool_hash->failed()) {
      exchange.request.body_sha256 = core::crypto::hex_encode(digest);
    }
  }
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_query, &exchange.request.query);
  MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect_header, &exchange.request.headers);
  if (auto type = header(connection, MHD_HTTP_HEADER_CONTENT_TYPE)) {
    exchange.request.content_type = std::string(*type);
  }
  Response response;
  try {
    response = exchange.route->handler(exchange.request);
  } catch (const std::exception &failure) {
    logger_.error("handler", std::string("unexpected exception: ") + failure.what());
    response = Response::error(make_error(ErrorCode::Internal, "internal error"));
  } catch (...) {
    logger_.error("handler", "unexpected exception");
    response = Response::error(make_error(ErrorCode::Internal, "internal error"));
  }
  return send(connection, exchange, response);
}

int HttpServer::send(void *connection_ptr, Exchange &exchange, const Response &response) {
  auto *connection = static_cast<MHD_Connection *>(connection_ptr);
  exchange.responded = true;
  exchange.status = response.status;
  // Queued responses are reference-counted by libmicrohttpd; ours is released on every path.
  std::unique_ptr<MHD_Response, ResponseReleaser> answer;
  if (!response.file.empty()) {
    const int fd = open(response.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      logger_.error("http", "cannot open " + response.file.string() + ": " + std::strerror(errno));
      return send(connection, exchange, Response::error(make_error(ErrorCode::IoError, "cannot read the file")));
    }
    // libmicrohttpd owns the descriptor from here on and closes it with the response.
    answer.reset(MHD_create_response_from_fd_at_offset64(response.file_length, fd, response.file_offset));
    if (answer == nullptr) {
      close(fd);
      return MHD_NO;
    }
  } else if (response.shared_body) {
    // libmicrohttpd reads the bytes in place; its reference to them goes with the response.
    auto *held = new std::shared_ptr<const std::string>(response.shared_body);
    answer.reset(MHD_create_response_from_buffer_with_free_callback_cls(
        (*held)->size(), const_cast<char *>((*held)->data()), &release_shared_body, held));
    if (answer == nullptr) {
      delete held;
      return MHD_NO;
    }
  } else {
    answer.reset(MHD_create_response_from_buffer(response.body.size(), const_cast<char *>(response.body.data()),
                                                 MHD_RESPMEM_MUST_COPY));
  }
  if (answer == nullptr) {
    return MHD_NO;
  }
  if (!response.content_type.empty()) {
    MHD_add_response_header(answer.get(), MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
  }
  for (const auto &[name, value] : response.headers) {
    MHD_add_response_header(answer.get(), name.c_str(), value.c_str());
  }
  if (draining_) {
    // Tell keep-alive clients to go elsewhere while this server drains.
    MHD_add_response_header(answer.get(), MHD_HTTP_HEADER_CONNECTION, "close");
  }
  return MHD_queue_response(connection, response.status, answer.get()) == MHD_YES ? MHD_YES : MHD_NO;
}

void HttpServer::on_completed(void **context) noexcept {
  auto *exchange = static_cast<Exchange *>(*context);
  if (exchange == nullptr) {
    return;
  }
  *context = nullptr;
  std::unique_ptr<Exchange> owned(exchange);
  // No longer in flight once answered: a scrape that sees this request counted must not
  // see it in flight too.
  --in_flight_;
  try {
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - exchange->started).count();
    const std::string route = exchange->route != nullptr ? exchange->route->pattern : "unmatched";
    // A status of 0 means the client went away before an answer was queued. Methods of
    // unmatched requests are the client's invention: one label for all of them keeps the
    // number of series bounded.
    const auto &method = exchange->request.method;
    const bool known_method = exchange->route != nullptr || method == "GET" || method == "POST" || method == "PUT" ||
                              method == "DELETE" || method == "HEAD";
    metrics_.record_request(route, known_method ? method : "other", exchange->status, elapsed);
    logger_.request(exchange->request.method, exchange->request.path, route, exchange->status, elapsed * 1000.0,
                    exchange->request.actor);
  } catch (...) {
    // Logging must never take the server down.
  }
}

} // namespace mds::server::http
