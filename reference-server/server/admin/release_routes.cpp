#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"
#include "server/targeting/filter_expression.hpp"
#include "server/util/time.hpp"

#include "core/version/version.hpp"

#include <random>

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxFilters = 100;
constexpr std::size_t kMaxReferences = 100; // whitelists or rules named by one release
constexpr std::size_t kMaxDescription = 1024;
constexpr std::size_t kMaxPackageId = 64;
constexpr std::size_t kMinGroup = 2; // packages of one release installed together
constexpr std::size_t kMaxGroup = 16;
constexpr std::size_t kMaxNotes = 4096; // the manifest's limit on notes

// The manifest's package grammar: 1 to 64 of a-z 0-9 . _ -, starting and ending with a
// letter or digit, lower case because it names a directory on the device.
Status check_package_id(std::string_view id) {
  bool valid = !id.empty() && id.size() <= kMaxPackageId;
  for (std::size_t i = 0; valid && i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    valid = alnum || (i != 0 && i + 1 != id.size() && (c == '.' || c == '_' || c == '-'));
  }
  if (!valid) {
    return make_error(ErrorCode::InvalidArgument, "release.package.id \"" + std::string(id) +
                                                      "\": use 1 to 64 of a-z 0-9 . _ -, starting and ending "
                                                      "with a letter or digit");
  }
  return {};
}

Result<PackageRef> parse_package_ref(const core::json::Value &value, const std::string &where) {
  auto package = core::json::ObjectReader::of(value, where);
  if (!package) {
    return package.error();
  }
  if (auto allowed = package->allow_only({"id", "version"}); !allowed) {
    return allowed.error();
  }
  auto id = package->string("id");
  if (!id) {
    return id.error();
  }
  auto version = package->string("version");
  if (!version) {
    return version.error();
  }
  if (auto valid = check_package_id(*id); !valid) {
    return valid.error();
  }
  // A package version is what its signed manifest says: dotted numbers only.
  if (auto parsed = core::Version::parse_dotted(*version); !parsed) {
    return make_error(ErrorCode::VersionInvalid, where + ".version: " + parsed.error().message);
  }
  return PackageRef{*id, *version};
}

Result<UpgradePrompt> parse_upgrade_prompt(const core::json::Value &value) {
  auto object = core::json::ObjectReader::of(value, "release.upgrade");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only({"mode", "remind_days", "notes"}); !allowed) {
    return allowed.error();
  }
  UpgradePrompt prompt;
  auto mode = object->optional_string("mode");
  if (!mode) {
    return mode.error();
  }
  if (*mode) {
    if (**mode != "single" && **mode != "every_time" && **mode != "force" && **mode != "silent") {
      return make_error(ErrorCode::JsonValueOutOfRange,
                        "release.upgrade.mode must be single, every_time, force or silent");
    }
    prompt.mode = **mode;
  }
  if (object->has("remind_days")) {
    auto days = object->uint64("remind_days");
    if (!days) {
      return days.error();
    }
    if (*days < 1 || *days > 365) {
      return make_error(ErrorCode::JsonValueOutOfRange, "release.upgrade.remind_days must be 1 to 365");
    }
    prompt.remind_days = static_cast<std::uint32_t>(*days);
  }
  auto notes = object->optional_string("notes");
  if (!notes) {
    return notes.error();
  }
  if (*notes && (*notes)->size() > kMaxNotes) {
    return make_error(ErrorCode::JsonValueOutOfRange, "release.upgrade.notes is above 4096 bytes");
  }
  prompt.notes = *notes;
  return prompt;
}

// A release names published packages of its app: a group only offline ones, an upgrade
// prompt only an upgrade package.
Status check_published(Storage &storage, const NewRelease &release) {
  if (release.kind != ReleaseKind::Package) {
    return {};
  }
  std::vector<PackageRef> named = release.group;
  if (named.empty()) {
    named.push_back({release.package_id, release.package_version});
  }
  for (const auto &ref : named) {
    auto package = storage.get_package(release.app, ref.id, ref.version);
    if (!package) {
      return package.error();
    }
    if (!release.group.empty() && package->kind != "offline") {
      return make_error(ErrorCode::InvalidArgument, "release.packages: \"" + ref.id + "\" is a " + package->kind +
                                                        " package; a group holds offline packages only");
    }
    if (release.upgrade && package->kind != "upgrade") {
      return make_error(ErrorCode::InvalidArgument,
                        "release.upgrade: \"" + ref.id + "\" is a " + package->kind + " package, not an upgrade");
    }
  }
  return {};
}

