// The fixed package versions the delta fuzzer applies its inputs to. The seeds in
// corpus/fuzz_delta/ are encode_delta's output for these versions (base -> target and
// empty -> target) and a patch entry for them (patch.delta, assembled by a unit test, which
// rewrites it when run with MDS_WRITE_FUZZ_SEEDS set); regenerate them when the format or
// this fixture changes.
#ifndef MDS_TESTS_FUZZ_DELTA_FIXTURE_HPP
#define MDS_TESTS_FUZZ_DELTA_FIXTURE_HPP

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/manifest.hpp"

#include <map>
#include <string>

namespace mds::fuzz {

using Tree = std::map<std::string, core::crypto::Bytes>;

inline core::crypto::Bytes text(const std::string &s) {
  return core::crypto::Bytes(s.begin(), s.end());
}

inline Tree delta_base_tree() {
  return {{"index.html", text("<html><script src=\"app.js\"></script><p>hello</p></html>\n")},
          {"app.js", text("function greet(name) { return 'hello ' + name; }\nconsole.log(greet('world'));\n")},
          {"img/dot.bin", text(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16))}};
}

inline Tree delta_target_tree() {
  return {{"index.html", text("<html><script src=\"app.js\"></script><p>hello</p></html>\n")},
          {"app.js", text("function greet(name) { return 'hi ' + name + '!'; }\nconsole.log(greet('world'));\n")},
          {"img/dot-copy.bin", text(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16))},
          {"extra.js", text("export const answer = 42;\n")}};
}

inline core::Manifest delta_manifest(const Tree &tree, const std::string &version) {
  core::Manifest manifest;
  manifest.app = "com.example.fuzz";
  manifest.package_id = "fuzz";
  manifest.version = version;
  manifest.created = "2024-05-01T12:00:00Z";
  for (const auto &[path, bytes] : tree) {
    manifest.files.push_back({path, bytes.size(), core::crypto::hex_encode(core::crypto::sha256(bytes))});
  }
  return manifest;
}

} // namespace mds::fuzz

#endif
