// Checks of ClientOptions before a Client exists: the first bad field is named.
#ifndef MDS_SRC_CLIENT_VALIDATE_HPP
#define MDS_SRC_CLIENT_VALIDATE_HPP

#include <mds/client.hpp>

namespace mds::client {

// InvalidArgument naming the first field that is missing or malformed.
Status validate_options(const ClientOptions &options);

} // namespace mds::client

#endif
