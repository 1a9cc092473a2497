// The publisher's commands, which need no server: the private key never leaves this
// machine, and what they write is what the server and devices later verify.
#include "command.hpp"

#include "core/crypto/dsse.hpp"
#include "core/crypto/ecdsa.hpp"
#include "core/json/json.hpp"
#include "core/manifest/manifest.hpp"
#include "io/file_io.hpp"
#include "io/package_tree.hpp"
#include "publisher.hpp"

#include <unistd.h>

namespace mds::mdsctl {
namespace {

namespace crypto = core::crypto;

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
  auto files = io::describe_tree(call.arguments[0]);
  if (!files) {
    return std::move(files).error();
  }
  auto built = manifest_from_options(call.line, std::move(*files));
  if (!built) {
    return std::move(built).error();
  }
  return CommandOutput{core::encode(*built), {}};
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
  auto envelope = sign_payload(payload_type, *payload, call.line.values("key"));
  if (!envelope) {
    return std::move(envelope).error();
  }
  std::string key_ids;
  for (const auto &id : envelope->key_ids) {
    key_ids += (key_ids.empty() ? "" : " ") + id;
  }
  const std::string &text = envelope->text;
  if (auto out = call.line.value("out")) {
    if (auto written = io::write_file_atomically(*out, text + "\n"); !written) {
      return written.error();
    }
    CommandOutput output;
    output.json = core::json::write([&](core::json::Writer &w) {
      w.StartObject();
      w.Key("envelope");
      w.String(*out);
      w.Key("key_ids");
      w.StartArray();
      for (const auto &id : envelope->key_ids) {
        w.String(id);
      }
      w.EndArray();
      w.EndObject();
    });
    output.text = "wrote " + *out + ", signed by " + key_ids;
    return output;
  }
  return CommandOutput{text, {}};
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
