// mdsctl: the publisher's and operator's command line. Local commands (keygen, manifest,
// sign, verify) need no server; the rest talk to mds-server's admin API.
#include "command.hpp"
#include "server_command.hpp"

#include "core/json/json.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace mds::mdsctl {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

const cli::OptionSpec kGlobalOptions{{"server", "token-file"}, {"json", "help"}};

std::vector<Command> all_commands() {
  std::vector<Command> commands = local_commands();
  for (auto table : {admin_commands(), package_commands(), release_commands(), config_commands()}) {
    commands.insert(commands.end(), table.begin(), table.end());
  }
  return commands;
}

void print_usage(std::ostream &out, const std::vector<Command> &commands) {
  out << "usage: mdsctl [--json] [--server URL --token-file FILE] COMMAND ...\n"
         "--server and --token-file default to $MDS_SERVER and $MDS_TOKEN_FILE; the token file's first line is "
         "the admin token.\n\ncommands:\n";
  for (const auto &command : commands) {
    out << "  " << command.usage << "\n";
  }
}

void print_error(const Error &error, bool json) {
  if (json) {
    std::cerr << core::json::error_document(error) << "\n";
  } else {
    std::cerr << "mdsctl: " << describe(error) << "\n";
  }
}

// The command whose words start the positionals, ignoring options wherever they stand.
const Command *find_command(const std::vector<Command> &commands, const std::vector<std::string> &positionals) {
  const Command *best = nullptr;
  for (const auto &command : commands) {
    if (command.words.size() > positionals.size()) {
      continue;
    }
    bool matches = true;
    for (std::size_t i = 0; i < command.words.size(); ++i) {
      matches = matches && command.words[i] == positionals[i];
    }
    if (matches && (best == nullptr || command.words.size() > best->words.size())) {
      best = &command;
    }
  }
  return best;
}

cli::OptionSpec merged(const cli::OptionSpec &a, const cli::OptionSpec &b) {
  cli::OptionSpec spec = a;
  spec.with_value.insert(b.with_value.begin(), b.with_value.end());
  spec.switches.insert(b.switches.begin(), b.switches.end());
  return spec;
}

int run(const std::vector<std::string> &args) {
  const auto commands = all_commands();

  // A first pass with every option known finds the command; the second applies its spec.
  cli::OptionSpec everything = kGlobalOptions;
  for (const auto &command : commands) {
    everything = merged(everything, command.options);
  }
  auto first = cli::parse_command_line(args, everything);
  // Known even when parsing fails, so that the error itself comes out as JSON.
  const auto options_end = std::find(args.begin(), args.end(), "--");
  const bool json = std::find(args.begin(), options_end, "--json") != options_end;
  if (!first.ok()) {
    print_error(first.error(), json);
    return kExitUsage;
  }
  if (first->has_switch("help") || first->positionals.empty()) {
    print_usage(first->positionals.empty() && !first->has_switch("help") ? std::cerr : std::cout, commands);
    return first->has_switch("help") ? 0 : kExitUsage;
  }
  const Command *command = find_command(commands, first->positionals);
  if (command == nullptr) {
    print_error(make_error(ErrorCode::InvalidArgument, "unknown command \"" + first->positionals[0] + "\""), json);
    return kExitUsage;
  }

  auto line = cli::parse_command_line(args, merged(kGlobalOptions, command->options));
  if (!line.ok()) {
    print_error(line.error(), json);
    return kExitUsage;
  }
  Invocation invocation{
      *line, {line->positionals.begin() + static_cast<long>(command->words.size()), line->positionals.end()}, json};
  if (invocation.arguments.size() < command->min_arguments || invocation.arguments.size() > command->max_arguments) {
    print_error(make_error(ErrorCode::InvalidArgument, std::string("usage: mdsctl ") + command->usage), json);
    return kExitUsage;
  }

  auto output = command->run(invocation);
  if (!output.ok()) {
    print_error(output.error(), json);
    return output.code() == ErrorCode::InvalidArgument ? kExitUsage : kExitError;
  }
  const std::string &printed = json || output->text.empty() ? output->json : output->text;
  std::cout << printed;
  if (!printed.empty() && printed.back() != '\n') {
    std::cout << '\n';
  }
  std::cout.flush();
  return std::cout.good() ? 0 : kExitError;
}

} // namespace
} // namespace mds::mdsctl

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return mds::mdsctl::run(args);
}
