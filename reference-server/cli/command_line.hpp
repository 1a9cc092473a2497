// Command-line parsing shared by mdsctl and mds-server: `--name value`, `--name=value`,
// repeatable options, switches, positionals, and `--` to end options. Every option must be
// declared, so a typo is an error instead of a silently ignored flag.
#ifndef MDS_CLI_COMMAND_LINE_HPP
#define MDS_CLI_COMMAND_LINE_HPP

#include <mds/error.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mds::cli {

struct OptionSpec {
  std::set<std::string> with_value; // "--out KEY", repeatable
  std::set<std::string> switches;   // "--json"
};

class CommandLine {
public:
  std::vector<std::string> positionals;

  // The last value given for `name`, if any.
  std::optional<std::string> value(const std::string &name) const;
  // Every value given for `name`, in order.
  const std::vector<std::string> &values(const std::string &name) const;
  bool has_switch(const std::string &name) const { return switches_.count(name) != 0; }

  // Returns InvalidArgument naming the first option of `required` that is missing.
  Status require(std::initializer_list<const char *> required) const;

private:
  friend Result<CommandLine> parse_command_line(const std::vector<std::string> &, const OptionSpec &);
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> switches_;
};

// Option names in the spec and in messages are without the leading "--".
Result<CommandLine> parse_command_line(const std::vector<std::string> &args, const OptionSpec &spec);

} // namespace mds::cli

#endif
