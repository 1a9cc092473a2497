// Removes the blobs no published package needs (BlobStore::sweep): files uploaded for a
// publish that was abandoned or killed before it committed. Runs on its own thread once
// at start and then every `interval`; a blob is only removed once nobody has uploaded,
// asked about (POST /v1/admin/blobs/missing) or written it for `grace`, so a publish
// between its upload and its commit keeps what it uploaded.
#ifndef MDS_SERVER_PACKAGES_BLOB_SWEEPER_HPP
#define MDS_SERVER_PACKAGES_BLOB_SWEEPER_HPP

#include "server/observe/logger.hpp"
#include "server/storage/blob_store.hpp"
#include "server/storage/storage.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mds::server::packages {

class BlobSweeper {
public:
  BlobSweeper(BlobStore &blobs, Storage &storage, Logger &logger, std::chrono::seconds interval,
              std::chrono::seconds grace);
  // Stops the thread; a sweep in progress finishes first.
  ~BlobSweeper();
  BlobSweeper(const BlobSweeper &) = delete;
  BlobSweeper &operator=(const BlobSweeper &) = delete;

private:
  void run();
  void sweep_once();

  BlobStore &blobs_;
  Storage &storage_;
  Logger &logger_;
  const std::chrono::seconds interval_;
  const std::chrono::seconds grace_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace mds::server::packages

#endif
