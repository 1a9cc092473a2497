// Packages: publish one version (describe, sign locally, upload what the server lacks,
// register the envelope), list and show them. The private key never leaves this machine:
// the server gets the envelope and the files, and checks the signature against the app's
// publisher keys.
#include "package_source.hpp"
#include "progress.hpp"
#include "publisher.hpp"
#include "server_command.hpp"
#include "text_output.hpp"

#include "core/crypto/encoding.hpp"
#include "core/delta/delta.hpp"

#include <map>
#include <set>

namespace mds::mdsctl {
namespace {

using core::json::Value;

// POST /v1/admin/blobs/missing takes at most this many hashes; a manifest lists at most
// as many files, so one request covers a package.
constexpr std::size_t kMaxHashesPerQuery = 10000;

std::string packages_path(const std::string &app) {
  return "/v1/admin/apps/" + url_encode(app) + "/packages";
}

// The app must exist and trust one of the signing keys: checked before anything is sent.
Status check_app_trusts(AdminClient &client, const std::string &app, const std::vector<std::string> &key_ids) {
  auto answer = client.call("GET", "/v1/admin/apps/" + url_encode(app));
  if (!answer) {
    return std::move(answer).error();
  }
  std::set<std::string> trusted;
  if (const auto *keys = member(answer->document.root(), "publisher_keys"); keys != nullptr && keys->IsArray()) {
    for (const auto &key : keys->GetArray()) {
      trusted.insert(field(key, "key_id"));
    }
  }
  for (const auto &id : key_ids) {
    if (trusted.count(id) != 0) {
      return {};
    }
  }
  std::string ids;
  for (const auto &id : key_ids) {
    ids += (ids.empty() ? "" : ", ") + id;
  }
  return make_error(ErrorCode::SignatureUntrustedKey,
                    "no signing key (" + ids + ") is a publisher key of app " + app + ": see mdsctl app show " + app);
}

// Step 1: the hashes the server does not hold, each once.
Result<std::vector<std::string>> missing_blobs(AdminClient &client, const std::vector<core::ManifestFile> &files) {
  std::vector<std::string> hashes;
  std::set<std::string> seen;
  for (const auto &file : files) {
    if (seen.insert(file.sha256).second) {
      hashes.push_back(file.sha256);
    }
  }
  std::vector<std::string> missing;
  for (std::size_t start = 0; start < hashes.size(); start += kMaxHashesPerQuery) {
    const std::size_t end = std::min(hashes.size(), start + kMaxHashesPerQuery);
    const std::string body = core::json::write([&](core::json::Writer &w) {
      w.StartObject();
      w.Key("sha256");
      w.StartArray();
      for (std::size_t i = start; i < end; ++i) {
        w.String(hashes[i]);
      }
      w.EndArray();
      w.EndObject();
    });
    auto answer = client.call("POST", "/v1/admin/blobs/missing", body);
    if (!answer) {
      return std::move(answer).error();
    }
    const auto *list = member(answer->document.root(), "missing");
    if (list == nullptr || !list->IsArray()) {
      return make_error(ErrorCode::JsonMissingField, "the server's answer to blobs/missing has no missing list");
    }
    for (const auto &hash : list->GetArray()) {
      if (!hash.IsString() || seen.count(std::string(core::json::view(hash))) == 0) {
        return make_error(ErrorCode::JsonValueOutOfRange, "the server named a blob this package does not hold");
      }
      missing.emplace_back(core::json::view(hash));
    }
  }
  return missing;
}

struct UploadSummary {
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;
};

// Step 2: each missing blob, streamed from the source.
Result<UploadSummary> upload_blobs(AdminClient &client, PackageSource &source,
                                   const std::vector<core::ManifestFile> &files,
                                   const std::vector<std::string> &missing, bool quiet) {
  std::map<std::string, const core::ManifestFile *> by_hash;
  for (const auto &file : files) {
    by_hash.emplace(file.sha256, &file);
  }
  UploadSummary summary;
  for (const auto &hash : missing) {
    summary.bytes += by_hash.at(hash)->size;
  }
  Progress progress(Progress::style_for_stderr(quiet), "uploading " + std::to_string(missing.size()) + " files",
                    summary.bytes);
  std::uint64_t done = 0;
  for (const auto &hash : missing) {
    const core::ManifestFile &file = *by_hash.at(hash);
    auto reader = source.open_file(file);
    if (!reader) {
      return std::move(reader).error();
    }
    Upload upload;
    upload.content_type = "application/octet-stream";
    upload.size = file.size;
    upload.read = std::move(*reader);
    upload.on_progress = [&progress, done](std::uint64_t sent) { progress.update(done + sent); };
    auto answer = client.upload("PUT", "/v1/admin/blobs/" + hash, upload);
    if (!answer) {
      return with_context(std::move(answer).error(), "uploading " + file.path);
    }
    done += file.size;
    progress.update(done);
    ++summary.blobs;
  }
  return summary;
}

// The server's package must be the one signed here.
Status check_published(const Value &package, bool created, const core::Manifest &manifest, const std::string &digest,
                       const std::string &envelope) {
  const bool same_identity =
      field(package, "app") == manifest.app && field(package, "kind") == core::to_string(manifest.kind) &&
      field(package, "id") == manifest.package_id && field(package, "version") == manifest.version;
  if (!same_identity) {
    return make_error(ErrorCode::Conflict, "the server answered with another package: " + field(package, "app") + " " +
                                               field(package, "kind") + " " + field(package, "id") + " " +
                                               field(package, "version"));
  }
  if (field(package, "manifest_sha256") != digest) {
    return make_error(ErrorCode::Conflict, "the server holds manifest " + field(package, "manifest_sha256") +
                                               " for this version, not the one signed here (" + digest + ")");
  }
  // A new package must carry the envelope sent; the same manifest published before keeps
  // the envelope it was first published with, which devices verify just as well.
  const auto *stored = member(package, "envelope");
  if (created && stored != nullptr && (!stored->IsString() || core::json::view(*stored) != envelope)) {
    return make_error(ErrorCode::Conflict, "the server stored another envelope than the one signed here");
  }
  return {};
}

std::string downloads_text(const Value &package) {
  std::string text;
  if (const auto *full = member(package, "full"); full != nullptr && full->IsObject()) {
    const auto *size = member(*full, "size");
    text += "full download " + (size != nullptr && size->IsUint64() ? human_bytes(size->GetUint64()) : "-");
  }
  if (const auto *deltas = member(package, "deltas"); deltas != nullptr && deltas->IsArray()) {
    for (const auto &delta : deltas->GetArray()) {
      const auto *size = member(delta, "size");
      text += ", delta from " + field(delta, "base") + " " +
              (size != nullptr && size->IsUint64() ? human_bytes(size->GetUint64()) : "-");
    }
  }
  return text.empty() ? "-" : text;
}

Result<CommandOutput> publish(const Invocation &call) {
  if (call.line.values("key").empty()) {
    return make_error(ErrorCode::InvalidArgument, "--key KEY is required (repeat it for several signatures)");
  }
  if (auto missing = call.line.require({"app", "kind", "id", "version"}); !missing) {
    return missing.error();
  }
  auto source = PackageSource::open(call.arguments[0]);
  if (!source) {
    return std::move(source).error();
  }
  auto files = (*source)->describe();
  if (!files) {
    return std::move(files).error();
  }
  auto manifest = manifest_from_options(call.line, *files);
  if (!manifest) {
    return std::move(manifest).error();
  }
  const std::string payload = core::encode(*manifest);
  auto envelope = sign_payload(core::kManifestPayloadType, payload, call.line.values("key"));
  if (!envelope) {
    return std::move(envelope).error();
  }
  const std::string digest = core::crypto::hex_encode(core::delta::manifest_digest(*manifest));

  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  if (auto trusted = check_app_trusts(**client, manifest->app, envelope->key_ids); !trusted) {
    return trusted.error();
  }
  auto missing = missing_blobs(**client, manifest->files);
  if (!missing) {
    return std::move(missing).error();
  }
  auto uploaded = upload_blobs(**client, **source, manifest->files, *missing, call.json);
  if (!uploaded) {
    return std::move(uploaded).error();
  }
  const std::string body = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("envelope");
    w.String(envelope->text);
    w.EndObject();
  });
  auto answer = (*client)->call("POST", packages_path(manifest->app), body);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &package = answer->document.root();
  if (auto same = check_published(package, answer->status == 201, *manifest, digest, envelope->text); !same) {
    return same.error();
  }
  const std::string verb = answer->status == 201 ? "published " : "already published ";
  return answer_output(*answer, verb + manifest->app + " " + core::to_string(manifest->kind) + " " +
                                    manifest->package_id + " " + manifest->version + ": " +
                                    std::to_string(manifest->files.size()) + " files, " +
                                    std::to_string(uploaded->blobs) + " uploaded (" + human_bytes(uploaded->bytes) +
                                    "), " + downloads_text(package) + "\nmanifest sha256 " + digest);
}

