// One mdsctl subcommand: its words ("keygen", "app create"), the options it accepts, and
// the function that runs it. Commands return what to print; main prints it as JSON or as
// text and turns errors into stderr lines and exit codes, in one place.
#ifndef MDS_MDSCTL_COMMAND_HPP
#define MDS_MDSCTL_COMMAND_HPP

#include "cli/command_line.hpp"

#include <mds/error.hpp>

#include <string>
#include <vector>

namespace mds::mdsctl {

struct CommandOutput {
  std::string json; // printed with --json (and by commands whose output is a document)
  std::string text; // printed otherwise; empty means print `json`
};

struct Invocation {
  cli::CommandLine line;
  std::vector<std::string> arguments; // positionals after the command's words
  bool json = false;
};

struct Command {
  std::vector<std::string> words;
  cli::OptionSpec options;
  std::size_t min_arguments = 0;
  std::size_t max_arguments = 0;
  const char *usage = "";
  Result<CommandOutput> (*run)(const Invocation &) = nullptr;
};

// The command tables, one per source file.
std::vector<Command> local_commands();

} // namespace mds::mdsctl

#endif
