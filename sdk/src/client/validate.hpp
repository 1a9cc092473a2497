// Checks of ClientOptions before a Client exists: the first bad field is named.
#ifndef MDS_SRC_CLIENT_VALIDATE_HPP
#define MDS_SRC_CLIENT_VALIDATE_HPP

#include <mds/client.hpp>

#include <cstddef>

namespace mds::client {

// The most the host's description of the device (device fields, user id, attributes,
// SDK versions, app and platform) may take of a check request: half the server's 64 KiB,
// so the installed packages always fit in the rest.
inline constexpr std::size_t kMaxDescriptionBytes = 32u << 10;

// InvalidArgument naming the first field that is missing or malformed.
Status validate_options(const ClientOptions &options);

} // namespace mds::client

#endif
