#include "client/event_delivery.hpp"

#include "state/store.hpp"
#include "transport/http.hpp"
#include "transport/protocol.hpp"

#include <set>
#include <vector>

namespace mds::client {
namespace {

// 4xx answers that say "not now" rather than "never".
bool refuses_for_good(long status) {
  return status >= 400 && status < 500 && status != 408 && status != 429;
}

class Delivery {
public:
  Delivery(state::Store &store, transport::Http &http, const EventDeliverySettings &settings)
      : store_(store), http_(http), settings_(settings) {}

  Result<EventDeliveryReport> run() {
    while (true) {
      auto batch = next_batch();
      if (!batch) {
        return std::move(batch).error();
      }
      if (batch->empty()) {
        report_.drained = true;
        return report_;
      }
      auto outcome = send(*batch);
      if (!outcome) {
        return std::move(outcome).error();
      }
      if (*outcome == Outcome::Stop) {
        return report_;
      }
    }
  }

private:
  enum class Outcome { Continue, Stop };

  std::string body(const std::vector<state::QueuedEvent> &events) const {
    std::vector<std::string> objects;
    objects.reserve(events.size());
    for (const auto &event : events) {
      objects.push_back(event.json);
    }
    return transport::build_events_request(settings_.app_id, settings_.device_id, objects);
  }

  // The oldest events, at most 100 and at most one request body's worth. An event too
  // large to travel even alone (only a damaged queue holds one) is dropped and counted.
  Result<std::vector<state::QueuedEvent>> next_batch() {
    while (true) {
      auto events = store_.oldest_events(static_cast<std::uint32_t>(transport::kMaxEventsPerRequest));
      if (!events) {
        return std::move(events).error();
      }
      while (events->size() > 1 && body(*events).size() > transport::kMaxRequestBytes) {
        events->resize(events->size() / 2);
      }
      if (events->size() == 1 && body(*events).size() > transport::kMaxRequestBytes) {
        auto dropped = store_.discard_events({events->front().id});
        if (!dropped) {
          return std::move(dropped).error();
        }
        report_.refused += *dropped;
        report_.last_refusal = "an event above the request size limit";
        continue;
      }
      return events;
    }
  }

  Result<Outcome> send(const std::vector<state::QueuedEvent> &batch) {
    if (report_.requests >= settings_.max_requests) {
      return Outcome::Stop;
    }
    ++report_.requests;
    transport::HttpRequest request;
    request.method = "POST";
    request.url = settings_.url;
    request.body = body(batch);
    request.max_response_bytes = settings_.max_response_bytes;
    request.deadline = settings_.deadline;
    auto response = http_.perform(request);
    if (!response) {
      return std::move(response).error();
    }
    if (response->status == 200) {
      return acknowledged(batch, response->body);
    }
    const std::string why = "POST /v1/events: HTTP " + std::to_string(response->status) + ": " +
                            transport::describe_error_body(response->body);
    if (!refuses_for_good(response->status)) {
      return make_error(ErrorCode::HttpStatus, why);
    }
    if (batch.size() == 1) {
      auto dropped = store_.discard_events({batch.front().id});
      if (!dropped) {
        return std::move(dropped).error();
      }
      report_.refused += *dropped;
      report_.last_refusal = why;
      return Outcome::Continue;
    }
    const auto middle = batch.begin() + static_cast<std::ptrdiff_t>(batch.size() / 2);
    auto first = send({batch.begin(), middle});
    if (!first || *first == Outcome::Stop) {
      return first;
    }
    return send({middle, batch.end()});
  }

  Result<Outcome> acknowledged(const std::vector<state::QueuedEvent> &batch, const std::string &answer) {
    auto accepted = transport::parse_events_answer(answer, settings_.max_response_bytes);
    if (!accepted) {
      return make_error(accepted.code(), "POST /v1/events: " + accepted.error().message);
    }
    // Only ids of this batch: an answer naming others deletes nothing it should not.
    std::set<std::string> sent;
    for (const auto &event : batch) {
      sent.insert(event.id);
    }
    std::vector<std::string> held;
    for (auto &id : *accepted) {
      if (sent.erase(id) == 1) {
        held.push_back(std::move(id));
      }
    }
    auto deleted = store_.delete_events(held);
    if (!deleted) {
      return std::move(deleted).error();
    }
    report_.delivered += *deleted;
    // Some of the batch not held: sending it again now would get the same answer.
    return sent.empty() ? Outcome::Continue : Outcome::Stop;
  }

  state::Store &store_;
  transport::Http &http_;
  const EventDeliverySettings &settings_;
  EventDeliveryReport report_;
};

} // namespace

Result<EventDeliveryReport> deliver_events(state::Store &store, transport::Http &http,
                                           const EventDeliverySettings &settings) {
  return Delivery(store, http, settings).run();
}

} // namespace mds::client
