// Releases (create, move through their stages, list, show), their counters, and the
// simulation of targeting for one device.
#include "publisher.hpp"
#include "server_command.hpp"
#include "text_output.hpp"

#include "io/file_io.hpp"

namespace mds::mdsctl {
namespace {

using core::json::Value;

constexpr std::uint64_t kMaxDeviceJsonBytes = 1u << 20;
constexpr std::uint64_t kMaxWindowCap = 100'000'000;

// "home 3.1.0", "home 3.1.0 + maps 2.0" (a group), "config banner,theme".
std::string release_subject(const Value &release) {
  if (const auto *group = member(release, "packages"); group != nullptr && group->IsArray()) {
    std::string text;
    for (const auto &package : group->GetArray()) {
      text += (text.empty() ? "" : " + ") + field(package, "id") + " " + field(package, "version");
    }
    return text;
  }
  if (const auto *package = member(release, "package"); package != nullptr && package->IsObject()) {
    return field(*package, "id") + " " + field(*package, "version");
  }
  if (const auto *config = member(release, "config"); config != nullptr && config->IsObject()) {
    std::string keys;
    for (const auto &entry : config->GetObject()) {
      keys += (keys.empty() ? "" : ",") + std::string(core::json::view(entry.name));
    }
    return "config " + keys;
  }
  return field(release, "kind");
}

std::string names(const Value &release, std::string_view key) {
  std::string text;
  if (const auto *list = member(release, key); list != nullptr && list->IsArray()) {
    for (const auto &name : list->GetArray()) {
      text += (text.empty() ? "" : ", ") + (name.IsString() ? std::string(core::json::view(name)) : compact(name));
    }
  }
  return text.empty() ? "-" : text;
}

std::string stage_text(const Value &release) {
  std::string text = field(release, "stage");
  if (const auto *from = member(release, "paused_from"); from != nullptr && from->IsString()) {
    text += " (from " + std::string(core::json::view(*from)) + ")";
  }
  return text;
}

std::string describe_release(const Value &release) {
  std::string filters;
  if (const auto *list = member(release, "filters"); list != nullptr && list->IsArray()) {
    for (const auto &filter : list->GetArray()) {
      filters += (filters.empty() ? "" : "\n            ") + field(filter, "expression");
    }
  }
  std::string window = "-";
  if (const auto *given = member(release, "window"); given != nullptr && given->IsObject()) {
    window = field(*given, "start") + " to " + field(*given, "end") + ", first " + field(*given, "cap") + " devices";
  }
  return "release     " + field(release, "id") + "\napp         " + field(release, "app") + "\nkind        " +
         field(release, "kind") + "\nwhat        " + release_subject(release) + "\nstage       " + stage_text(release) +
         "\npercent     " + field(release, "percent") + "\nwhitelists  " + names(release, "whitelists") +
         "\nrules       " + names(release, "rules") + "\nfilters     " + (filters.empty() ? "-" : filters) +
         "\nwindow      " + window + "\ncreated     " + field(release, "created_at") + "\nupdated     " +
         field(release, "updated_at");
}

void write_string_array(core::json::Writer &w, const char *key, const std::vector<std::string> &values) {
  if (values.empty()) {
    return;
  }
  w.Key(key);
  w.StartArray();
  for (const auto &value : values) {
    w.String(value);
  }
  w.EndArray();
}

Result<CommandOutput> release_create(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  const auto &packages = call.line.values("package");
  const auto &versions = call.line.values("version");
  const auto &config = call.line.values("config");
  if (packages.size() != versions.size()) {
    return make_error(ErrorCode::InvalidArgument, "give one --version after each --package");
  }
  if (packages.empty() == config.empty()) {
    return make_error(ErrorCode::InvalidArgument, "give either --package PKG --version V or --config KEY=JSON");
  }
  std::vector<std::pair<std::string, std::string>> config_values;
  for (const auto &entry : config) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return make_error(ErrorCode::InvalidArgument, "--config takes KEY=VALUE, not \"" + entry + "\"");
    }
    config_values.emplace_back(entry.substr(0, equals), json_or_string(entry.substr(equals + 1)));
  }
  auto percent = number_option(call.line, "percent");
  if (!percent) {
    return std::move(percent).error();
  }
  auto cap = count_option(call.line, "cap", 1, kMaxWindowCap);
  if (!cap) {
    return std::move(cap).error();
  }
  const auto window = call.line.value("window");
  if (window.has_value() != cap->has_value()) {
    return make_error(ErrorCode::InvalidArgument, "--window START,END and --cap N go together");
  }
  // How devices prompt for an upgrade package (protocol.md, upgrade.mode).
  const auto upgrade_mode = call.line.value("upgrade-mode");
  const auto upgrade_notes = call.line.value("upgrade-notes");
  auto remind_days = count_option(call.line, "remind-days", 1, 365);
  if (!remind_days) {
    return std::move(remind_days).error();
  }
  std::string window_start, window_end;
  if (window) {
    const auto comma = window->find(',');
    if (comma == std::string::npos) {
      return make_error(ErrorCode::InvalidArgument, "--window takes START,END (times in UTC), not \"" + *window + "\"");
    }
    window_start = window->substr(0, comma);
    window_end = window->substr(comma + 1);
  }

