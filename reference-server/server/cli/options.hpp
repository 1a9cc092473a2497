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
  bool show_help = false;
};

Result<ServerOptions> parse_server_options(const std::vector<std::string> &arguments);

extern const char *const kServerUsage;

} // namespace mds::server

#endif
