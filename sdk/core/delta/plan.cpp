#include "core/delta/delta.hpp"

#include "core/crypto/sha256.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

namespace mds::core::delta {
namespace {

// The extension of a path's last segment ("js" for "a/b.min.js"), or "" when it has none.
std::string_view extension_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

std::uint64_t size_distance(std::uint64_t a, std::uint64_t b) {
  return a > b ? a - b : b - a;
}

} // namespace

Digest manifest_digest(const Manifest &manifest) {
  if (manifest.files.empty()) {
    return Digest{}; // the empty base
  }
  return crypto::sha256(ByteView(encode(manifest)));
}

std::vector<PlanEntry> plan_delta(const Manifest &base, const Manifest &target) {
  // Base files sorted by path, so that every "first match" below is the smallest path and
  // the plan does not depend on the order the manifest lists its files in.
  std::vector<const ManifestFile *> base_sorted;
  base_sorted.reserve(base.files.size());
  for (const ManifestFile &file : base.files) {
    base_sorted.push_back(&file);
  }
  std::sort(base_sorted.begin(), base_sorted.end(),
            [](const ManifestFile *a, const ManifestFile *b) { return a->path < b->path; });

  std::map<std::string_view, const ManifestFile *> base_by_path;
  std::map<std::string_view, const ManifestFile *> base_by_hash;
  std::map<std::string_view, std::vector<const ManifestFile *>> base_by_extension; // non-empty files only
  for (const ManifestFile *file : base_sorted) {
    base_by_path.emplace(file->path, file);
    base_by_hash.emplace(file->sha256, file); // keeps the first, the smallest path
    if (file->size > 0) {
      base_by_extension[extension_of(file->path)].push_back(file);
    }
  }

  std::vector<PlanEntry> plan;
  plan.reserve(target.files.size());
  for (const ManifestFile &file : target.files) {
    PlanEntry entry;
    entry.target = file;

    const auto same_path = base_by_path.find(file.path);
    if (same_path != base_by_path.end() && same_path->second->sha256 == file.sha256) {
      entry.source = PlanEntry::Source::Copy;
      entry.base = *same_path->second;
    } else if (const auto same_hash = base_by_hash.find(file.sha256); same_hash != base_by_hash.end()) {
      entry.source = PlanEntry::Source::Copy;
      entry.base = *same_hash->second;
    } else {
      entry.source = PlanEntry::Source::Frame;
      if (same_path != base_by_path.end() && same_path->second->size > 0) {
        entry.base = *same_path->second;
      } else {
        // An added file (or one whose old version was empty): a sibling of the same type
        // and similar size shares most of its vocabulary (a renamed hashed bundle
        // "main.3f2a.js" -> "main.9c1b.js" is the common case).
        const ManifestFile *best = nullptr;
        if (const auto siblings = base_by_extension.find(extension_of(file.path));
            siblings != base_by_extension.end()) {
          for (const ManifestFile *candidate : siblings->second) { // in path order: ties keep the first
            if (best == nullptr || size_distance(candidate->size, file.size) < size_distance(best->size, file.size)) {
              best = candidate;
            }
          }
        }
        if (best != nullptr) {
          entry.base = *best;
        }
      }
    }
    plan.push_back(std::move(entry));
  }
  std::sort(plan.begin(), plan.end(),
            [](const PlanEntry &a, const PlanEntry &b) { return a.target.path < b.target.path; });
  return plan;
}

} // namespace mds::core::delta
