#include "server/observe/logger.hpp"

#include "core/json/json.hpp"
#include "server/util/time.hpp"

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
  emit(buffer.GetString());
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
  emit(buffer.GetString());
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
  emit(buffer.GetString());
}

void Logger::emit(const std::string &line) {
  std::string with_newline = line;
  with_newline += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(with_newline.data(), 1, with_newline.size(), sink_);
  std::fflush(sink_);
}

} // namespace mds::server
