#include "server/packages/delta_bases.hpp"

#include "core/version/version.hpp"

#include <algorithm>
#include <utility>

namespace mds::server::packages {

std::vector<std::string> select_delta_bases(const std::vector<std::string> &published, const std::string &target,
                                            std::size_t count) {
  auto target_version = core::Version::parse_dotted(target);
  if (!target_version) {
    return {};
  }
  std::vector<std::pair<core::Version, std::string>> below;
  for (const auto &text : published) {
    auto version = core::Version::parse_dotted(text);
    if (version && *version < *target_version) {
      below.emplace_back(std::move(version.value()), text);
    }
  }
  std::sort(below.begin(), below.end(), [](const auto &a, const auto &b) {
    // Highest first; equal versions spelt differently ("1.0", "1.0.0") by text, so the
    // choice never depends on the order they were listed in.
    const int order = core::compare(a.first, b.first);
    return order != 0 ? order > 0 : a.second < b.second;
  });
  std::vector<std::string> bases;
  for (std::size_t i = 0; i < below.size() && bases.size() < count; ++i) {
    bases.push_back(below[i].second);
  }
  return bases;
}

bool delta_worth_keeping(std::uint64_t delta_size, std::uint64_t full_size) {
  return delta_size <= full_size / 2;
}

std::vector<PackageDownload> downloads_for(const Package &package, const std::optional<std::string> &installed) {
  std::vector<PackageDownload> downloads;
  if (installed) {
    for (const auto &delta : package.deltas) {
      if (delta.base_version == *installed) {
        downloads.push_back(delta);
        break;
      }
    }
  }
  downloads.push_back(package.full);
  return downloads;
}

bool version_above(const std::string &a, const std::string &b) {
  auto left = core::Version::parse_dotted(a);
  auto right = core::Version::parse_dotted(b);
  return left && right && *left > *right;
}

} // namespace mds::server::packages
