#include "server/admin/admin_api.hpp"

namespace mds::server::admin {

void add_admin_routes(http::Router &router, Storage &storage, BlobStore &blobs, const AdminLimits &limits,
                      const packages::PublishOptions &publish) {
  add_app_routes(router, storage, limits);
  add_whitelist_routes(router, storage, limits);
  add_release_routes(router, storage, limits);
  add_config_routes(router, storage, limits);
  add_audit_routes(router, storage);
  add_simulate_routes(router, storage, limits);
  add_package_routes(router, storage, blobs, limits, publish);
}

} // namespace mds::server::admin
