#include "core/delta/delta.hpp"

#include "core/crypto/sha256.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string>
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

// Whether a token of a file name looks like a bundler's content hash ("3f2a9c1b",
// "BxYz12ab"): 6 to 32 letters and digits with at least one digit. Version numbers split
// on dots ("3", "12") are too short; words have no digit.
bool looks_like_hash(std::string_view token) {
  if (token.size() < 6 || token.size() > 32) {
    return false;
  }
  bool digit = false;
  for (const char c : token) {
    const bool is_digit = c >= '0' && c <= '9';
    const bool is_letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!is_digit && !is_letter) {
      return false;
    }
    digit = digit || is_digit;
  }
  return digit;
}

// A path with the hash-like tokens of its last segment removed, so that the versions of one
// bundle share it whatever their content hash: "js/app.3f2a9c1b.js.map" -> "js/app..js.map",
// "assets/index-BxYz12ab.js" -> "assets/index-.js".
std::string unhashed(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t name_start = slash == std::string_view::npos ? 0 : slash + 1;
  std::string out(path.substr(0, name_start));
  std::size_t token_start = name_start;
  for (std::size_t i = name_start; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '.' || path[i] == '-' || path[i] == '_') {
      const std::string_view token = path.substr(token_start, i - token_start);
      if (!looks_like_hash(token)) {
        out += token;
      }
      if (i < path.size()) {
        out += path[i];
      }
      token_start = i + 1;
    }
  }
  return out;
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
        // An added file (or one whose old version was empty). Most often it is a bundle
        // renamed for its new content hash ("main.3f2a9c1b.js" -> "main.9c1b04d7.js"): its
        // old version has the same name but for the hash. Else a sibling of the same type
        // and similar size shares most of its vocabulary.
        const ManifestFile *best = nullptr;
        bool best_same_name = false;
        if (const auto siblings = base_by_extension.find(extension_of(file.path));
            siblings != base_by_extension.end()) {
          const std::string name = unhashed(file.path);
          for (const ManifestFile *candidate : siblings->second) { // in path order: ties keep the first
            const bool same_name = unhashed(candidate->path) == name;
            if (best == nullptr || (same_name && !best_same_name) ||
                (same_name == best_same_name &&
                 size_distance(candidate->size, file.size) < size_distance(best->size, file.size))) {
              best = candidate;
              best_same_name = same_name;
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
