#include "server/admin/admin_api.hpp"

namespace mds::server::admin {

void add_admin_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  add_app_routes(router, storage, limits);
  add_whitelist_routes(router, storage, limits);
  add_release_routes(router, storage, limits);
  add_config_routes(router, storage, limits);
  add_audit_routes(router, storage);
  add_simulate_routes(router, storage, limits);
}

} // namespace mds::server::admin