  const std::string body = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("app");
    w.String(*call.line.value("app"));
    if (packages.size() == 1) {
      w.Key("package");
      w.StartObject();
      w.Key("id");
      w.String(packages[0]);
      w.Key("version");
      w.String(versions[0]);
      w.EndObject();
    } else if (packages.size() > 1) {
      w.Key("packages");
      w.StartArray();
      for (std::size_t i = 0; i < packages.size(); ++i) {
        w.StartObject();
        w.Key("id");
        w.String(packages[i]);
        w.Key("version");
        w.String(versions[i]);
        w.EndObject();
      }
      w.EndArray();
    } else {
      w.Key("config");
      w.StartObject();
      for (const auto &[key, value] : config_values) {
        w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
        w.RawValue(value.data(), value.size(), rapidjson::kObjectType);
      }
      w.EndObject();
    }
    write_string_array(w, "whitelists", call.line.values("whitelist"));
    write_string_array(w, "rules", call.line.values("rule"));
    write_string_array(w, "filters", call.line.values("filter"));
    if (*percent) {
      w.Key("percent");
      w.RawValue((*percent)->data(), (*percent)->size(), rapidjson::kNumberType);
    }
    if (window) {
      w.Key("window");
      w.StartObject();
      w.Key("start");
      w.String(window_start);
      w.Key("end");
      w.String(window_end);
      w.Key("cap");
      w.Uint64(**cap);
      w.EndObject();
    }
    if (auto stage = call.line.value("stage")) {
      w.Key("stage");
      w.String(*stage);
    }
    if (upgrade_mode || *remind_days || upgrade_notes) {
      w.Key("upgrade");
      w.StartObject();
      if (upgrade_mode) {
        w.Key("mode");
        w.String(*upgrade_mode);
      }
      if (*remind_days) {
        w.Key("remind_days");
        w.Uint64(**remind_days);
      }
      if (upgrade_notes) {
        w.Key("notes");
        w.String(*upgrade_notes);
      }
      w.EndObject();
    }
    w.EndObject();
  });

  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("POST", "/v1/admin/releases", body);
  if (!answer) {
    return std::move(answer).error();
  }
  // The id alone, so that scripts can write id=$(mdsctl release create ...).
  return answer_output(*answer, field(answer->document.root(), "id"));
}

Result<std::uint64_t> release_id(const std::string &text) {
  const bool digits = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoull(text) == 0) {
    return make_error(ErrorCode::InvalidArgument, "a release id is a positive whole number, not \"" + text + "\"");
  }
  return std::stoull(text);
}

