// mds-client: a host app on the command line, built on the public SDK API only
// (<mds/client.hpp>). Outside tests drive it; its flags and output are fixed by
// DESIGN.md "Interfaces that outside tests drive".
//
//   mds-client --server URL --app APP --state DIR --device-id D [--user-id U]
//              --app-version V [--sdk NAME=V]... [--attr K=V]... --trusted-key PUB
//              [--platform P] [--timeout SECONDS] [--json]
//              [--preset ENVELOPE_FILE=DIR]... [--fallback PKG=URL]... [--hotpatch-max-launches N]
//     sync           one JSON object on stdout; exit 1 when the sync failed
//     config get KEY the cached value as JSON; exit 1 when the key is absent
//     resolve PKG PATH  the local file of PATH in the installed version of PKG (or its
//                    fallback URL); exit 1 when there is none
//     upgrade        syncs, then downloads (resuming) and verifies the offered upgrade;
//                    prints the verified file's path (--json: {"path": ...})
//     hotpatch launch   what the app does at start (Client::launch_started()): prints the
//                    patch to load, {"id", "version", "path", "state"}, or null
//     hotpatch confirm  the app ran well (Client::mark_launch_succeeded()): prints the
//                    confirmed patch {"id", "version", "path", "state"}
//
// Errors go to stderr as "mds-client: <name> (<code>): <message>". Exit status: 0 success,
// 1 failure, 2 bad command line.
#include <mds/client.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr const char *kUsage = "usage: mds-client --server URL --app APP --state DIR --device-id D [--user-id U]\n"
                               "                  --app-version V [--sdk NAME=V]... [--attr K=V]... --trusted-key PUB\n"
                               "                  [--platform P] [--timeout SECONDS] [--json]\n"
                               "                  [--preset ENVELOPE_FILE=DIR]... [--fallback PKG=URL]...\n"
                               "                  [--hotpatch-max-launches N]\n"
                               "                  (sync | config get KEY | resolve PKG PATH | upgrade |\n"
                               "                   hotpatch launch | hotpatch confirm)\n";

struct CommandLine {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positionals;
  bool json = false;

  const std::string *last(const std::string &name) const {
    auto found = values.find(name);
    return found == values.end() || found->second.empty() ? nullptr : &found->second.back();
  }
};

// `--name value` and `--name=value`; every option must be known.
bool parse(int argc, char **argv, CommandLine &out, std::string &problem) {
  static const char *const kWithValue[] = {
      "server", "app",         "state",    "device-id", "user-id", "app-version", "sdk",
      "attr",   "trusted-key", "platform", "timeout",   "preset",  "fallback",    "hotpatch-max-launches"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      out.json = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      out.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (const auto equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
      inline_value = true;
    }
    bool known = false;
    for (const char *option : kWithValue) {
      known = known || name == option;
    }
    if (!known) {
      problem = "unknown option --" + name;
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        problem = "--" + name + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    out.values[name].push_back(value);
  }
  return true;
}

bool split_pair(const std::string &text, std::string &key, std::string &value) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    return false;
  }
  key = text.substr(0, equals);
  value = text.substr(equals + 1);
  return true;
}

