#include "server/cli/options.hpp"

#include "cli/command_line.hpp"

#include <optional>

namespace mds::server {

const char *const kServerUsage =
    "usage: mds-server --data DIR --listen HOST:PORT --admin-token-file FILE [--threads N]\n"
    "                  [--max-upload-bytes N] [--delta-bases K] [--max-pending-checks N]\n"
    "                  [--retry-after S] [--poll-interval S] [--drain-seconds S]\n"
    "                  [--blob-sweep-interval S] [--blob-grace S]\n"
    "  --data DIR               state directory (created if missing): mds.db, blobs/\n"
    "  --listen HOST:PORT       address to serve on; port 0 picks a free port, printed on stdout\n"
    "  --admin-token-file FILE  admin bearer tokens, one per line, optionally \"NAME TOKEN\"\n"
    "  --threads N              HTTP worker threads (default: one per core)\n"
    "  --max-upload-bytes N     largest blob upload, 1 to 2^40 (default 4 GiB)\n"
    "  --delta-bases K          deltas from the last K lower versions, 0 to 64 (default 5)\n"
    "  --max-pending-checks N   checks processed at once beyond which /v1/check answers 503\n"
    "                           rate_limited with Retry-After (1 to 100000, default 64)\n"
    "  --retry-after S          seconds in that Retry-After (1 to 86400, default 30)\n"
    "  --poll-interval S        seconds until a device's next check, sent with every answer\n"
    "                           (1 to 604800, default 1800)\n"
    "  --drain-seconds S        on SIGTERM, how long requests in flight may still take\n"
    "                           (1 to 3600, default 10)\n"
    "  --blob-sweep-interval S  how often blobs no published package needs are removed\n"
    "                           (also at start; 1 to 604800, default 3600)\n"
    "  --blob-grace S           such a blob is kept until nobody uploaded or asked for it\n"
    "                           for S seconds (0 to 604800, default 3600)\n";

namespace {

// A decimal number from `low` to `high`; nullopt for anything else.
std::optional<std::uint64_t> parse_bounded(const std::string &text, std::uint64_t low, std::uint64_t high) {
  if (text.empty() || text.size() > 19) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

} // namespace

Result<ServerOptions> parse_server_options(const std::vector<std::string> &arguments) {
  cli::OptionSpec spec;
  spec.with_value = {"data",
                     "listen",
                     "admin-token-file",
                     "threads",
                     "max-upload-bytes",
                     "delta-bases",
                     "max-pending-checks",
                     "retry-after",
                     "poll-interval",
                     "drain-seconds",
                     "blob-sweep-interval",
                     "blob-grace"};
  spec.switches = {"help"};
  auto command_line = cli::parse_command_line(arguments, spec);
  if (!command_line) {
    return command_line.error();
  }
  ServerOptions options;
  if (command_line->has_switch("help")) {
    options.show_help = true;
    return options;
  }
  if (!command_line->positionals.empty()) {
    return make_error(ErrorCode::InvalidArgument, "unexpected argument " + command_line->positionals.front());
  }
  if (auto required = command_line->require({"data", "listen", "admin-token-file"}); !required) {
    return required.error();
  }
  options.data_dir = *command_line->value("data");
  options.admin_token_file = *command_line->value("admin-token-file");
  auto address = http::parse_listen_address(*command_line->value("listen"));
  if (!address) {
    return address.error();
  }
  options.listen = address.value();
  if (auto threads_text = command_line->value("threads")) {
    unsigned long threads = 0;
    for (char c : *threads_text) {
      if (c < '0' || c > '9' || threads > 1024) {
        threads = 0;
        break;
      }
      threads = threads * 10 + static_cast<unsigned long>(c - '0');
    }
    if (threads == 0 || threads > 1024) {
      return make_error(ErrorCode::InvalidArgument, "--threads expects a number from 1 to 1024");
    }
    options.threads = static_cast<unsigned>(threads);
  }
  if (auto text = command_line->value("max-upload-bytes")) {
    auto bytes = parse_bounded(*text, 1, 1ull << 40);
    if (!bytes) {
      return make_error(ErrorCode::InvalidArgument, "--max-upload-bytes expects a number from 1 to 1099511627776");
    }
    options.max_upload_bytes = *bytes;
  }
  if (auto text = command_line->value("delta-bases")) {
    auto count = parse_bounded(*text, 0, 64);
    if (!count) {
      return make_error(ErrorCode::InvalidArgument, "--delta-bases expects a number from 0 to 64");
    }
    options.delta_bases = static_cast<unsigned>(*count);
  }
  struct NumericFlag {
    const char *flag;
    std::uint32_t low;
    std::uint32_t high;
    std::uint32_t *target;
  };
  for (const auto &number : {NumericFlag{"max-pending-checks", 1, 100000, &options.max_pending_checks},
                             NumericFlag{"retry-after", 1, 86400, &options.retry_after},
                             NumericFlag{"poll-interval", 1, 604800, &options.poll_interval},
                             NumericFlag{"drain-seconds", 1, 3600, &options.drain_seconds},
                             NumericFlag{"blob-sweep-interval", 1, 604800, &options.blob_sweep_interval},
                             NumericFlag{"blob-grace", 0, 604800, &options.blob_grace}}) {
    if (auto text = command_line->value(number.flag)) {
      auto parsed = parse_bounded(*text, number.low, number.high);
      if (!parsed) {
        return make_error(ErrorCode::InvalidArgument, std::string("--") + number.flag + " expects a number from " +
                                                          std::to_string(number.low) + " to " +
                                                          std::to_string(number.high));
      }
      *number.target = static_cast<std::uint32_t>(*parsed);
    }
  }
  return options;
}

} // namespace mds::server
