// Decodes arbitrary bytes as a manifest. Whatever decodes must survive the round trip
// the format promises: encoding it and decoding that gives the same manifest, and
// encoding again gives the same bytes.
#include "core/manifest/manifest.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  auto decoded = mds::core::decode(text);
  if (!decoded) {
    return 0;
  }
  const std::string encoded = mds::core::encode(*decoded);
  auto again = mds::core::decode(encoded);
  if (!again || *again != *decoded || mds::core::encode(*again) != encoded) {
    std::abort();
  }
  return 0;
}
