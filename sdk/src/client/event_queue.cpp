#include "client/event_queue.hpp"

#include "client/wall_clock.hpp"
#include "state/store.hpp"
#include "transport/protocol.hpp"

namespace mds::client {

std::string cut_utf8(std::string text, std::size_t max) {
  if (text.size() <= max) {
    return text;
  }
  std::size_t end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text;
}

state::QueuedEvent EventQueue::build(const char *type, const EventSubject &subject, std::optional<ErrorCode> code,
                                     std::string detail) {
  transport::Event event;
  event.id = transport::random_uuid();
  event.type = type;
  event.time = transport::iso8601_utc(wall_now());
  event.release = subject.release;
  event.package = subject.package;
  event.version = subject.version;
  if (code) {
    event.code = static_cast<std::uint32_t>(*code);
  }
  event.detail = cut_utf8(std::move(detail), kMaxEventDetailBytes);
  return {event.id, transport::event_json(event)};
}

Status EventQueue::record(const char *type, const EventSubject &subject, std::optional<ErrorCode> code,
                          std::string detail) {
  return store_.enqueue_event(build(type, subject, code, std::move(detail)), capacity_);
}

Status EventQueue::offered(const EventSubject &subject, std::string detail) {
  return record("offered", subject, std::nullopt, std::move(detail));
}

Status EventQueue::prompt_shown(const EventSubject &subject, std::string detail) {
  return record("prompt_shown", subject, std::nullopt, std::move(detail));
}

Status EventQueue::downloaded(const EventSubject &subject, std::string detail) {
  return record("downloaded", subject, std::nullopt, std::move(detail));
}

Status EventQueue::installed(const EventSubject &subject, std::string detail) {
  return record("installed", subject, std::nullopt, std::move(detail));
}

Status EventQueue::failed(const EventSubject &subject, ErrorCode code, std::string detail) {
  return record("failed", subject, code, std::move(detail));
}

Status EventQueue::rolled_back(const EventSubject &subject, ErrorCode code, std::string detail) {
  return record("rolled_back", subject, code, std::move(detail));
}

} // namespace mds::client
