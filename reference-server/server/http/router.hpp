// Maps (method, path) to a route. Patterns are literal segments and "{name}" captures of
// one whole segment: "/v1/admin/releases/{id}/{action}". The route's pattern, not the
// raw path, names it in logs and metrics.
#ifndef MDS_SERVER_HTTP_ROUTER_HPP
#define MDS_SERVER_HTTP_ROUTER_HPP

#include "server/http/message.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::http {

enum class BodyMode {
  None,     // any body is refused with 413
  Buffered, // held in memory up to Route::body_limit
  Spooled,  // streamed to a temporary file up to Route::body_limit
};

enum class Access { Public, Admin };

using Handler = std::function<Response(const Request &)>;

struct Route {
  std::string method;
  std::string pattern;
  Access access = Access::Admin;
  BodyMode body_mode = BodyMode::None;
  std::size_t body_limit = 0;
  Handler handler;
};

class Router {
public:
  void add(Route route);

  struct Match {
    const Route *route = nullptr; // null when nothing matched
    bool path_known = false;      // some route has this path under another method
    std::map<std::string, std::string> params;
  };
  Match match(std::string_view method, std::string_view path) const;

private:
  struct Compiled {
    Route route;
    std::vector<std::string> segments;
  };
  std::vector<Compiled> routes_;
};

} // namespace mds::server::http

#endif
