// Recording device events (docs/protocol.md "POST /v1/events") for the server.
//
// Every event is written to the state directory's queue first and sent later, after a
// sync (client/event_delivery.hpp), so none is lost to a crash, a missing network or a
// restart. The queue keeps at most Caps::event_queue events; beyond that the oldest are
// dropped and counted (Store::events_dropped()).
//
// Who records what:
//   offered       the client, the first time an answer offers an upgrade release version
//   prompt_shown  the client, from Client::upgrade_prompt_shown()
//   downloaded    the package pipeline, once a download is complete and its hash checked
//   installed     the package pipeline, once the install transaction committed
//   failed        the package pipeline (or the store rebuild), with the ErrorCode of why
//   rolled_back   the package pipeline, when a hotpatch reverts, with the ErrorCode of why
//
// Usage from the client's internals (the worker, or a public call's thread):
//   events_.installed({offer.release, offer.package, offer.version}, "delta");
//   events_.failed({offer.release, offer.package, offer.version}, ErrorCode::HashMismatch,
//                  "lib/app.js");
// A failure to queue (disk full, storage failure) comes back as a Status; what to do
// with it is the caller's choice (the install itself should not fail because of it).
//
// Thread-safety: the recorder holds no state of its own; the Store serialises writes.
#ifndef MDS_SRC_CLIENT_EVENT_QUEUE_HPP
#define MDS_SRC_CLIENT_EVENT_QUEUE_HPP

#include "state/store.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace mds::client {

// What an event is about: the server's release id (decimal, as the check answer gave it),
// the package id and its version. Any may be empty (the store rebuild names none).
struct EventSubject {
  std::string release;
  std::string package;
  std::string version;
};

// The server refuses a longer detail (docs/protocol.md); longer texts are cut to it at a
// UTF-8 character boundary.
inline constexpr std::size_t kMaxEventDetailBytes = 1024;

class EventQueue {
public:
  EventQueue(state::Store &store, std::uint32_t capacity) : store_(store), capacity_(capacity) {}

  Status offered(const EventSubject &subject, std::string detail = {});
  Status prompt_shown(const EventSubject &subject, std::string detail = {});
  Status downloaded(const EventSubject &subject, std::string detail = {});
  Status installed(const EventSubject &subject, std::string detail = {});
  Status failed(const EventSubject &subject, ErrorCode code, std::string detail = {});
  Status rolled_back(const EventSubject &subject, ErrorCode code, std::string detail = {});

  // Any type of docs/protocol.md; the functions above are the ones to use. The event gets
  // a fresh uuid and the time of client::wall_now().
  Status record(const char *type, const EventSubject &subject, std::optional<ErrorCode> code, std::string detail);

  // The event record() would queue, for a caller that queues it inside its own
  // transaction (the hotpatch revert, Store::update_hotpatch()).
  static state::QueuedEvent build(const char *type, const EventSubject &subject, std::optional<ErrorCode> code,
                                  std::string detail);

private:
  state::Store &store_;
  std::uint32_t capacity_;
};

// `text` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(std::string text, std::size_t max);

} // namespace mds::client

#endif
