// The HTTP front: libmicrohttpd with an epoll thread pool and keep-alive. It routes each
// request, checks the admin token before reading any body, caps bodies (413), spools
// uploads to disk, catches whatever a handler throws (500), and logs and counts every
// answer. Handlers run on the pool's threads and must be thread-safe.
#ifndef MDS_SERVER_HTTP_HTTP_SERVER_HPP
#define MDS_SERVER_HTTP_HTTP_SERVER_HPP

#include "server/auth/admin_tokens.hpp"
#include "server/http/listen_socket.hpp"
#include "server/http/router.hpp"
#include "server/observe/logger.hpp"
#include "server/observe/metrics.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>

struct MHD_Daemon;

namespace mds::server::http {

struct HttpServerOptions {
  unsigned threads = 0; // 0: one per core
  std::filesystem::path spool_dir;
  std::chrono::seconds idle_timeout{30};
};

class HttpServer {
public:
  // Starts serving on `socket` (taken over). The router, tokens, metrics and logger must
  // outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(ListenSocket socket, const HttpServerOptions &options,
                                                   const Router &router, const AdminTokens &tokens, Metrics &metrics,
                                                   Logger &logger);
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // Stops accepting connections, lets requests already received finish (up to
  // `deadline`), then stops every thread. Returns false if the deadline cut requests off.
  bool shut_down(std::chrono::milliseconds deadline);

  std::int64_t requests_in_flight() const { return in_flight_.load(); }

  // libmicrohttpd's callbacks; public only so the C trampolines can reach them.
  struct Exchange;
  int on_access(void *connection, const char *url, const char *method, const char *upload_data,
                std::size_t *upload_data_size, void **context) noexcept;
  void on_completed(void **context) noexcept;

private:
  HttpServer(const HttpServerOptions &options, const Router &router, const AdminTokens &tokens, Metrics &metrics,
             Logger &logger)
      : options_(options), router_(router), tokens_(tokens), metrics_(metrics), logger_(logger) {}

  int begin(void *connection, const char *url, const char *method, void **context);
  void receive(Exchange &exchange, const char *data, std::size_t size);
  int finish(void *connection, Exchange &exchange);
  int send(void *connection, Exchange &exchange, const Response &response);

  HttpServerOptions options_;
  const Router &router_;
  const AdminTokens &tokens_;
  Metrics &metrics_;
  Logger &logger_;
  MHD_Daemon *daemon_ = nullptr;
  int listen_fd_ = -1;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
};

} // namespace mds::server::http

#endif
