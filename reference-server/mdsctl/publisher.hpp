// What a publisher does on their own machine: describe package content as a manifest and
// sign it. `mdsctl manifest`, `sign` and `package publish` share this code, so a package
// published through the server is signed exactly as one signed by hand.
#ifndef MDS_MDSCTL_PUBLISHER_HPP
#define MDS_MDSCTL_PUBLISHER_HPP

#include "cli/command_line.hpp"
#include "core/crypto/ecdsa.hpp"
#include "core/manifest/manifest.hpp"

#include <mds/error.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mds::mdsctl {

// The options that describe a manifest besides its files.
inline const std::set<std::string> kManifestOptions{"app",     "kind",  "id",           "version",
                                                    "created", "notes", "requires-app", "requires-sdk"};

// "2026-11-22T21:00:00Z": the current time, UTC.
std::string now_utc();

// `error` with "context: " before its message.
Error with_context(Error error, const std::string &context);

Result<core::crypto::PrivateKey> load_private_key(const std::string &path);
Result<std::vector<core::crypto::PublicKey>> load_public_keys(const std::vector<std::string> &paths);

// A manifest from --app, --kind, --id, --version (required), --created (default: now),
// --notes, --requires-app RANGE, --requires-sdk NAME=RANGE... and `files`, validated as
// devices will read it.
Result<core::Manifest> manifest_from_options(const cli::CommandLine &line, std::vector<core::ManifestFile> files);

struct SignedEnvelope {
  std::string text;                 // the DSSE envelope, JSON
  std::vector<std::string> key_ids; // one per signature, in the order of the keys
};

// One envelope over `payload` with one signature per private key file (several keys make
// a t-of-n envelope).
Result<SignedEnvelope> sign_payload(std::string_view payload_type, const std::string &payload,
                                    const std::vector<std::string> &key_paths);

} // namespace mds::mdsctl

#endif
