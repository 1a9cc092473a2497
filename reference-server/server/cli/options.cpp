#include "server/cli/options.hpp"

#include "cli/command_line.hpp"

namespace mds::server {
namespace {

// A decimal number from `low` to `high`; InvalidArgument naming the flag otherwise.
Result<std::uint32_t> bounded_number(const std::string &flag, const std::string &text, std::uint32_t low,
                                     std::uint32_t high) {
  std::uint64_t number = 0;
  bool valid = !text.empty() && text.size() <= 10;
  for (char c : text) {
    if (c < '0' || c > '9') {
      valid = false;
      break;
    }
    number = number * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!valid || number < low || number > high) {
    return make_error(ErrorCode::InvalidArgument,
                      "--" + flag + " expects a number from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return static_cast<std::uint32_t>(number);
}

} // namespace

const char *const kServerUsage =
    "usage: mds-server --data DIR --listen HOST:PORT --admin-token-file FILE [--threads N]\n"
    "                  [--max-pending-checks N] [--retry-after S] [--poll-interval S]\n"
    "  --data DIR               state directory (created if missing): mds.db, blobs/\n"
    "  --listen HOST:PORT       address to serve on; port 0 picks a free port, printed on stdout\n"
    "  --admin-token-file FILE  admin bearer tokens, one per line, optionally \"NAME TOKEN\"\n"
    "  --threads N              HTTP worker threads (default: one per core)\n"
    "  --max-pending-checks N   checks processed at once beyond which /v1/check answers 503\n"
    "                           rate_limited with Retry-After (1 to 100000, default 64)\n"
    "  --retry-after S          seconds in that Retry-After (1 to 86400, default 30)\n"
    "  --poll-interval S        seconds until a device's next check, sent with every answer\n"
    "                           (1 to 604800, default 1800)\n";

Result<ServerOptions> parse_server_options(const std::vector<std::string> &arguments) {
  cli::OptionSpec spec;
  spec.with_value = {"data",        "listen",       "admin-token-file", "threads", "max-pending-checks",
                     "retry-after", "poll-interval"};
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
  struct NumberFlag {
    const char *flag;
    std::uint32_t low;
    std::uint32_t high;
    std::uint32_t *target;
  };
  for (const auto &number : {NumberFlag{"max-pending-checks", 1, 100000, &options.max_pending_checks},
                             NumberFlag{"retry-after", 1, 86400, &options.retry_after},
                             NumberFlag{"poll-interval", 1, 604800, &options.poll_interval}}) {
    if (auto text = command_line->value(number.flag)) {
      auto parsed = bounded_number(number.flag, *text, number.low, number.high);
      if (!parsed) {
        return parsed.error();
      }
      *number.target = *parsed;
    }
  }
  return options;
}

} // namespace mds::server
