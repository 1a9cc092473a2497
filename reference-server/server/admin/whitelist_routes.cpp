#include "server/admin/admin_api.hpp"
#include "server/admin/id_list_reader.hpp"
#include "server/admin/json_io.hpp"

#include <chrono>

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kDefaultSample = 10;
constexpr std::size_t kMaxSample = 1000;

void write_whitelist(core::json::Writer &writer, const Whitelist &whitelist) {
  put(writer, "name", whitelist.name);
  put(writer, "type", to_string(whitelist.type));
  put(writer, "match", to_string(whitelist.match));
  put(writer, "count", static_cast<std::int64_t>(whitelist.entry_count));
  put_time(writer, "created_at", whitelist.created_at);
  put_time(writer, "updated_at", whitelist.updated_at);
}

Result<WhitelistType> type_named(std::string_view name, std::string_view where) {
  auto type = whitelist_type_from_string(name);
  if (!type) {
    return make_error(ErrorCode::InvalidArgument, std::string(where) + " must be user or device");
  }
  return *type;
}

Result<WhitelistMatch> match_named(std::string_view name, std::string_view where) {
  auto match = whitelist_match_from_string(name);
  if (!match) {
    return make_error(ErrorCode::InvalidArgument, std::string(where) + " must be id or regex");
  }
  return *match;
}

Response create_whitelist(Storage &storage, const AdminLimits &limits, const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "whitelist");
  if (auto allowed = object->allow_only({"name", "type", "match"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto name = object->string("name");
  if (!name) {
    return Response::error(name.error());
  }
  if (auto valid = check_name("whitelist", *name); !valid) {
    return Response::error(valid.error());
  }
  auto type_text = object->string("type");
  if (!type_text) {
    return Response::error(type_text.error());
  }
  auto type = type_named(*type_text, "whitelist.type");
  if (!type) {
    return Response::error(type.error());
  }
  WhitelistMatch match = WhitelistMatch::Id;
  if (object->find("match") != nullptr) {
    auto match_text = object->string("match");
    if (!match_text) {
      return Response::error(match_text.error());
    }
    auto named = match_named(*match_text, "whitelist.match");
    if (!named) {
      return Response::error(named.error());
    }
    match = *named;
  }
  auto created = storage.create_whitelist(*name, *type, match, request.actor);
  if (!created) {
    return Response::error(created.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  write_whitelist(writer, *created);
  writer.EndObject();
  return json_answer(201, buffer);
}

Response import_whitelist(Storage &storage, const Request &request) {
  const auto &name = request.path_params.at("name");
  if (auto valid = check_name("whitelist", name); !valid) {
    return Response::error(valid.error());
  }
  const auto type_text = request.query_param("type");
  if (!type_text) {
    return Response::error(make_error(ErrorCode::InvalidArgument, "the query parameter type=user|device is required"));
  }
  auto type = type_named(*type_text, "type");
  if (!type) {
    return Response::error(type.error());
  }
  WhitelistMatch match = WhitelistMatch::Id;
  if (const auto match_text = request.query_param("match")) {
    auto named = match_named(*match_text, "match");
    if (!named) {
      return Response::error(named.error());
    }
    match = *named;
  }
  const auto started = std::chrono::steady_clock::now();
  auto reader = IdListReader::open(request.body_file, match);
  if (!reader) {
    return Response::error(reader.error());
  }
  auto imported = storage.import_whitelist(name, *type, match, **reader, request.actor);
  if (!imported) {
    return Response::error(imported.error());
  }
  const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("whitelist");
  writer.StartObject();
  write_whitelist(writer, imported->whitelist);
  writer.EndObject();
  put(writer, "ids_read", static_cast<std::int64_t>(imported->ids_read));
  put(writer, "duplicates", static_cast<std::int64_t>(imported->duplicates));
  writer.Key("created");
  writer.Bool(imported->created);
  put(writer, "elapsed_ms", static_cast<std::int64_t>(elapsed));
  writer.EndObject();
  return json_answer(200, buffer);
}

Response list_whitelists(Storage &storage) {
  auto lists = storage.list_whitelists();
  if (!lists) {
    return Response::error(lists.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("whitelists");
  writer.StartArray();
  for (const auto &whitelist : *lists) {
    writer.StartObject();
    write_whitelist(writer, whitelist);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response show_whitelist(Storage &storage, const Request &request) {
  std::size_t sample_size = kDefaultSample;
  if (auto text = request.query_param("sample")) {
    std::size_t parsed = 0;
    bool valid = !text->empty() && text->size() <= 4;
    for (char c : *text) {
      valid = valid && c >= '0' && c <= '9';
      parsed = parsed * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!valid || parsed > kMaxSample) {
      return Response::error(
          make_error(ErrorCode::InvalidArgument, "sample must be a number from 0 to " + std::to_string(kMaxSample)));
    }
    sample_size = parsed;
  }
  auto shown = storage.get_whitelist(request.path_params.at("name"), sample_size);
  if (!shown) {
    return Response::error(shown.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  write_whitelist(writer, shown->whitelist);
  writer.Key("sample");
  writer.StartArray();
  for (const auto &id : shown->sample) {
    writer.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response check_membership(Storage &storage, const Request &request) {
  const auto &name = request.path_params.at("name");
  const auto &id = request.path_params.at("id");
  if (auto list = storage.get_whitelist(name, 0); !list) {
    return Response::error(list.error());
  }
  auto member = storage.whitelist_contains(name, id);
  if (!member) {
    return Response::error(member.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "whitelist", name);
  put(writer, "id", id);
  writer.Key("member");
  writer.Bool(*member);
  writer.EndObject();
  return json_answer(200, buffer);
}

Response delete_whitelist(Storage &storage, const Request &request) {
  const auto &name = request.path_params.at("name");
  if (auto deleted = storage.delete_whitelist(name, request.actor); !deleted) {
    return Response::error(deleted.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "deleted", name);
  writer.EndObject();
  return json_answer(200, buffer);
}

} // namespace

void add_whitelist_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  using http::Access;
  using http::BodyMode;
  router.add({"POST", "/v1/admin/whitelists", Access::Admin, BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return create_whitelist(storage, limits, request); }});
  router.add({"GET", "/v1/admin/whitelists", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &) { return list_whitelists(storage); }});
  router.add({"GET", "/v1/admin/whitelists/{name}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return show_whitelist(storage, request); }});
  router.add({"DELETE", "/v1/admin/whitelists/{name}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return delete_whitelist(storage, request); }});
  router.add({"PUT", "/v1/admin/whitelists/{name}/entries", Access::Admin, BodyMode::Spooled, limits.whitelist_upload,
              [&storage](const Request &request) { return import_whitelist(storage, request); }});
  router.add({"GET", "/v1/admin/whitelists/{name}/entries/{id}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return check_membership(storage, request); }});
}

} // namespace mds::server::admin
