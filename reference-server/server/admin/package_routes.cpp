// Blobs and packages (docs/protocol-admin.md, "Packages"): which blobs the server lacks,
// blob uploads checked against their name while they stream in, publishing a signed
// package version, and reading published ones back.
#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"
#include "server/packages/publisher.hpp"

#include "core/manifest/manifest.hpp"

#include <memory>

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxMissingQuery = 10000;

Response missing_blobs(const BlobStore &blobs, const AdminLimits &limits, const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "blobs");
  if (auto allowed = object->allow_only({"sha256"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto list = object->array("sha256");
  if (!list) {
    return Response::error(list.error());
  }
  const auto &hashes = (*list)->GetArray();
  if (hashes.Size() == 0 || hashes.Size() > kMaxMissingQuery) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "blobs.sha256 holds 1 to 10000 hashes"));
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("missing");
  writer.StartArray();
  for (rapidjson::SizeType i = 0; i < hashes.Size(); ++i) {
    if (!hashes[i].IsString()) {
      return Response::error(
          make_error(ErrorCode::JsonWrongType, "blobs.sha256[" + std::to_string(i) + "] must be a string"));
    }
    const auto hash = core::json::view(hashes[i]);
    if (!blobs.path_of(hash)) { // a name that is not a SHA-256 in hex
      return Response::error(
          make_error(ErrorCode::InvalidHex, "blobs.sha256[" + std::to_string(i) + "] is not 64 lower-case hex digits"));
    }
    if (!blobs.touch(hash)) { // held blobs are wanted now: a sweep leaves them for its grace period
      writer.String(hash.data(), static_cast<rapidjson::SizeType>(hash.size()));
    }
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

// The body was spooled and hashed by the HTTP server as it arrived; here it is only
// compared with its name and linked into the store.
Response put_blob(BlobStore &blobs, const Request &request) {
  const auto &name = request.path_params.at("sha256");
  if (auto valid = blobs.path_of(name); !valid) {
    return Response::error(valid.error());
  }
  if (request.body_sha256.empty()) {
    return Response::error(make_error(ErrorCode::Internal, "the upload was not hashed"));
  }
  if (request.body_sha256 != name) {
    return Response::error(make_error(ErrorCode::FileHashMismatch, "the body has SHA-256 " + request.body_sha256 +
                                                                       ", not the " + name + " it was sent as"));
  }
  const bool held = blobs.contains(name);
  auto stored = blobs.adopt(request.body_file, name);
  if (!stored) {
    return Response::error(stored.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "sha256", stored->sha256);
  put(writer, "size", static_cast<std::int64_t>(stored->size));
  writer.EndObject();
  return json_answer(held ? 200 : 201, buffer);
}

void write_download(core::json::Writer &writer, const PackageDownload &download) {
  writer.StartObject();
  if (!download.base_version.empty()) {
    put(writer, "base", download.base_version);
  }
  put(writer, "sha256", download.sha256);
  put(writer, "size", static_cast<std::int64_t>(download.size));
  writer.EndObject();
}

void write_package(core::json::Writer &writer, const Package &package, bool with_envelope) {
  writer.StartObject();
  put(writer, "app", package.app);
  put(writer, "kind", package.kind);
  put(writer, "id", package.package_id);
  put(writer, "version", package.version);
  put(writer, "manifest_sha256", package.manifest_sha256);
  put(writer, "files", static_cast<std::int64_t>(package.file_count));
  put(writer, "size", static_cast<std::int64_t>(package.size));
  if (with_envelope) {
    put(writer, "envelope", package.envelope);
  }
  writer.Key("full");
  write_download(writer, package.full);
  writer.Key("deltas");
  writer.StartArray();
  for (const auto &delta : package.deltas) {
    write_download(writer, delta);
  }
  writer.EndArray();
  put_time(writer, "created_at", package.created_at);
  writer.EndObject();
}

Response publish(packages::Publisher &publisher, const AdminLimits &limits, const Request &request) {
  const auto &app = request.path_params.at("app");
  auto body = parse_object_body(request, limits.publish_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "package");
  if (auto allowed = object->allow_only({"envelope"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto envelope = object->string("envelope");
  if (!envelope) {
    return Response::error(envelope.error());
  }
  auto published = publisher.publish(app, *envelope, request.actor);
  if (!published) {
    return Response::error(published.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_package(writer, published->package, true);
  return json_answer(published->created ? 201 : 200, buffer);
}

Response list_packages(Storage &storage, const Request &request) {
  PackageQuery query;
  query.kind = request.query_param("kind");
  query.package_id = request.query_param("id");
  if (query.kind && !core::package_kind_from_string(*query.kind)) {
    return Response::error(make_error(ErrorCode::InvalidArgument, "kind must be offline, hotpatch or upgrade"));
  }
  auto packages = storage.list_packages(request.path_params.at("app"), query);
  if (!packages) {
    return Response::error(packages.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("packages");
  writer.StartArray();
  for (const auto &package : *packages) {
    write_package(writer, package, false);
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response get_package(Storage &storage, const Request &request) {
  auto package = storage.get_package(request.path_params.at("app"), request.path_params.at("id"),
                                     request.path_params.at("version"));
  if (!package) {
    return Response::error(package.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_package(writer, *package, true);
  return json_answer(200, buffer);
}

} // namespace

void add_package_routes(http::Router &router, Storage &storage, BlobStore &blobs, const AdminLimits &limits,
                        const packages::PublishOptions &options) {
  auto publisher = std::make_shared<packages::Publisher>(storage, blobs, options);
  router.add({"POST", "/v1/admin/blobs/missing", http::Access::Admin, http::BodyMode::Buffered, limits.json_body,
              [&blobs, limits](const Request &request) { return missing_blobs(blobs, limits, request); }});
  router.add({"PUT", "/v1/admin/blobs/{sha256}", http::Access::Admin, http::BodyMode::Spooled,
              static_cast<std::size_t>(limits.blob_upload),
              [&blobs](const Request &request) { return put_blob(blobs, request); }});
  router.add({"POST", "/v1/admin/apps/{app}/packages", http::Access::Admin, http::BodyMode::Buffered,
              limits.publish_body,
              [publisher, limits](const Request &request) { return publish(*publisher, limits, request); }});
  router.add({"GET", "/v1/admin/apps/{app}/packages", http::Access::Admin, http::BodyMode::None, 0,
              [&storage](const Request &request) { return list_packages(storage, request); }});
  router.add({"GET", "/v1/admin/apps/{app}/packages/{id}/{version}", http::Access::Admin, http::BodyMode::None, 0,
              [&storage](const Request &request) { return get_package(storage, request); }});
}

} // namespace mds::server::admin
