// mds-server's command line.
#ifndef MDS_SERVER_CLI_OPTIONS_HPP
#define MDS_SERVER_CLI_OPTIONS_HPP

#include "server/http/listen_socket.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mds::server {

struct ServerOptions {
  std::filesystem::path data_dir;
  http::ListenAddress listen;
  std::filesystem::path admin_token_file;
  unsigned threads = 0;                        // 0: one per core
  std::uint64_t max_upload_bytes = 4ull << 30; // one blob upload
  unsigned delta_bases = 5;                    // deltas built from the last K lower versions
  // /v1/check: load shedding and the answer's poll_interval (client::ClientApiOptions).
  std::uint32_t max_pending_checks = 64;
  std::uint32_t retry_after = 30;
  std::uint32_t poll_interval = 1800;
  std::uint32_t drain_seconds = 10; // SIGTERM: how long requests in flight may still take
  // Blobs no package needs are removed at start and then every blob_sweep_interval, once
  // untouched for blob_grace (packages/blob_sweeper.hpp).
  std::uint32_t blob_sweep_interval = 3600;
  std::uint32_t blob_grace = 3600;
  bool show_help = false;
};

Result<ServerOptions> parse_server_options(const std::vector<std::string> &arguments);

extern const char *const kServerUsage;

} // namespace mds::server

#endif