Result<std::vector<targeting::Filter>> parse_filters(const core::json::ObjectReader &object) {
  auto expressions = string_list(object, "filters", kMaxFilters, targeting::kMaxExpressionLength);
  if (!expressions) {
    return expressions.error();
  }
  std::vector<targeting::Filter> filters;
  for (const auto &expression : *expressions) {
    auto filter = targeting::parse_filter(expression);
    if (!filter) {
      return filter.error();
    }
    filters.push_back(std::move(filter.value()));
  }
  return filters;
}

// 128 random bits, in hex: the release's bucketing salt.
std::string new_salt() {
  std::random_device entropy;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string salt;
  for (int i = 0; i < 8; ++i) {
    const auto word = entropy();
    salt += kHex[(word >> 12) & 0xf];
    salt += kHex[(word >> 8) & 0xf];
    salt += kHex[(word >> 4) & 0xf];
    salt += kHex[word & 0xf];
  }
  return salt;
}

// --- release rules ------------------------------------------------------------------

void write_rule(core::json::Writer &writer, const ReleaseRule &rule) {
  writer.StartObject();
  put(writer, "name", rule.name);
  put(writer, "description", rule.description);
  put_raw(writer, "filters", rule.filters_json);
  put_time(writer, "created_at", rule.created_at);
  writer.EndObject();
}