std::string json_string(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
        out += escaped;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

bool g_json = false; // --json: errors on stderr as {"error": {"code", "name", "message"}}

int fail(const mds::Error &error) {
  if (g_json) {
    std::cerr << "{\"error\": {\"code\": " << static_cast<unsigned>(error.code)
              << ", \"name\": " << json_string(mds::to_string(error.code))
              << ", \"message\": " << json_string(error.message) << "}}\n";
  } else {
    std::cerr << "mds-client: " << mds::describe(error) << "\n";
  }
  return 1;
}

int usage(const std::string &problem) {
  fail(mds::make_error(mds::ErrorCode::InvalidArgument, problem));
  std::cerr << kUsage;
  return 2;
}

// What the client's listeners saw during the command.
struct Seen {
  std::mutex mutex;
  std::vector<mds::PackageInstalled> installed;
  std::vector<mds::Error> errors;
};

std::string error_json(const mds::Error &error) {
  return "{\"code\": " + std::to_string(static_cast<unsigned>(error.code)) +
         ", \"name\": " + json_string(mds::to_string(error.code)) + ", \"message\": " + json_string(error.message) +
         "}";
}

std::string hotpatch_json(const mds::Hotpatch &patch) {
  return "{\"id\": " + json_string(patch.package) + ", \"version\": " + json_string(patch.version) +
         ", \"path\": " + json_string(patch.directory) + ", \"state\": " + json_string(mds::to_string(patch.state)) +
         "}";
}

std::string sync_json(mds::Client &client, const mds::Result<mds::SyncReport> &report, Seen &seen) {
  std::lock_guard<std::mutex> lock(seen.mutex);
  const bool ok = report && report->status.ok();
  std::string out = "{\"ok\": ";
  out += ok ? "true" : "false";
  out += ", \"offline\": {";
  bool first = true;
  if (auto installed = client.installed_packages()) {
    for (const auto &[package, version] : *installed) {
      out += (first ? "" : ", ") + json_string(package) + ": " + json_string(version);
      first = false;
    }
  }
  // The newest hotpatch on the device (DESIGN.md fixes this shape; `hotpatch launch`
  // names its id and directory).
  out += "}, \"hotpatch\": ";
  auto hotpatch = client.current_hotpatch();
  if (hotpatch && *hotpatch) {
    out += "{\"version\": " + json_string((*hotpatch)->version) +
           ", \"state\": " + json_string(mds::to_string((*hotpatch)->state)) + "}";
  } else {
    out += "{\"version\": null, \"state\": \"none\"}";
  }
  out += ", \"config\": {";
  first = true;
  for (const auto &[key, value] : client.config_values()) {
    out += (first ? "" : ", ") + json_string(key) + ": " + value;
    first = false;
  }
  out += "}, \"upgrade\": ";
  if (auto upgrade = client.pending_upgrade()) {
    out += "{\"version\": " + json_string(upgrade->version) +
           ", \"mode\": " + json_string(mds::to_string(upgrade->mode)) +
           ", \"prompt\": " + (upgrade->should_prompt ? "true" : "false") + "}";
  } else {
    out += "null";
  }
  out += ", \"errors\": [";
  first = true;
  if (!ok) {
    out += error_json(report ? report->status.error() : report.error());
    first = false;
  }
  // Failures in the background (a package refused) also reach the error listener; the
  // sync's own failure is there once already.
  for (const auto &error : seen.errors) {
    if (!ok && report && error.code == report->status.code() && error.message == report->status.error().message) {
      continue;
    }
    out += (first ? "" : ", ") + error_json(error);
    first = false;
  }
  // What this sync installed, and how.
  out += "], \"installed\": [";
  first = true;
  for (const auto &installed : seen.installed) {
    out += std::string(first ? "" : ", ") + "{\"kind\": " + json_string(installed.kind) +
           ", \"package\": " + json_string(installed.package) + ", \"version\": " + json_string(installed.version) +
           ", \"detail\": " + json_string(installed.detail) +
           ", \"download_size\": " + std::to_string(installed.download_size) + "}";
    first = false;
  }
  out += "]}";
  return out;
}

} // namespace

