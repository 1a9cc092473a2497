#include "server/observe/logger.hpp"

#include "core/json/json.hpp"
#include "server/util/time.hpp"

#include <csignal>

#include <pthread.h>

namespace mds::server {
namespace {

void key_string(core::json::Writer &writer, const char *key, std::string_view value) {
  writer.Key(key);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

} // namespace

void Logger::write(std::string_view level, std::string_view event, std::string_view message) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  key_string(writer, "time", format_utc_now_millis());
  key_string(writer, "level", level);
  key_string(writer, "event", event);
  key_string(writer, "message", message);
  writer.EndObject();
  emit(std::string_view(buffer.GetString(), buffer.GetSize()));
}

void Logger::failure(std::string_view event, const Error &error) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  key_string(writer, "time", format_utc_now_millis());
  key_string(writer, "level", "error");
  key_string(writer, "event", event);
  writer.Key("code");
  writer.Uint(static_cast<unsigned>(error.code));
  key_string(writer, "name", to_string(error.code));
  key_string(writer, "message", error.message);
  writer.EndObject();
  emit(std::string_view(buffer.GetString(), buffer.GetSize()));
}

void Logger::request(std::string_view method, std::string_view path, std::string_view route, unsigned status,
                     double duration_ms, std::string_view actor) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  key_string(writer, "time", format_utc_now_millis());
  key_string(writer, "level", status >= 500 ? "error" : "info");
  key_string(writer, "event", "request");
  key_string(writer, "method", method);
  key_string(writer, "path", path);
  key_string(writer, "route", route);
  writer.Key("status");
  writer.Uint(status);
  writer.Key("duration_ms");
  writer.Double(static_cast<double>(static_cast<long long>(duration_ms * 1000.0)) / 1000.0);
  if (!actor.empty()) {
    key_string(writer, "actor", actor);
  }
  writer.EndObject();
  emit(std::string_view(buffer.GetString(), buffer.GetSize()));
}

Logger::Logger(std::FILE *sink, std::chrono::milliseconds flush_delay) : sink_(sink), flush_delay_(flush_delay) {
  // The writer takes no signal: the server takes SIGTERM and SIGINT with sigwait, and a
  // thread created with them unblocked could receive one and end the process. Blocked
  // here, around the creation, so that no signal can arrive before the thread blocks it.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  writer_ = std::thread([this] { run_writer(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

Logger::~Logger() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  flush();
}

void Logger::emit(std::string_view line) {
  bool first_of_batch = false;
  bool too_much = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first_of_batch = pending_.empty();
    pending_.append(line);
    pending_ += '\n';
    too_much = pending_.size() > kMaxPendingBytes;
  }
  if (too_much) {
    flush();
  } else if (first_of_batch) {
    wake_.notify_one();
  }
}

void Logger::flush() {
  // The sink lock is taken before the batch, so batches reach the sink in the order they
  // were taken.
  std::lock_guard<std::mutex> writing(sink_mutex_);
  std::string lines;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lines.swap(pending_);
  }
  write_out(lines);
}

void Logger::write_out(const std::string &lines) {
  if (!lines.empty()) {
    std::fwrite(lines.data(), 1, lines.size(), sink_);
    std::fflush(sink_);
  }
}

void Logger::run_writer() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (stopping_) {
      break;
    }
    // Lines that arrive during the delay join this batch: one write for all of them.
    wake_.wait_for(lock, flush_delay_, [this] { return stopping_; });
    lock.unlock();
    flush();
    lock.lock();
  }
}

} // namespace mds::server
