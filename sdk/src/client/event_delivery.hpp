// Sending the queued device events to POST /v1/events (docs/protocol.md).
//
// Oldest first, in batches of at most 100 events and at most 64 KiB of request. The
// server answers with the ids it now holds (new or already known: the endpoint is
// idempotent on id), and exactly those are deleted from the queue; the rest stay,
// across restarts, for the next delivery. Sending twice is harmless; losing is not.
//
// A batch the server refuses with 4xx (other than 408 and 429, which mean "later") holds
// an event the server will never take: the batch is split in halves and each half sent
// again, down to the single event, which is then dropped and counted in
// Store::events_dropped(). So one bad event costs about 2·log2(100) requests and never
// blocks the queue, and every good event around it still arrives. Transport failures,
// 5xx, 408 and 429 stop the delivery; the events wait for the next sync.
//
// Thread-safety: call from one thread (the worker) with an Http of that thread.
#ifndef MDS_SRC_CLIENT_EVENT_DELIVERY_HPP
#define MDS_SRC_CLIENT_EVENT_DELIVERY_HPP

#include <mds/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mds::state {
class Store;
}
namespace mds::transport {
class Http;
}

namespace mds::client {

struct EventDeliverySettings {
  std::string url; // absolute URL of /v1/events
  std::string app_id;
  std::string device_id;
  std::uint64_t max_response_bytes = 64u << 10;
  std::chrono::milliseconds deadline{60'000}; // per request
  // Requests per delivery, so a large backlog or a run of refusals cannot hold the
  // worker; what is left goes with the next delivery.
  std::size_t max_requests = 40;
};

struct EventDeliveryReport {
  std::uint64_t delivered = 0; // events the server acknowledged (and the queue deleted)
  std::uint64_t refused = 0;   // events the server refused with 4xx, dropped and counted
  std::size_t requests = 0;
  bool drained = false;     // the queue was empty at the end
  std::string last_refusal; // the server's error for the last refused event
};

// Sends what is queued, as described above. Fails with the transport's error, with
// HttpStatus for a 5xx / 408 / 429 answer, with the answer's parse error, or with the
// Store's error; events acknowledged before the failure are deleted all the same.
Result<EventDeliveryReport> deliver_events(state::Store &store, transport::Http &http,
                                           const EventDeliverySettings &settings);

} // namespace mds::client

#endif
