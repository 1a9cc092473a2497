#include "cli/command_line.hpp"

namespace mds::cli {

std::optional<std::string> CommandLine::value(const std::string &name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second.back();
}

const std::vector<std::string> &CommandLine::values(const std::string &name) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(name);
  return it == values_.end() ? kNone : it->second;
}

Status CommandLine::require(std::initializer_list<const char *> required) const {
  for (const char *name : required) {
    if (!value(name)) {
      return make_error(ErrorCode::InvalidArgument, std::string("--") + name + " is required");
    }
  }
  return {};
}

Result<CommandLine> parse_command_line(const std::vector<std::string> &args, const OptionSpec &spec) {
  CommandLine parsed;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (options_ended || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      parsed.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto equals = name.find('='); equals != std::string::npos) {
      inline_value = name.substr(equals + 1);
      name.resize(equals);
    }
    if (spec.switches.count(name) != 0) {
      if (inline_value) {
        return make_error(ErrorCode::InvalidArgument, "--" + name + " takes no value");
      }
      parsed.switches_.insert(name);
    } else if (spec.with_value.count(name) != 0) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          return make_error(ErrorCode::InvalidArgument, "--" + name + " needs a value");
        }
        inline_value = args[++i];
      }
      parsed.values_[name].push_back(*inline_value);
    } else {
      return make_error(ErrorCode::InvalidArgument, "unknown option --" + name);
    }
  }
  return parsed;
}

} // namespace mds::cli
