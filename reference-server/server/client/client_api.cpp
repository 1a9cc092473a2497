#include "server/client/client_api.hpp"

namespace mds::server::client {

void add_client_routes(http::Router &router, Storage &storage, const BlobStore &blobs,
                       const ClientApiOptions &options) {
  add_check_route(router, storage, options);
  add_blob_route(router, blobs);
  add_events_route(router, storage, options);
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
      text.remove_suffix(1);
    }
    return text;
  };
  auto opaque = [](std::string_view tag) { return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag; };
  if (trim(if_none_match) == "*") {
    return true;
  }
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    const auto entry = trim(if_none_match.substr(0, comma));
    if (!entry.empty() && opaque(entry) == opaque(etag)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace mds::server::client
