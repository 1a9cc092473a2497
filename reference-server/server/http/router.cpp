#include "server/http/router.hpp"

namespace mds::server::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  if (!path.empty() && path[0] == '/') {
    pos = 1;
  }
  while (pos <= path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    segments.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return segments;
}

bool is_capture(const std::string &segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

void Router::add(Route route) {
  Compiled compiled;
  for (auto segment : split_path(route.pattern)) {
    compiled.segments.emplace_back(segment);
  }
  compiled.route = std::move(route);
  routes_.push_back(std::move(compiled));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match result;
  const auto segments = split_path(path);
  for (const auto &candidate : routes_) {
    if (candidate.segments.size() != segments.size()) {
      continue;
    }
    std::map<std::string, std::string> params;
    bool matched = true;
    for (std::size_t i = 0; i < segments.size() && matched; ++i) {
      const auto &expected = candidate.segments[i];
      if (is_capture(expected)) {
        // An empty capture ("/apps/") is not a name.
        matched = !segments[i].empty();
        params[expected.substr(1, expected.size() - 2)] = std::string(segments[i]);
      } else {
        matched = expected == segments[i];
      }
    }
    if (!matched) {
      continue;
    }
    if (candidate.route.method != method) {
      result.path_known = true;
      continue;
    }
    result.route = &candidate.route;
    result.params = std::move(params);
    return result;
  }
  return result;
}

} // namespace mds::server::http