Result<CommandOutput> release_move(const Invocation &call, const char *action) {
  auto id = release_id(call.arguments[0]);
  if (!id) {
    return std::move(id).error();
  }
  const bool promote = std::string_view(action) == "promote";
  if (!promote && (call.line.value("percent") || call.line.value("stage"))) {
    return make_error(ErrorCode::InvalidArgument, "--percent and --stage go with promote only");
  }
  if (call.line.value("key")) {
    return make_error(ErrorCode::Unsupported, "signed release actions (--key) are not supported by this server yet");
  }
  auto percent = number_option(call.line, "percent");
  if (!percent) {
    return std::move(percent).error();
  }
  std::string body;
  if (promote && (*percent || call.line.value("stage"))) {
    body = core::json::write([&](core::json::Writer &w) {
      w.StartObject();
      if (auto stage = call.line.value("stage")) {
        w.Key("stage");
        w.String(*stage);
      }
      if (*percent) {
        w.Key("percent");
        w.RawValue((*percent)->data(), (*percent)->size(), rapidjson::kNumberType);
      }
      w.EndObject();
    });
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("POST", "/v1/admin/releases/" + std::to_string(*id) + "/" + action, body);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &release = answer->document.root();
  std::string text = "release " + field(release, "id") + " is " + stage_text(release);
  if (field(release, "percent") != "0" && field(release, "percent") != "-") {
    text += " at " + field(release, "percent") + "%";
  }
  return answer_output(*answer, text);
}

Result<CommandOutput> release_list(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  std::string path = "/v1/admin/releases";
  if (auto app = call.line.value("app")) {
    path += "?app=" + url_encode(*app);
  }
  auto answer = (*client)->call("GET", path);
  if (!answer) {
    return std::move(answer).error();
  }
  Table table({"ID", "APP", "KIND", "WHAT", "STAGE", "PERCENT", "UPDATED"});
  if (const auto *releases = member(answer->document.root(), "releases"); releases != nullptr && releases->IsArray()) {
    for (const auto &release : releases->GetArray()) {
      table.add({field(release, "id"), field(release, "app"), field(release, "kind"), release_subject(release),
                 stage_text(release), field(release, "percent"), field(release, "updated_at")});
    }
  }
  return answer_output(*answer, table.render());
}

Result<CommandOutput> release_show(const Invocation &call) {
  auto id = release_id(call.arguments[0]);
  if (!id) {
    return std::move(id).error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/releases/" + std::to_string(*id));
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, describe_release(answer->document.root()));
}

// offered → downloaded → installed, and the reach rate installed / offered.
Result<CommandOutput> stats(const Invocation &call) {
  auto id = release_id(call.arguments[0]);
  if (!id) {
    return std::move(id).error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/releases/" + std::to_string(*id) + "/counters");
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &counters = answer->document.root();
  auto count = [&](std::string_view key) -> std::uint64_t {
    const auto *value = member(counters, key);
    return value != nullptr && value->IsUint64() ? value->GetUint64() : 0;
  };
  const std::uint64_t offered = count("offered");
  Table table({"STEP", "COUNT", "OF OFFERED"});
  const std::pair<const char *, const char *> steps[] = {{"offered", "offered"},
                                                         {"downloaded", "downloaded"},
                                                         {"installed", "installed"},
                                                         {"failed", "failed"},
                                                         {"rolled back", "rolled_back"}};
  for (const auto &[label, key] : steps) {
    table.add({label, field(counters, key), percent_of(count(key), offered)});
  }
  return answer_output(*answer, "release " + std::to_string(*id) + "\n" + table.render() + "reach " +
                                    percent_of(count("installed"), offered) + " (installed / offered)");
}

// The POST /v1/check body that --device-json holds, or that the device flags describe.
Result<std::string> device_request(const Invocation &call, AdminClient &client) {
  const std::string app = *call.line.value("app");
  if (auto file = call.line.value("device-json")) {
    auto text = io::read_file(*file, kMaxDeviceJsonBytes);
    if (!text) {
      return std::move(text).error();
    }
    auto document = core::json::parse(*text);
    if (!document) {
      return with_context(std::move(document).error(), *file);
    }
    if (!document->root().IsObject()) {
      return make_error(ErrorCode::JsonWrongType, *file + ": the device description must be a JSON object");
    }
    // --app names the app; the file may leave it out.
    auto &root = document->root();
    root.RemoveMember("app");
    root.AddMember("app", core::json::Value(app.c_str(), document->allocator()), document->allocator());
    return core::json::serialize(root);
  }
  if (auto missing = call.line.require({"device-id", "app-version"}); !missing) {
    return make_error(ErrorCode::InvalidArgument, "give --device-json FILE, or --device-id and --app-version");
  }
  std::string platform;
  if (auto given = call.line.value("platform")) {
    platform = *given;
  } else {
    // The app's own platform, as a device of this app would send it.
    auto answer = client.call("GET", "/v1/admin/apps/" + url_encode(app));
    if (!answer) {
      return std::move(answer).error();
    }
    platform = field(answer->document.root(), "platform");
  }
  std::vector<std::pair<std::string, std::string>> sdks;
  for (const auto &entry : call.line.values("sdk")) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return make_error(ErrorCode::InvalidArgument, "--sdk takes NAME=VERSION, not \"" + entry + "\"");
    }
    sdks.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
  }
  std::vector<std::pair<std::string, std::string>> attributes;
  for (const auto &entry : call.line.values("attr")) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return make_error(ErrorCode::InvalidArgument, "--attr takes NAME=VALUE, not \"" + entry + "\"");
    }
    // Numbers and booleans as such, anything else as a string.
    std::string value = json_or_string(entry.substr(equals + 1));
    if (value.front() == '{' || value.front() == '[' || value == "null") {
      value = quoted(entry.substr(equals + 1));
    }
    attributes.emplace_back(entry.substr(0, equals), value);
  }
  static const std::pair<const char *, const char *> kDeviceFields[] = {
      {"user-id", "user_id"}, {"model", "model"},   {"brand", "brand"}, {"os-version", "os_version"},
      {"network", "network"}, {"region", "region"}, {"city", "city"},   {"language", "language"},
      {"channel", "channel"}};
  return core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("app");
    w.String(app);
    w.Key("platform");
    w.String(platform);
    w.Key("app_version");
    w.String(*call.line.value("app-version"));
    if (!sdks.empty()) {
      w.Key("sdks");
      w.StartObject();
      for (const auto &[name, version] : sdks) {
        w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
        w.String(version);
      }
      w.EndObject();
    }
    w.Key("device");
    w.StartObject();
    w.Key("id");
    w.String(*call.line.value("device-id"));
    for (const auto &[option, key] : kDeviceFields) {
      if (auto value = call.line.value(option)) {
        w.Key(key);
        w.String(*value);
      }
    }
    w.EndObject();
    if (!attributes.empty()) {
      w.Key("attributes");
      w.StartObject();
      for (const auto &[name, value] : attributes) {
        w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
        w.RawValue(value.data(), value.size(), rapidjson::kStringType);
      }
      w.EndObject();
    }
    w.EndObject();
  });
}

