// mds-server: the reference server. See DESIGN.md "The server" and docs/protocol-admin.md.
#include "server/admin/admin_api.hpp"
#include "server/auth/admin_tokens.hpp"
#include "server/cli/options.hpp"
#include "server/client/client_api.hpp"
#include "server/http/http_server.hpp"
#include "server/observe/logger.hpp"
#include "server/observe/metrics.hpp"
#include "server/observe/system_routes.hpp"
#include "server/packages/blob_sweeper.hpp"
#include "server/storage/blob_store.hpp"
#include "server/storage/data_dir.hpp"
#include "server/storage/sqlite/sqlite_storage.hpp"

#include <csignal>
#include <cstdio>
#include <optional>
#include <pthread.h>

namespace {

using namespace mds;
using namespace mds::server;

int run(int argc, char **argv, Logger &logger) {
  // Termination signals are blocked in every thread (the HTTP threads inherit the mask)
  // and taken synchronously by sigwait below, so shutdown runs as ordinary code rather
  // than inside a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto options = parse_server_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    logger.failure("startup", options.error());
    std::fputs(kServerUsage, stderr);
    return 2;
  }
  if (options->show_help) {
    std::fputs(kServerUsage, stdout);
    return 0;
  }
  auto tokens = AdminTokens::load(options->admin_token_file);
  if (!tokens) {
    logger.failure("startup", tokens.error());
    return 1;
  }
  auto data_dir = DataDir::open(options->data_dir);
  if (!data_dir) {
    logger.failure("startup", data_dir.error());
    return 1;
  }
  auto storage = SqliteStorage::open(data_dir->database_file());
  if (!storage) {
    logger.failure("startup", storage.error());
    return 1;
  }

  Metrics metrics;
  http::HttpServer *server_for_gauges = nullptr; // set before the first request can arrive
  Storage &store = **storage;
  http::Router router;
  add_system_routes(router, metrics, [&] {
    Metrics::Gauges gauges;
    auto db_size = store.size_bytes();
    gauges.db_size_bytes = db_size.ok() ? db_size.value() : 0;
    gauges.requests_in_flight = server_for_gauges != nullptr ? server_for_gauges->requests_in_flight() : 0;
    return gauges;
  });
  BlobStore blobs(data_dir->blobs_dir(), data_dir->tmp_dir(), &sha256_hasher);
  admin::AdminLimits admin_limits;
  admin_limits.blob_upload = options->max_upload_bytes;
  packages::PublishOptions publish_options;
  publish_options.delta_bases = options->delta_bases;
  admin::add_admin_routes(router, store, blobs, admin_limits, publish_options);
  client::ClientApiOptions client_options;
  client_options.max_pending_checks = options->max_pending_checks;
  client_options.retry_after = options->retry_after;
  client_options.poll_interval = options->poll_interval;
  client::add_client_routes(router, store, blobs, client_options);

  auto socket = http::ListenSocket::bind_and_listen(options->listen);
  if (!socket) {
    logger.failure("startup", socket.error());
    return 1;
  }
  const auto bound = socket->bound_address();
  http::HttpServerOptions http_options;
  http_options.threads = options->threads;
  http_options.spool_dir = data_dir->tmp_dir();
  auto server = http::HttpServer::start(std::move(socket.value()), http_options, router, *tokens, metrics, logger);
  if (!server) {
    logger.failure("startup", server.error());
    return 1;
  }
  server_for_gauges = server->get();
  std::optional<packages::BlobSweeper> sweeper; // stopped before the database closes
  sweeper.emplace(blobs, store, logger, std::chrono::seconds(options->blob_sweep_interval),
                  std::chrono::seconds(options->blob_grace));

  // Tests and scripts read this line to learn the port when --listen asked for port 0.
  std::printf("listening on %s\n", bound.c_str());
  std::fflush(stdout);
  logger.info("started", "listening on " + bound + ", data in " + data_dir->root().string());

  int received = 0;
  sigwait(&stop_signals, &received);
  logger.info("stopping", std::string("received ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
                              "; finishing requests in flight");
  const bool drained = (*server)->shut_down(std::chrono::seconds(options->drain_seconds));
  server_for_gauges = nullptr;
  sweeper.reset();
  server->reset();
  storage->reset(); // closes the database after the last request is done
  if (!drained) {
    logger.warn("stopped", "the drain deadline cut requests off");
    return 1;
  }
  logger.info("stopped", "clean shutdown");
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Logger logger;
  try {
    return run(argc, argv, logger);
  } catch (const std::exception &failure) {
    logger.error("fatal", failure.what());
  } catch (...) {
    logger.error("fatal", "unknown exception");
  }
  return 1;
}