int main(int argc, char **argv) {
  CommandLine line;
  std::string problem;
  const bool parsed = parse(argc, argv, line, problem);
  g_json = line.json;
  if (!parsed) {
    return usage(problem);
  }
  for (const char *required : {"server", "app", "state", "app-version", "trusted-key"}) {
    if (line.last(required) == nullptr) {
      return usage(std::string("--") + required + " is required");
    }
  }
  const auto &command = line.positionals;
  const bool is_sync = command.size() == 1 && command[0] == "sync";
  const bool is_config_get = command.size() == 3 && command[0] == "config" && command[1] == "get";
  const bool is_resolve = command.size() == 3 && command[0] == "resolve";
  const bool is_upgrade = command.size() == 1 && command[0] == "upgrade";
  const bool is_launch = command.size() == 2 && command[0] == "hotpatch" && command[1] == "launch";
  const bool is_confirm = command.size() == 2 && command[0] == "hotpatch" && command[1] == "confirm";
  if (!is_sync && !is_config_get && !is_resolve && !is_upgrade && !is_launch && !is_confirm) {
    return usage("expected a subcommand: sync, config get KEY, resolve PKG PATH, upgrade, hotpatch launch or "
                 "hotpatch confirm");
  }
  if ((is_sync || is_upgrade) && line.last("device-id") == nullptr) {
    return usage("--device-id is required");
  }

  mds::ClientOptions options;
  options.server_url = *line.last("server");
  options.app_id = *line.last("app");
  options.state_directory = *line.last("state");
  options.app_version = *line.last("app-version");
  options.platform = line.last("platform") != nullptr ? *line.last("platform") : "android";
  if (line.last("device-id") != nullptr) {
    options.device.id = *line.last("device-id");
  }
  if (line.last("user-id") != nullptr) {
    options.user_id = *line.last("user-id");
  }
  for (const auto &pair : line.values["sdk"]) {
    std::string name, version;
    if (!split_pair(pair, name, version)) {
      return usage("--sdk takes NAME=VERSION, got \"" + pair + "\"");
    }
    options.sdk_versions[name] = version;
  }
  for (const auto &pair : line.values["attr"]) {
    std::string key, value;
    if (!split_pair(pair, key, value)) {
      return usage("--attr takes KEY=VALUE, got \"" + pair + "\"");
    }
    options.attributes[key] = value;
  }
  for (const auto &path : line.values["trusted-key"]) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return fail(mds::make_error(mds::ErrorCode::NotFound, "cannot read trusted key " + path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    options.trusted_public_keys.push_back(text.str());
  }
  for (const auto &pair : line.values["preset"]) {
    std::string file, directory;
    if (!split_pair(pair, file, directory)) {
      return usage("--preset takes ENVELOPE_FILE=DIR, got \"" + pair + "\"");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return fail(mds::make_error(mds::ErrorCode::NotFound, "cannot read preset envelope " + file));
    }
    std::ostringstream text;
    text << in.rdbuf();
    options.preset_packages.push_back({text.str(), directory});
  }
  for (const auto &pair : line.values["fallback"]) {
    std::string package, url;
    if (!split_pair(pair, package, url)) {
      return usage("--fallback takes PKG=URL, got \"" + pair + "\"");
    }
    options.package_fallback_urls[package] = url;
  }
  long timeout_seconds = 60;
  if (const std::string *timeout = line.last("timeout")) {
    try {
      timeout_seconds = std::stol(*timeout);
    } catch (...) {
      timeout_seconds = 0;
    }
    if (timeout_seconds <= 0) {
      return usage("--timeout takes a positive number of seconds");
    }
  }
  if (const std::string *launches = line.last("hotpatch-max-launches")) {
    long parsed_launches = 0;
    try {
      parsed_launches = std::stol(*launches);
    } catch (...) {
      parsed_launches = 0;
    }
    if (parsed_launches <= 0 || parsed_launches > 100) {
      return usage("--hotpatch-max-launches takes a number 1..100");
    }
    options.hotpatch_max_launches = static_cast<std::uint32_t>(parsed_launches);
  }
  options.schedule.sync_on_start = true;

  auto created = mds::Client::create(std::move(options));
  if (!created) {
    return fail(created.error());
  }
  mds::Client &client = **created;

  if (is_config_get) {
    const std::string &key = command[2];
    auto values = client.config_values();
    auto found = values.find(key);
    if (found == values.end()) {
      return fail(mds::make_error(mds::ErrorCode::NotFound, "no configuration value for \"" + key + "\""));
    }
    std::cout << found->second << "\n";
    return 0;
  }

  if (is_resolve) {
    auto path = client.resolve(command[1], command[2]);
    if (!path) {
      return fail(path.error());
    }
    std::cout << (line.json ? "{\"path\": " + json_string(*path) + "}" : *path) << "\n";
    return 0;
  }

  if (is_launch) {
    auto launched = client.launch_started();
    if (!launched) {
      return fail(launched.error());
    }
    std::cout << (*launched ? hotpatch_json(**launched) : std::string("null")) << "\n";
    return 0;
  }

  if (is_confirm) {
    if (auto confirmed = client.mark_launch_succeeded(); !confirmed) {
      return fail(confirmed.error());
    }
    auto current = client.current_hotpatch();
    if (!current) {
      return fail(current.error());
    }
    std::cout << (*current ? hotpatch_json(**current) : std::string("null")) << "\n";
    return 0;
  }

  Seen seen;
  (void)client.on_package_installed([&seen](const mds::PackageInstalled &installed) {
    std::lock_guard<std::mutex> lock(seen.mutex);
    seen.installed.push_back(installed);
  });
  (void)client.on_error([&seen](const mds::Error &error) {
    std::lock_guard<std::mutex> lock(seen.mutex);
    seen.errors.push_back(error);
  });
  if (auto started = client.start(); !started) {
    return fail(started.error());
  }
  auto report = client.wait_for_sync(0, std::chrono::seconds(timeout_seconds));
  if (is_upgrade) {
    if (!report) {
      client.shutdown(std::chrono::seconds(5));
      return fail(report.error());
    }
    if (!report->status) {
      client.shutdown(std::chrono::seconds(5));
      return fail(report->status.error());
    }
    auto path = client.download_upgrade();
    client.shutdown(std::chrono::seconds(5));
    if (!path) {
      return fail(path.error());
    }
    std::cout << (line.json ? "{\"path\": " + json_string(*path) + "}" : *path) << "\n";
    return 0;
  }
  client.shutdown(std::chrono::seconds(5));
  std::cout << sync_json(client, report, seen) << "\n";
  if (!report) {
    return fail(report.error());
  }
  if (!report->status) {
    return fail(report->status.error());
  }
  return 0;
}
