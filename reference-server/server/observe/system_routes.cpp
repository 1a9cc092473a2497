#include "server/observe/system_routes.hpp"

namespace mds::server {

void add_system_routes(http::Router &router, const Metrics &metrics, std::function<Metrics::Gauges()> gauges) {
  router.add({"GET", "/healthz", http::Access::Public, http::BodyMode::None, 0,
              [](const http::Request &) { return http::Response::json(200, R"({"status":"ok"})"); }});
  router.add({"GET", "/metrics", http::Access::Public, http::BodyMode::None, 0,
              [&metrics, gauges = std::move(gauges)](const http::Request &) {
                return http::Response::text(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(gauges()));
              }});
}

} // namespace mds::server
