// Two versions of a made-up H5 package of about a given size, to measure deltas of a size
// that public packages do not reach: hashed JS chunks with source maps, CSS, HTML, and
// already-compressed images and fonts (incompressible bytes), like a bundler's output.
//
// The second version is a typical release: a share of the chunks edited (a few functions
// changed, one added) and therefore renamed (their name carries a hash of their content,
// as bundlers do), their maps regenerated, some CSS edited, a few images replaced, files
// added and removed, the HTML pointing at the new names. Deterministic for a seed.
#ifndef MDS_BENCH_DELTA_SYNTHETIC_PACKAGE_HPP
#define MDS_BENCH_DELTA_SYNTHETIC_PACKAGE_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>

namespace mds::bench {

// Writes version 1 into `old_root` and version 2 into `new_root`; both must not exist.
Status write_synthetic_package_pair(const std::filesystem::path &old_root, const std::filesystem::path &new_root,
                                    std::uint64_t approximate_bytes, std::uint64_t seed);

} // namespace mds::bench

#endif
