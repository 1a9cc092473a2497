// The publisher's commands, which need no server: the private key never leaves this
// machine, and what they write is what the server and devices later verify.
#include "command.hpp"

#include "core/crypto/dsse.hpp"
#include "core/crypto/ecdsa.hpp"
#include "core/json/json.hpp"
#include "core/manifest/manifest.hpp"
#include "io/file_io.hpp"
#include "io/package_tree.hpp"

#include <ctime>
#include <unistd.h>

namespace mds::mdsctl {
namespace {

namespace crypto = core::crypto;

constexpr std::uint64_t kMaxKeyFileBytes = 64 * 1024;

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

Error with_context(Error error, const std::string &context) {
  error.message = context + ": " + error.message;
  return error;
}

Result<crypto::PrivateKey> load_private_key(const std::string &path) {
  auto text = io::read_file(path, kMaxKeyFileBytes);
  if (!text) {
    return std::move(text).error();
  }
  auto key = crypto::PrivateKey::load(*text);
  if (!key) {
    return with_context(std::move(key).error(), path);
  }
  return key;
}

Result<std::vector<crypto::PublicKey>> load_public_keys(const std::vector<std::string> &paths) {
  std::vector<crypto::PublicKey> keys;
  for (const auto &path : paths) {
    auto text = io::read_file(path, kMaxKeyFileBytes);
    if (!text) {
      return std::move(text).error();
    }
    auto key = crypto::PublicKey::load(*text);
    if (!key) {
      return with_context(std::move(key).error(), path);
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<CommandOutput> keygen(const Invocation &call) {
  if (auto missing = call.line.require({"out"}); !missing) {
    return missing.error();
  }
  const std::string private_path = *call.line.value("out");
  const std::string public_path = private_path + ".pub";

  auto key = crypto::PrivateKey::generate();
  if (!key) {
    return std::move(key).error();
  }
  auto private_pem = key->to_pem();
  if (!private_pem) {
    return std::move(private_pem).error();
  }
  // Never overwrite a key: losing a publisher key means re-keying every app that trusts it.
  if (auto written = io::create_new_file(private_path, *private_pem, 0600); !written) {
    return written.error();
  }
  if (auto written = io::create_new_file(public_path, key->public_key().to_pem(), 0644); !written) {
    ::unlink(private_path.c_str());
    return written.error();
  }

  CommandOutput output;
  output.json = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("private_key");
    w.String(private_path);
    w.Key("public_key");
    w.String(public_path);
    w.Key("key_id");
    w.String(key->key_id());
    w.EndObject();
  });
  output.text = "wrote " + private_path + " (private, mode 0600) and " + public_path + "\nkey id " + key->key_id();
  return output;
}

Result<CommandOutput> manifest(const Invocation &call) {
  if (auto missing = call.line.require({"app", "kind", "id", "version"}); !missing) {
    return missing.error();
  }
  auto kind = core::package_kind_from_string(*call.line.value("kind"));
  if (!kind) {
    return make_error(ErrorCode::InvalidArgument, "--kind must be offline, hotpatch or upgrade");
  }
  core::Manifest manifest;
  manifest.app = *call.line.value("app");
  manifest.kind = *kind;
  manifest.package_id = *call.line.value("id");
  manifest.version = *call.line.value("version");
  manifest.created = call.line.value("created").value_or(now_utc());
  manifest.notes = call.line.value("notes");
  manifest.requirements.app_version = call.line.value("requires-app");
  for (const auto &requirement : call.line.values("requires-sdk")) {
    const auto equals = requirement.find('=');
    if (equals == std::string::npos) {
      return make_error(ErrorCode::InvalidArgument, "--requires-sdk takes NAME=RANGE, not \"" + requirement + "\"");
    }
    manifest.requirements.sdk_versions[requirement.substr(0, equals)] = requirement.substr(equals + 1);
  }

  auto files = io::describe_tree(call.arguments[0]);
  if (!files) {
    return std::move(files).error();
  }
  manifest.files = std::move(*files);
  if (auto valid = core::validate(manifest); !valid) {
    return valid.error();
  }
  return CommandOutput{core::encode(manifest), {}};
}

Result<CommandOutput> sign(const Invocation &call) {
  if (auto missing = call.line.require({"key"}); !missing) {
    return missing.error();
  }
  const std::string payload_type = call.line.value("payload-type").value_or(std::string(core::kManifestPayloadType));
  auto payload = io::read_file(call.arguments[0], core::kMaxManifestBytes);
  if (!payload) {
    return std::move(payload).error();
  }
  // Signing is a promise to every device; refuse to make it about a document that
  // devices would refuse anyway.
  if (payload_type == core::kManifestPayloadType) {
    if (auto decoded = core::decode(*payload); !decoded) {
      return with_context(std::move(decoded).error(), call.arguments[0] + " is not a valid manifest");
    }
  }
  // Several --key options make one envelope with several signatures (t-of-n policies).
  std::vector<crypto::PrivateKey> keys;
  for (const auto &path : call.line.values("key")) {
    auto key = load_private_key(path);
    if (!key) {
      return std::move(key).error();
    }
    keys.push_back(std::move(*key));
  }
  std::vector<const crypto::PrivateKey *> signers;
  std::string key_ids;
  for (const auto &key : keys) {
    signers.push_back(&key);
    key_ids += (key_ids.empty() ? "" : " ") + key.key_id();
  }
  auto envelope = crypto::sign_envelope(payload_type, *payload, signers);
  if (!envelope) {
    return std::move(envelope).error();
  }
  auto text = crypto::encode_envelope(*envelope);
  if (!text) {
    return std::move(text).error();
  }
  if (auto out = call.line.value("out")) {
    if (auto written = io::write_file_atomically(*out, *text + "\n"); !written) {
      return written.error();
    }
    CommandOutput output;
    output.json = core::json::write([&](core::json::Writer &w) {
      w.StartObject();
      w.Key("envelope");
      w.String(*out);
      w.Key("key_ids");
      w.StartArray();
      for (const auto &key : keys) {
        w.String(key.key_id());
      }
      w.EndArray();
      w.EndObject();
    });
    output.text = "wrote " + *out + ", signed by " + key_ids;
    return output;
  }
  return CommandOutput{*text, {}};
}

Result<CommandOutput> verify(const Invocation &call) {
  const auto &key_paths = call.line.values("trusted-key");
  if (key_paths.empty()) {
    return make_error(ErrorCode::InvalidArgument, "--trusted-key is required (repeat it for several keys)");
  }
  std::size_t threshold = 1;
  if (auto given = call.line.value("threshold")) {
    char *end = nullptr;
    const unsigned long parsed = std::strtoul(given->c_str(), &end, 10);
    if (given->empty() || *end != '\0' || parsed == 0 || parsed > key_paths.size()) {
      return make_error(ErrorCode::InvalidArgument, "--threshold must be 1 to the number of trusted keys");
    }
    threshold = parsed;
  }
  const std::string payload_type = call.line.value("payload-type").value_or(std::string(core::kManifestPayloadType));

  auto keys = load_public_keys(key_paths);
  if (!keys) {
    return std::move(keys).error();
  }
  auto text = io::read_file(call.arguments[0], crypto::EnvelopeLimits{}.max_bytes);
  if (!text) {
    return std::move(text).error();
  }
  auto envelope = crypto::parse_envelope(*text);
  if (!envelope) {
    return std::move(envelope).error();
  }
  auto verified = crypto::verify_envelope(*envelope, payload_type, *keys, threshold);
  if (!verified) {
    return std::move(verified).error();
  }
  std::optional<core::Manifest> manifest;
  if (payload_type == core::kManifestPayloadType) {
    const std::string payload(verified->payload.begin(), verified->payload.end());
    auto decoded = core::decode(payload);
    if (!decoded) {
      return with_context(std::move(decoded).error(), "signed payload is not a valid manifest");
    }
    manifest = std::move(*decoded);
  }

  CommandOutput output;
  output.json = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("ok");
    w.Bool(true);
    w.Key("payload_type");
    w.String(payload_type);
    w.Key("key_ids");
    w.StartArray();
    for (const auto &id : verified->key_ids) {
      w.String(id);
    }
    w.EndArray();
    if (manifest) {
      w.Key("manifest");
      w.StartObject();
      w.Key("app");
      w.String(manifest->app);
      w.Key("kind");
      w.String(core::to_string(manifest->kind));
      w.Key("package");
      w.String(manifest->package_id);
      w.Key("version");
      w.String(manifest->version);
      w.Key("files");
      w.Uint64(manifest->files.size());
      w.EndObject();
    }
    w.EndObject();
  });
  output.text = "verified: signed by";
  for (const auto &id : verified->key_ids) {
    output.text += " " + id;
  }
  if (manifest) {
    output.text += "\nmanifest: " + manifest->app + " " + core::to_string(manifest->kind) + " " + manifest->package_id +
                   " " + manifest->version + ", " + std::to_string(manifest->files.size()) + " files";
  }
  return output;
}

} // namespace

std::vector<Command> local_commands() {
  return {
      {{"keygen"}, {{"out"}, {}}, 0, 0, "keygen --out KEY", keygen},
      {{"manifest"},
       {{"app", "kind", "id", "version", "created", "notes", "requires-app", "requires-sdk"}, {}},
       1,
       1,
       "manifest --app A --kind offline|hotpatch|upgrade --id P --version V [--created TIME] [--notes TEXT] "
       "[--requires-app RANGE] [--requires-sdk NAME=RANGE]... DIR",
       manifest},
      {{"sign"}, {{"key", "payload-type", "out"}, {}}, 1, 1, "sign --key KEY [--key KEY]... [--out FILE] FILE", sign},
      {{"verify"},
       {{"trusted-key", "threshold", "payload-type"}, {}},
       1,
       1,
       "verify --trusted-key PUB [--trusted-key PUB]... [--threshold N] ENVELOPE",
       verify},
  };
}

} // namespace mds::mdsctl
