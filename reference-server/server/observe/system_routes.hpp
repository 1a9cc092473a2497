// Routes for operators' machinery rather than people: GET /healthz for load balancers
// and GET /metrics for Prometheus. Both are public: they reveal no state beyond counts.
#ifndef MDS_SERVER_OBSERVE_SYSTEM_ROUTES_HPP
#define MDS_SERVER_OBSERVE_SYSTEM_ROUTES_HPP

#include "server/http/router.hpp"
#include "server/observe/metrics.hpp"

#include <functional>

namespace mds::server {

void add_system_routes(http::Router &router, const Metrics &metrics, std::function<Metrics::Gauges()> gauges);

} // namespace mds::server

#endif
