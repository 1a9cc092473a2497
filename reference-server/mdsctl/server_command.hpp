// What every command that talks to the server shares: connecting from the command line,
// reading option values the same way everywhere, and printing an answer.
#ifndef MDS_MDSCTL_SERVER_COMMAND_HPP
#define MDS_MDSCTL_SERVER_COMMAND_HPP

#include "admin_client.hpp"
#include "command.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mds::mdsctl {

// The server options every server command accepts besides the global ones.
Result<std::unique_ptr<AdminClient>> connect(const Invocation &call);

// The answer as --json prints it, and `text` for people.
CommandOutput answer_output(const AdminAnswer &answer, std::string text);

// A value given on the command line as JSON text: the text itself when it is valid JSON
// (`42`, `true`, `{"a":1}`, `"quoted"`), otherwise the text as a JSON string (`hello`).
// With `as_string`, always a string. Returns compact JSON.
std::string json_or_string(const std::string &text, bool as_string = false);

// --NAME as a number in JSON ("12.5"), when given; InvalidArgument when it is not one.
Result<std::optional<std::string>> number_option(const cli::CommandLine &line, const char *name);

// --NAME as a whole number from min to max, when given; InvalidArgument otherwise.
Result<std::optional<std::uint64_t>> count_option(const cli::CommandLine &line, const char *name, std::uint64_t min,
                                                  std::uint64_t max);

// A JSON string literal, quotes included.
std::string quoted(const std::string &text);

// The command tables of the server commands, one per source file.
std::vector<Command> admin_commands(); // apps, whitelists, rules, audit
std::vector<Command> release_commands();
std::vector<Command> config_commands();
std::vector<Command> package_commands();

} // namespace mds::mdsctl

#endif
