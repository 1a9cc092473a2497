#include "server/packages/blob_sweeper.hpp"

namespace mds::server::packages {

BlobSweeper::BlobSweeper(BlobStore &blobs, Storage &storage, Logger &logger, std::chrono::seconds interval,
                         std::chrono::seconds grace)
    : blobs_(blobs), storage_(storage), logger_(logger), interval_(interval), grace_(grace) {
  thread_ = std::thread([this] { run(); });
}

BlobSweeper::~BlobSweeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BlobSweeper::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    sweep_once();
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

void BlobSweeper::sweep_once() {
  auto swept = blobs_.sweep([this] { return storage_.referenced_blobs(); }, grace_);
  if (!swept) {
    logger_.failure("blob_sweep", swept.error());
    return;
  }
  if (swept->removed > 0) {
    logger_.info("blob_sweep", "removed " + std::to_string(swept->removed) + " blobs no package needs (" +
                                   std::to_string(swept->removed_bytes) + " bytes); kept " +
                                   std::to_string(swept->kept));
  }
}

} // namespace mds::server::packages
