// GET /v1/blobs/<sha256>: a stored blob, streamed from its file, with byte ranges for
// resumed downloads. Blobs are immutable, so the ETag is the hash itself.
#include "server/client/client_api.hpp"
#include "server/http/range.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace mds::server::client {
namespace {

using http::Request;
using http::Response;

Response get_blob(const BlobStore &blobs, const Request &request) {
  const auto &sha256 = request.path_params.at("sha256");
  auto path = blobs.path_of(sha256);
  if (!path) {
    return Response::error(path.error());
  }
  struct stat info {};
  if (stat(path->c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Response::error(make_error(ErrorCode::NotFound, "no blob " + sha256));
    }
    return Response::error(
        make_error(ErrorCode::IoError, std::string("cannot read the blob: ") + std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return Response::error(make_error(ErrorCode::NotFound, "no blob " + sha256));
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  const std::string etag = "\"" + sha256 + "\"";
  auto with_headers = [&](Response response) {
    response.headers.emplace_back("ETag", etag);
    response.headers.emplace_back("Accept-Ranges", "bytes");
    response.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
    return response;
  };
  if (auto if_none_match = request.header("if-none-match"); if_none_match && etag_matches(*if_none_match, etag)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.content_type.clear();
    return with_headers(std::move(not_modified));
  }
  http::RangeAnswer range;
  if (auto header = request.header("range")) {
    range = http::apply_if_range(http::parse_range(*header, size), request.header("if-range"), etag);
  }
  if (range.kind == http::RangeKind::Unsatisfiable) {
    auto refused = Response::error(make_error(ErrorCode::RangeNotSatisfiable,
                                              "the range lies outside the blob's " + std::to_string(size) + " bytes"));
    refused.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    return with_headers(std::move(refused));
  }
  Response answer;
  answer.content_type = "application/octet-stream";
  answer.file = *path;
  if (range.kind == http::RangeKind::Partial) {
    answer.status = 206;
    answer.file_offset = range.first;
    answer.file_length = range.last - range.first + 1;
    answer.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                     std::to_string(range.last) + "/" + std::to_string(size));
  } else {
    answer.file_length = size;
  }
  return with_headers(std::move(answer));
}

} // namespace

void add_blob_route(http::Router &router, const BlobStore &blobs) {
  router.add({"GET", "/v1/blobs/{sha256}", http::Access::Public, http::BodyMode::None, 0,
              [&blobs](const Request &request) { return get_blob(blobs, request); }});
}

} // namespace mds::server::client
