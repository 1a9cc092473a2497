#include "server_command.hpp"

#include <cerrno>
#include <cstdlib>

namespace mds::mdsctl {

Result<std::unique_ptr<AdminClient>> connect(const Invocation &call) {
  auto settings = server_settings(call.line);
  if (!settings) {
    return std::move(settings).error();
  }
  return std::make_unique<AdminClient>(std::move(*settings));
}

CommandOutput answer_output(const AdminAnswer &answer, std::string text) {
  return CommandOutput{core::json::serialize(answer.document.root()), std::move(text)};
}

std::string quoted(const std::string &text) {
  return core::json::write([&](core::json::Writer &w) { w.String(text); });
}

std::string json_or_string(const std::string &text, bool as_string) {
  if (!as_string) {
    if (auto parsed = core::json::parse(text); parsed.ok()) {
      return core::json::serialize(parsed->root());
    }
  }
  return quoted(text);
}

Result<std::optional<std::string>> number_option(const cli::CommandLine &line, const char *name) {
  auto given = line.value(name);
  if (!given) {
    return std::optional<std::string>();
  }
  auto parsed = core::json::parse(*given);
  if (!parsed.ok() || !parsed->root().IsNumber()) {
    return make_error(ErrorCode::InvalidArgument,
                      std::string("--") + name + " must be a number, not \"" + *given + "\"");
  }
  return std::optional<std::string>(core::json::serialize(parsed->root()));
}

Result<std::optional<std::uint64_t>> count_option(const cli::CommandLine &line, const char *name, std::uint64_t min,
                                                  std::uint64_t max) {
  auto given = line.value(name);
  if (!given) {
    return std::optional<std::uint64_t>();
  }
  errno = 0;
  char *end = nullptr;
  const unsigned long long value = std::strtoull(given->c_str(), &end, 10);
  const bool digits_only = !given->empty() && given->find_first_not_of("0123456789") == std::string::npos;
  if (!digits_only || errno != 0 || *end != '\0' || value < min || value > max) {
    return make_error(ErrorCode::InvalidArgument, std::string("--") + name + " must be a whole number from " +
                                                      std::to_string(min) + " to " + std::to_string(max) + ", not \"" +
                                                      *given + "\"");
  }
  return std::optional<std::uint64_t>(value);
}

} // namespace mds::mdsctl
