// Publishing packages over the admin API in integration tests: a signed manifest built
// from files held in memory (core manifest + DSSE code, signed with the fixture's
// publisher key unless told otherwise), their blobs uploaded, then the publish call.
#ifndef MDS_TESTS_INTEGRATION_PACKAGE_SUPPORT_HPP
#define MDS_TESTS_INTEGRATION_PACKAGE_SUPPORT_HPP

#include "fixture.hpp"

#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/manifest.hpp"

#include <map>
#include <optional>
#include <string>

namespace mds::test {

// Package path → the file's bytes.
using PackageFiles = std::map<std::string, std::string>;

struct SignedPackage {
  core::Manifest manifest;
  std::string envelope; // the DSSE envelope's JSON text
  PackageFiles files;
};

inline std::string sha256_hex(const std::string &bytes) {
  return core::crypto::hex_encode(core::crypto::sha256(core::crypto::ByteView(bytes)));
}

inline core::Manifest make_manifest(const std::string &app, core::PackageKind kind, const std::string &id,
                                    const std::string &version, const PackageFiles &files,
                                    std::optional<std::string> notes = std::nullopt) {
  core::Manifest manifest;
  manifest.app = app;
  manifest.kind = kind;
  manifest.package_id = id;
  manifest.version = version;
  manifest.created = "2026-11-22T12:00:00Z";
  manifest.notes = std::move(notes);
  for (const auto &[path, bytes] : files) {
    manifest.files.push_back({path, bytes.size(), sha256_hex(bytes)});
  }
  return manifest;
}

// The manifest's canonical text signed by `key` into an envelope.
inline std::string sign_manifest(const core::Manifest &manifest,
                                 const core::crypto::PrivateKey &key = publisher_key()) {
  REQUIRE(core::validate(manifest).ok());
  auto envelope = core::crypto::sign_envelope(core::kManifestPayloadType, core::encode(manifest), key);
  REQUIRE(envelope.ok());
  auto text = core::crypto::encode_envelope(*envelope);
  REQUIRE(text.ok());
  return *text;
}

inline SignedPackage signed_package(const std::string &app, core::PackageKind kind, const std::string &id,
                                    const std::string &version, PackageFiles files,
                                    std::optional<std::string> notes = std::nullopt) {
  SignedPackage package;
  package.manifest = make_manifest(app, kind, id, version, files, std::move(notes));
  package.envelope = sign_manifest(package.manifest);
  package.files = std::move(files);
  return package;
}

// The blobs the server says it lacks, uploaded; REQUIREs every step to succeed.
inline void upload_blobs(HttpClient &client, const PackageFiles &files) {
  std::string query = R"({"sha256":[)";
  std::map<std::string, const std::string *> by_hash;
  for (const auto &[path, bytes] : files) {
    const auto hash = sha256_hex(bytes);
    query += (by_hash.empty() ? "\"" : ",\"") + hash + "\"";
    by_hash[hash] = &bytes;
  }
  query += "]}";
  auto missing = client.admin("POST", "/v1/admin/blobs/missing", query);
  INFO(missing.body);
  REQUIRE(missing.status == 200);
  const auto answer = parse_json(missing);
  for (const auto &hash : answer.root()["missing"].GetArray()) {
    auto put = client.admin("PUT", std::string("/v1/admin/blobs/") + hash.GetString(), *by_hash.at(hash.GetString()));
    INFO(put.body);
    REQUIRE((put.status == 201 || put.status == 200));
  }
}

inline std::string publish_body(const std::string &envelope) {
  return R"({"envelope":)" + json_string(envelope) + "}";
}

// Uploads the files and publishes the envelope; the answer as it came.
inline HttpResponse publish(HttpClient &client, const SignedPackage &package) {
  upload_blobs(client, package.files);
  return client.admin("POST", "/v1/admin/apps/" + package.manifest.app + "/packages", publish_body(package.envelope));
}

// Publishes and REQUIREs 201; the package object.
inline core::json::Document publish_ok(HttpClient &client, const SignedPackage &package) {
  auto answer = publish(client, package);
  INFO(answer.body);
  REQUIRE(answer.status == 201);
  return parse_json(answer);
}

// Publishes a small offline package of two files whose content depends on the version.
inline core::json::Document publish_offline(HttpClient &client, const std::string &app, const std::string &id,
                                            const std::string &version) {
  return publish_ok(client, signed_package(app, core::PackageKind::Offline, id, version,
                                           {{"index.html", "<html>" + id + " " + version + "</html>"},
                                            {"app.js", "console.log('" + id + " " + version + "');"}}));
}

} // namespace mds::test

#endif