Result<CommandOutput> simulate(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto body = device_request(call, **client);
  if (!body) {
    return std::move(body).error();
  }
  auto answer = (*client)->call("POST", "/v1/admin/simulate", *body);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &root = answer->document.root();
  std::string text =
      "device " + field(root, "device_id") + " of " + field(root, "app") + " at " + field(root, "at") + "\n";
  Table releases({"RELEASE", "WHAT", "STAGE", "ELIGIBLE", "WHY"});
  if (const auto *list = member(root, "releases"); list != nullptr && list->IsArray()) {
    for (const auto &release : list->GetArray()) {
      const auto *eligible = member(release, "eligible");
      releases.add({field(release, "id"), release_subject(release), field(release, "stage"),
                    eligible != nullptr && eligible->IsTrue() ? "yes" : "no", field(release, "explanation")});
    }
  }
  text += releases.render();
  // What a check from this device would be offered now (servers that publish packages).
  if (const auto *offers = member(root, "offers"); offers != nullptr && offers->IsObject()) {
    text += "offers: upgrade " + field(*offers, "upgrade") + ", offline " + field(*offers, "offline") + ", hotpatch " +
            field(*offers, "hotpatch") + "\n";
  }
  if (const auto *config = member(root, "config"); config != nullptr && config->IsObject()) {
    text += "config (revision " + field(*config, "revision") + ")\n";
    Table values({"KEY", "VALUE", "FROM"});
    const auto *given = member(*config, "values");
    const auto *sources = member(*config, "sources");
    if (given != nullptr && given->IsObject()) {
      for (const auto &entry : given->GetObject()) {
        const std::string key(core::json::view(entry.name));
        values.add({key, compact(entry.value, 60), sources != nullptr ? field(*sources, key) : "-"});
      }
    }
    text += values.render();
  }
  return answer_output(*answer, text);
}

} // namespace