Response create_rule(Storage &storage, const AdminLimits &limits, const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "rule");
  if (auto allowed = object->allow_only({"name", "description", "filters"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto name = object->string("name");
  if (!name) {
    return Response::error(name.error());
  }
  if (auto valid = check_name("rule", *name); !valid) {
    return Response::error(valid.error());
  }
  auto description = object->optional_string("description");
  if (!description) {
    return Response::error(description.error());
  }
  if (description->value_or("").size() > kMaxDescription) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "rule.description is at most 1024 bytes"));
  }
  if (!object->has("filters")) {
    return Response::error(make_error(ErrorCode::JsonMissingField, "rule.filters is required"));
  }
  auto filters = parse_filters(*object);
  if (!filters) {
    return Response::error(filters.error());
  }
  if (filters->empty()) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "rule.filters needs at least one filter"));
  }
  NewReleaseRule rule{*name, description->value_or(""), targeting::filters_to_json(*filters)};
  auto created = storage.create_rule(rule, request.actor);
  if (!created) {
    return Response::error(created.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_rule(writer, *created);
  return json_answer(201, buffer);
}

Response list_rules(Storage &storage) {
  auto rules = storage.list_rules();
  if (!rules) {
    return Response::error(rules.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("rules");
  writer.StartArray();
  for (const auto &rule : *rules) {
    write_rule(writer, rule);
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response get_rule(Storage &storage, const Request &request) {
  auto rule = storage.get_rule(request.path_params.at("name"));
  if (!rule) {
    return Response::error(rule.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_rule(writer, *rule);
  return json_answer(200, buffer);
}

// --- releases -----------------------------------------------------------------------

void write_release(core::json::Writer &writer, const Release &release) {
  writer.StartObject();
  put(writer, "id", release.id);
  put(writer, "app", release.app);
  put(writer, "kind", to_string(release.kind));
  write_release_package(writer, release);
  if (!release.group.empty()) {
    writer.Key("packages");
    writer.StartArray();
    for (const auto &member : release.group) {
      writer.StartObject();
      put(writer, "id", member.id);
      put(writer, "version", member.version);
      writer.EndObject();
    }
    writer.EndArray();
  }
  if (release.upgrade) {
    writer.Key("upgrade");
    writer.StartObject();
    put(writer, "mode", release.upgrade->mode);
    put(writer, "remind_days", static_cast<std::int64_t>(release.upgrade->remind_days));
    writer.Key("notes");
    if (release.upgrade->notes) {
      writer.String(release.upgrade->notes->c_str(), static_cast<rapidjson::SizeType>(release.upgrade->notes->size()));
    } else {
      writer.Null();
    }
    writer.EndObject();
  }
  if (release.kind == ReleaseKind::Config) {
    put_raw(writer, "config", release.config_json);
  } else {
    writer.Key("config");
    writer.Null();
  }
  put(writer, "stage", to_string(release.progress.stage));
  if (release.progress.paused_from) {
    put(writer, "paused_from", to_string(*release.progress.paused_from));
  }
  put_percent(writer, "percent", release.progress.percent_bp);
  for (const auto &[key, names] :
       {std::pair<const char *, const std::vector<std::string> *>{"whitelists", &release.whitelists},
        std::pair<const char *, const std::vector<std::string> *>{"rules", &release.rules}}) {
    writer.Key(key);
    writer.StartArray();
    for (const auto &name : *names) {
      writer.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    }
    writer.EndArray();
  }
  put_raw(writer, "filters", release.filters_json);
  writer.Key("window");
  if (release.window) {
    writer.StartObject();
    put_time(writer, "start", release.window->start);
    put_time(writer, "end", release.window->end);
    put(writer, "cap", static_cast<std::int64_t>(release.window->cap));
    writer.EndObject();
  } else {
    writer.Null();
  }
  put_time(writer, "created_at", release.created_at);
  put_time(writer, "updated_at", release.updated_at);
  writer.EndObject();
}

Response release_answer(unsigned status, const Release &release) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_release(writer, release);
  return json_answer(status, buffer);
}

Result<TimeWindow> parse_window(const core::json::Value &value) {
  auto object = core::json::ObjectReader::of(value, "release.window");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only({"start", "end", "cap"}); !allowed) {
    return allowed.error();
  }
  TimeWindow window;
  for (const auto &[key, target] : {std::pair<const char *, std::int64_t *>{"start", &window.start},
                                    std::pair<const char *, std::int64_t *>{"end", &window.end}}) {
    auto text = object->string(key);
    if (!text) {
      return text.error();
    }
    auto instant = parse_utc(*text);
    if (!instant) {
      return make_error(ErrorCode::JsonValueOutOfRange,
                        "release.window." + std::string(key) + ": " + instant.error().message);
    }
    *target = *instant;
  }
  if (window.end <= window.start) {
    return make_error(ErrorCode::JsonValueOutOfRange, "release.window.end must be after its start");
  }
  auto cap = object->uint64("cap");
  if (!cap) {
    return cap.error();
  }
  if (*cap == 0 || *cap > 100'000'000) {
    return make_error(ErrorCode::JsonValueOutOfRange, "release.window.cap must be from 1 to 100000000");
  }
  window.cap = *cap;
  return window;
}

Result<NewRelease> parse_new_release(const core::json::Value &root) {
  auto object = core::json::ObjectReader::of(root, "release");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only({"app", "package", "packages", "upgrade", "config", "whitelists", "rules",
                                         "filters", "percent", "window", "stage"});
      !allowed) {
    return allowed.error();
  }
  NewRelease release;
  auto app = object->string("app");
  if (!app) {
    return app.error();
  }
  release.app = *app;

  const int carried =
      (object->has("package") ? 1 : 0) + (object->has("packages") ? 1 : 0) + (object->has("config") ? 1 : 0);
  if (carried != 1) {
    return make_error(carried == 0 ? ErrorCode::JsonMissingField : ErrorCode::InvalidArgument,
                      "a release carries exactly one of \"package\", \"packages\" and \"config\"");
  }
  if (object->has("upgrade") && !object->has("package")) {
    return make_error(ErrorCode::InvalidArgument, "release.upgrade goes with a release of one upgrade package");
  }
  if (object->has("package")) {
    release.kind = ReleaseKind::Package;
    auto package = parse_package_ref(*object->find("package"), "release.package");
    if (!package) {
      return package.error();
    }
    release.package_id = package->id;
    release.package_version = package->version;
    if (const auto *upgrade = object->find("upgrade")) {
      auto prompt = parse_upgrade_prompt(*upgrade);
      if (!prompt) {
        return prompt.error();
      }
      release.upgrade = std::move(prompt.value());
    }
  } else if (object->has("packages")) {
    release.kind = ReleaseKind::Package;
    const auto &members = *object->find("packages");
    if (!members.IsArray()) {
      return make_error(ErrorCode::JsonWrongType, "release.packages must be an array");
    }
    if (members.Size() < kMinGroup || members.Size() > kMaxGroup) {
      return make_error(ErrorCode::JsonValueOutOfRange, "release.packages holds 2 to 16 packages");
    }
    for (rapidjson::SizeType i = 0; i < members.Size(); ++i) {
      auto member = parse_package_ref(members[i], "release.packages[" + std::to_string(i) + "]");
      if (!member) {
        return member.error();
      }
      for (const auto &earlier : release.group) {
        if (earlier.id == member->id) {
          return make_error(ErrorCode::InvalidArgument, "release.packages names package \"" + member->id + "\" twice");
        }
      }
      release.group.push_back(std::move(member.value()));
    }
    release.package_id = release.group.front().id;
    release.package_version = release.group.front().version;
  } else {
    release.kind = ReleaseKind::Config;
    const auto &config = *object->find("config");
    if (!config.IsObject()) {
      return make_error(ErrorCode::JsonWrongType, "release.config must be an object of key: value");
    }
    if (config.MemberCount() == 0) {
      return make_error(ErrorCode::JsonValueOutOfRange, "release.config names no key");
    }
    for (const auto &member : config.GetObject()) {
      if (auto valid = check_name("config key", core::json::view(member.name)); !valid) {
        return valid.error();
      }
    }
    release.config_json = core::json::serialize(config);
  }

  auto whitelists = string_list(*object, "whitelists", kMaxReferences, 128);
  if (!whitelists) {
    return whitelists.error();
  }
  release.whitelists = std::move(whitelists.value());
  auto rules = string_list(*object, "rules", kMaxReferences, 128);
  if (!rules) {
    return rules.error();
  }
  release.rules = std::move(rules.value());
  auto filters = parse_filters(*object);
  if (!filters) {
    return filters.error();
  }
  release.filters_json = targeting::filters_to_json(*filters);

  if (const auto *percent = object->find("percent")) {
    auto basis_points = percent_basis_points(*percent, "release.percent");
    if (!basis_points) {
      return basis_points.error();
    }
    release.progress.percent_bp = *basis_points;
  }
  if (const auto *window = object->find("window")) {
    auto parsed = parse_window(*window);
    if (!parsed) {
      return parsed.error();
    }
    release.window = *parsed;
  }
  auto stage_name = object->optional_string("stage");
  if (!stage_name) {
    return stage_name.error();
  }
  if (*stage_name) {
    const auto stage = release_stage_from_string(**stage_name);
    if (!stage || (*stage != ReleaseStage::Draft && *stage != ReleaseStage::Gray && *stage != ReleaseStage::Full)) {
      return make_error(ErrorCode::JsonValueOutOfRange, "release.stage must be draft, gray or full");
    }
    release.progress.stage = *stage;
  }
  release.salt = new_salt();
  return release;
}

Response create_release(Storage &storage, const AdminLimits &limits, const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto release = parse_new_release(body->root());
  if (!release) {
    return Response::error(release.error());
  }
  if (auto published = check_published(storage, *release); !published) {
    return Response::error(published.error());
  }
  auto created = storage.create_release(*release, request.actor);
  if (!created) {
    return Response::error(created.error());
  }
  return release_answer(201, *created);
}

Result<std::int64_t> release_id(const Request &request) {
  const auto &text = request.path_params.at("id");
  std::int64_t id = 0;
  if (text.empty() || text.size() > 15) {
    return make_error(ErrorCode::NotFound, "release \"" + text + "\" does not exist");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return make_error(ErrorCode::NotFound, "release \"" + text + "\" does not exist");
    }
    id = id * 10 + (c - '0');
  }
  return id;
}

Response list_releases(Storage &storage, const Request &request) {
  auto releases = storage.list_releases(request.query_param("app"));
  if (!releases) {
    return Response::error(releases.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("releases");
  writer.StartArray();
  for (const auto &release : *releases) {
    write_release(writer, release);
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response get_release(Storage &storage, const Request &request) {
  auto id = release_id(request);
  if (!id) {
    return Response::error(id.error());
  }
  auto release = storage.get_release(*id);
  if (!release) {
    return Response::error(release.error());
  }
  return release_answer(200, *release);
}

Response get_counters(Storage &storage, const Request &request) {
  auto id = release_id(request);
  if (!id) {
    return Response::error(id.error());
  }
  auto counters = storage.release_counters(*id);
  if (!counters) {
    return Response::error(counters.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "release", *id);
  const std::pair<const char *, std::uint64_t> fields[] = {{"offered", counters->offered},
                                                           {"downloaded", counters->downloaded},
                                                           {"installed", counters->installed},
                                                           {"failed", counters->failed},
                                                           {"rolled_back", counters->rolled_back}};
  for (const auto &[name, value] : fields) {
    writer.Key(name);
    writer.Uint64(value);
  }
  writer.EndObject();
  return json_answer(200, buffer);
}

Result<PromoteRequest> parse_promote(const core::json::Value &root) {
  auto object = core::json::ObjectReader::of(root, "promote");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only({"stage", "percent"}); !allowed) {
    return allowed.error();
  }
  PromoteRequest promote;
  auto stage_name = object->optional_string("stage");
  if (!stage_name) {
    return stage_name.error();
  }
  if (*stage_name) {
    const auto stage = release_stage_from_string(**stage_name);
    if (!stage || (*stage != ReleaseStage::Gray && *stage != ReleaseStage::Full)) {
      return make_error(ErrorCode::JsonValueOutOfRange, "promote.stage must be gray or full");
    }
    promote.to = *stage;
  }
  if (const auto *percent = object->find("percent")) {
    auto basis_points = percent_basis_points(*percent, "promote.percent");
    if (!basis_points) {
      return basis_points.error();
    }
    promote.percent_bp = *basis_points;
  }
  return promote;
}

Response change_release(Storage &storage, const AdminLimits &limits, const Request &request) {
  auto id = release_id(request);
  if (!id) {
    return Response::error(id.error());
  }
  const auto action = release_action_from_string(request.path_params.at("action"));
  if (!action) {
    return Response::error(make_error(ErrorCode::NotFound, "no such release action; use promote, pause, resume, "
                                                           "end or rollback"));
  }
  auto body = parse_object_body(request, limits.json_body, true);
  if (!body) {
    return Response::error(body.error());
  }
  PromoteRequest promote;
  if (*action == ReleaseAction::Promote) {
    auto parsed = parse_promote(body->root());
    if (!parsed) {
      return Response::error(parsed.error());
    }
    promote = *parsed;
  } else if (body->root().MemberCount() != 0) {
    return Response::error(
        make_error(ErrorCode::JsonUnknownField, std::string(to_string(*action)) + " takes no fields"));
  }

  auto current = storage.get_release(*id);
  if (!current) {
    return Response::error(current.error());
  }
  auto next = apply_release_action(current->progress, *action, promote);
  if (!next) {
    return Response::error(next.error());
  }
  auto changed = storage.change_release_progress({*id, *action, current->progress, *next}, request.actor);
  if (!changed) {
    return Response::error(changed.error());
  }
  return release_answer(200, *changed);
}

} // namespace

void add_release_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  using http::Access;
  using http::BodyMode;
  router.add({"POST", "/v1/admin/rules", Access::Admin, BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return create_rule(storage, limits, request); }});
  router.add({"GET", "/v1/admin/rules", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &) { return list_rules(storage); }});
  router.add({"GET", "/v1/admin/rules/{name}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return get_rule(storage, request); }});

  router.add({"POST", "/v1/admin/releases", Access::Admin, BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return create_release(storage, limits, request); }});
  router.add({"GET", "/v1/admin/releases", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return list_releases(storage, request); }});
  router.add({"GET", "/v1/admin/releases/{id}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return get_release(storage, request); }});
  router.add({"GET", "/v1/admin/releases/{id}/counters", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return get_counters(storage, request); }});
  router.add({"POST", "/v1/admin/releases/{id}/{action}", Access::Admin, BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return change_release(storage, limits, request); }});
}

void write_release_package(core::json::Writer &writer, const Release &release) {
  writer.Key("package");
  if (release.kind != ReleaseKind::Package) {
    writer.Null();
    return;
  }
  writer.StartObject();
  put(writer, "id", release.package_id);
  put(writer, "version", release.package_version);
  writer.EndObject();
}

} // namespace mds::server::admin
