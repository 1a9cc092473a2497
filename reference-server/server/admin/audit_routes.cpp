#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

std::optional<std::int64_t> small_number(const std::string &text) {
  if (text.empty() || text.size() > 15) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

Response list_audit(Storage &storage, const Request &request) {
  AuditQuery query;
  query.limit = kDefaultLimit;
  if (auto text = request.query_param("limit")) {
    const auto limit = small_number(*text);
    if (!limit || *limit < 1 || *limit > static_cast<std::int64_t>(kMaxLimit)) {
      return Response::error(make_error(ErrorCode::InvalidArgument, "limit must be from 1 to 1000"));
    }
    query.limit = static_cast<std::size_t>(*limit);
  }
  if (auto text = request.query_param("before")) {
    const auto before = small_number(*text);
    if (!before) {
      return Response::error(make_error(ErrorCode::InvalidArgument, "before must be an audit entry id"));
    }
    query.before_id = before;
  }
  query.target = request.query_param("target");

  auto entries = storage.list_audit(query);
  if (!entries) {
    return Response::error(entries.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("entries");
  writer.StartArray();
  for (const auto &entry : *entries) {
    writer.StartObject();
    put(writer, "id", entry.id);
    put_time(writer, "at", entry.at);
    put(writer, "actor", entry.actor);
    put(writer, "action", entry.action);
    put(writer, "target", entry.target);
    put_raw(writer, "detail", entry.detail_json);
    writer.EndObject();
  }
  writer.EndArray();
  // Entries come newest first; pass next_before as ?before= for the page after this one.
  writer.Key("next_before");
  if (entries->size() == query.limit && !entries->empty()) {
    writer.Int64(entries->back().id);
  } else {
    writer.Null();
  }
  writer.EndObject();
  return json_answer(200, buffer);
}

} // namespace

void add_audit_routes(http::Router &router, Storage &storage) {
  router.add({"GET", "/v1/admin/audit", http::Access::Admin, http::BodyMode::None, 0,
              [&storage](const Request &request) { return list_audit(storage, request); }});
}

} // namespace mds::server::admin
