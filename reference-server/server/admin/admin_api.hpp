// The admin API under /v1/admin/: apps, whitelists, release rules, releases, config keys
// and the audit log. Every route needs an admin token (checked by the HTTP server before
// any body is read); docs/protocol-admin.md describes each endpoint, its fields and its
// errors.
#ifndef MDS_SERVER_ADMIN_ADMIN_API_HPP
#define MDS_SERVER_ADMIN_ADMIN_API_HPP

#include "core/json/json.hpp"
#include "server/http/router.hpp"
#include "server/packages/publisher.hpp"
#include "server/storage/blob_store.hpp"
#include "server/storage/storage.hpp"

#include <cstddef>
#include <cstdint>

namespace mds::server::admin {

struct AdminLimits {
  std::size_t json_body = 1u << 20;          // every JSON request body
  std::size_t whitelist_upload = 256u << 20; // a whitelist import file
  std::size_t publish_body = 16u << 20;      // a package publish (the envelope's text)
  std::uint64_t blob_upload = 4ull << 30;    // one blob upload (--max-upload-bytes)
};

// `storage` and `blobs` must outlive the router.
void add_admin_routes(http::Router &router, Storage &storage, BlobStore &blobs, const AdminLimits &limits = {},
                      const packages::PublishOptions &publish = {});

// Route groups, one file each.
void add_app_routes(http::Router &router, Storage &storage, const AdminLimits &limits);
void add_whitelist_routes(http::Router &router, Storage &storage, const AdminLimits &limits);
void add_release_routes(http::Router &router, Storage &storage, const AdminLimits &limits);
void add_config_routes(http::Router &router, Storage &storage, const AdminLimits &limits);
void add_audit_routes(http::Router &router, Storage &storage);
void add_simulate_routes(http::Router &router, Storage &storage, const AdminLimits &limits);
// A release's "package" member: {"id", "version"} for a package release, null otherwise.
// Shared by the release object and simulate's decisions.
void write_release_package(core::json::Writer &writer, const Release &release);

void add_package_routes(http::Router &router, Storage &storage, BlobStore &blobs, const AdminLimits &limits,
                        const packages::PublishOptions &publish);

} // namespace mds::server::admin

#endif
