// The path grammar for files inside a package (SECURITY.md #15).
//
// A package path names one file relative to the package's root directory. The device
// joins it to an install directory and the H5 container matches it against URL paths,
// so it must mean the same file on every filesystem (ext4, APFS and HFS+ which ignore
// case, NTFS and FAT on a developer's machine) and under every URL decoder. The grammar
// is therefore narrow on purpose; widening it later is compatible, narrowing is not.
//
// A valid path:
//   - is 1 to kMaxPathBytes bytes of segments joined by '/', at most kMaxPathDepth
//     segments, each 1 to kMaxSegmentBytes bytes;
//   - uses only ASCII letters, digits and the marks '.', '_', '-', '@' (kPathCharacters
//     below). Being ASCII only, it has no Unicode normalisation forms: "café" written
//     NFC and NFD are two different byte strings that many filesystems store as one
//     name, and both are refused here by construction rather than by normalising.
//     '%' is refused, not taken literally: a path that some layer percent-decodes
//     ("%2e%2e" into "..") could otherwise name another file than the one checked;
//   - has no segment "." or "..", and none that starts with ".." (Apple filesystems
//     read "file/..namedfork/rsrc" as the file's resource fork);
//   - has no segment ending with '.' or ' ' (Windows strips them, so "a." is "a");
//   - has no Windows device name as a segment, with or without an extension: CON, PRN,
//     AUX, NUL, COM0-COM9, LPT0-LPT9, in any case ("nul.txt" opens the null device);
//   - is relative (no leading '/', no drive letter "C:"), has no empty segment
//     ("a//b", a trailing '/'), no backslash, NUL, control or non-ASCII byte.
//
// A package's whole file list must also be a set that every filesystem can hold:
// validate_package_path_set.
//
// Thread-safety: pure functions.
#ifndef MDS_CORE_MANIFEST_PATH_HPP
#define MDS_CORE_MANIFEST_PATH_HPP

#include <mds/error.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace mds::core {

inline constexpr std::size_t kMaxPathBytes = 1024;
inline constexpr std::size_t kMaxSegmentBytes = 255; // NAME_MAX on Linux, Apple and NTFS
inline constexpr std::size_t kMaxPathDepth = 32;
// Besides ASCII letters and digits.
inline constexpr std::string_view kPathPunctuation = "._-@";

// Ok, or PathUnsafe with a message that names the rule the path breaks.
Status validate_package_path(std::string_view path);

// Ok when every path is valid and the list can be written as one tree on any
// filesystem; otherwise PathUnsafe naming the paths involved. Refused: the same path
// twice; two paths that differ only in letter case, as files ("A.js", "a.js") or as
// directories ("Img/a.png", "img/b.png"), since a case-insensitive filesystem would
// merge them; a path that is a file and also a directory of another ("a", "a/b").
Status validate_package_path_set(const std::vector<std::string_view> &paths);

} // namespace mds::core

#endif