Result<CommandOutput> package_list(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  std::string query;
  if (auto kind = call.line.value("kind")) {
    query += "&kind=" + url_encode(*kind);
  }
  if (auto id = call.line.value("id")) {
    query += "&id=" + url_encode(*id);
  }
  if (!query.empty()) {
    query[0] = '?';
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", packages_path(*call.line.value("app")) + query);
  if (!answer) {
    return std::move(answer).error();
  }
  Table table({"KIND", "ID", "VERSION", "FILES", "SIZE", "DOWNLOADS", "CREATED"});
  if (const auto *list = member(answer->document.root(), "packages"); list != nullptr && list->IsArray()) {
    for (const auto &package : list->GetArray()) {
      const auto *size = member(package, "size");
      table.add({field(package, "kind"), field(package, "id"), field(package, "version"), field(package, "files"),
                 size != nullptr && size->IsUint64() ? human_bytes(size->GetUint64()) : "-", downloads_text(package),
                 field(package, "created_at")});
    }
  }
  return answer_output(*answer, table.render());
}

Result<CommandOutput> package_show(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", packages_path(*call.line.value("app")) + "/" + url_encode(call.arguments[0]) +
                                           "/" + url_encode(call.arguments[1]));
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &package = answer->document.root();
  const auto *size = member(package, "size");
  return answer_output(*answer, "package    " + field(package, "id") + " " + field(package, "version") +
                                    "\napp        " + field(package, "app") + "\nkind       " + field(package, "kind") +
                                    "\nfiles      " + field(package, "files") + " (" +
                                    (size != nullptr && size->IsUint64() ? human_bytes(size->GetUint64()) : "-") +
                                    ")\nmanifest   " + field(package, "manifest_sha256") + "\ndownloads  " +
                                    downloads_text(package) + "\ncreated    " + field(package, "created_at"));
}

} // namespace

std::vector<Command> package_commands() {
  auto publish_options = kManifestOptions;
  publish_options.insert("key");
  return {
      {{"package", "publish"},
       {publish_options, {}},
       1,
       1,
       "package publish --app APP --kind offline|hotpatch|upgrade --id PKG --version V --key KEY [--key KEY]... "
       "[--created TIME] [--notes TEXT] [--requires-app RANGE] [--requires-sdk NAME=RANGE]... DIR|ZIP",
       publish},
      {{"package", "list"},
       {{"app", "kind", "id"}, {}},
       0,
       0,
       "package list --app APP [--kind K] [--id PKG]",
       package_list},
      {{"package", "show"}, {{"app"}, {}}, 2, 2, "package show --app APP PKG VERSION", package_show},
  };
}

} // namespace mds::mdsctl