std::vector<Command> release_commands() {
  const cli::OptionSpec move_options{{"percent", "stage", "key"}, {}};
  std::vector<Command> commands = {
      {{"release", "create"},
       {{"app", "package", "version", "config", "whitelist", "percent", "window", "cap", "filter", "rule", "stage",
         "upgrade-mode", "remind-days", "upgrade-notes"},
        {}},
       0,
       0,
       "release create --app APP (--package PKG --version V [--package PKG --version V]... | --config KEY=JSON...) "
       "[--whitelist NAME]... [--percent P] [--window START,END --cap N] [--filter EXPR]... [--rule NAME]... "
       "[--stage draft|gray|full] [--upgrade-mode single|every_time|force|silent] [--remind-days N] "
       "[--upgrade-notes TEXT]",
       release_create},
      {{"release", "promote"},
       move_options,
       1,
       1,
       "release promote ID [--percent P] [--stage gray|full]",
       [](const Invocation &call) { return release_move(call, "promote"); }},
      {{"release", "pause"},
       move_options,
       1,
       1,
       "release pause ID",
       [](const Invocation &call) { return release_move(call, "pause"); }},
      {{"release", "resume"},
       move_options,
       1,
       1,
       "release resume ID",
       [](const Invocation &call) { return release_move(call, "resume"); }},
      {{"release", "end"},
       move_options,
       1,
       1,
       "release end ID",
       [](const Invocation &call) { return release_move(call, "end"); }},
      {{"release", "rollback"},
       move_options,
       1,
       1,
       "release rollback ID",
       [](const Invocation &call) { return release_move(call, "rollback"); }},
      {{"release", "list"}, {{"app"}, {}}, 0, 0, "release list [--app APP]", release_list},
      {{"release", "show"}, {}, 1, 1, "release show ID", release_show},
      {{"stats"}, {}, 1, 1, "stats RELEASE", stats},
      {{"simulate"},
       {{"app", "device-json", "device-id", "user-id", "app-version", "platform", "sdk", "attr", "model", "brand",
         "os-version", "network", "region", "city", "language", "channel"},
        {}},
       0,
       0,
       "simulate --app APP (--device-json FILE | --device-id D --app-version V [--platform P] [--user-id U] "
       "[--sdk NAME=V]... [--attr K=V]... [--model M] [--brand B] [--os-version V] [--network N] [--region R] "
       "[--city C] [--language L] [--channel C])",
       simulate},
  };
  return commands;
}

} // namespace mds::mdsctl
