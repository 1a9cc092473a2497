// Publishing a package version (docs/protocol-admin.md, "Packages"): check what the
// publisher signed against the app's registered keys and the uploaded blobs, build the
// full download and the deltas from earlier versions, store them as blobs, then record the
// package in one storage transaction. The server never holds a private key: it can store
// and select signed packages, never make one.
#ifndef MDS_SERVER_PACKAGES_PUBLISHER_HPP
#define MDS_SERVER_PACKAGES_PUBLISHER_HPP

#include "server/storage/blob_store.hpp"
#include "server/storage/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mds::server::packages {

struct PublishOptions {
  // Deltas are built from the last `delta_bases` published versions below the new one.
  std::size_t delta_bases = 5;
  // zstd level of the downloads. High: a package is encoded once and downloaded by every
  // device, so encoding time buys transfer for all of them. Above `large_package_bytes`
  // of files a lower level keeps a publish within minutes (level 19 encodes well under
  // 1 MB/s on one core; level 9 tens of MB/s).
  int compression_level = 19;
  int large_package_level = 9;
  std::uint64_t large_package_bytes = 16u << 20;
};

class Publisher {
public:
  Publisher(Storage &storage, BlobStore &blobs, PublishOptions options)
      : storage_(storage), blobs_(blobs), options_(options) {}

  // `envelope` is the DSSE envelope's JSON text. Checks, in order (nothing is stored when
  // one fails): the app exists (NotFound); the envelope and its manifest read strictly
  // (their own codes); the manifest's app is `app` (ManifestAppMismatch); a signature
  // verifies under one of the app's publisher keys (the Signature* codes); the same
  // version is not published with another manifest (AlreadyExists; the same manifest
  // again answers the stored package with created = false); every listed file is a held
  // blob (BlobMissing) of its size (FileSizeMismatch). Thread-safe.
  Result<PublishedPackage> publish(std::string_view app, std::string_view envelope, const Actor &actor);

private:
  Storage &storage_;
  BlobStore &blobs_;
  PublishOptions options_;
};

} // namespace mds::server::packages

#endif
