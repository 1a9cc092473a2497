// The client API devices speak (docs/protocol.md, "Client API"): POST /v1/check,
// GET /v1/blobs/<sha256> and POST /v1/events. No admin token: the device's own description is all there is.
#ifndef MDS_SERVER_CLIENT_CLIENT_API_HPP
#define MDS_SERVER_CLIENT_CLIENT_API_HPP

#include "server/http/router.hpp"
#include "server/storage/blob_store.hpp"
#include "server/storage/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mds::server::client {

struct ClientApiOptions {
  std::size_t json_body = 64u << 10;  // every request body (docs/protocol.md: 64 KiB)
  std::uint32_t poll_interval = 1800; // seconds, 1..604800, sent with every check
  // Checks processed at once beyond which a check is answered 503 rate_limited with
  // Retry-After: retry_after, instead of waiting its turn.
  std::uint32_t max_pending_checks = 64;
  std::uint32_t retry_after = 30; // seconds
};

// `storage` and `blobs` must outlive the router.
void add_client_routes(http::Router &router, Storage &storage, const BlobStore &blobs,
                       const ClientApiOptions &options = {});

// Route groups, one file each.
void add_check_route(http::Router &router, Storage &storage, const ClientApiOptions &options);
void add_events_route(http::Router &router, Storage &storage, const ClientApiOptions &options);
void add_blob_route(http::Router &router, const BlobStore &blobs);

// Whether `if_none_match` (an If-None-Match header value) names `etag`: "*", or one entry
// of its comma-separated list, compared weakly (a "W/" prefix is ignored) as RFC 9110 says.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

} // namespace mds::server::client

#endif
