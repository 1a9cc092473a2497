// Runs the real mds-server binary for integration tests and talks to it over real HTTP
// (libcurl). A ServerProcess owns a child process: it starts it with a data directory
// and a token file, waits for the "listening on HOST:PORT" line and a healthy /healthz,
// and stops it with SIGTERM (SIGKILL only if it hangs).
#ifndef MDS_TESTS_INTEGRATION_SERVER_PROCESS_HPP
#define MDS_TESTS_INTEGRATION_SERVER_PROCESS_HPP

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mds::test {

// The admin tokens every integration test's token file holds.
inline const std::string kAdminToken = "it-admin-token-0123456789abcdefghijklmnopqrstuv";
inline const std::string kOtherToken = "it-ci-token-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";

// Writes a token file with kAdminToken (named "alice") and kOtherToken (unnamed).
void write_token_file(const std::filesystem::path &file);

struct ProcessExit {
  int exit_code = -1; // -1 when killed by a signal or still running at the deadline
  std::string stdout_text;
  std::string stderr_text;
};

// Runs mds-server with `arguments` and waits for it to exit (it is expected to refuse
// to start). Kills it at the deadline.
ProcessExit run_server_to_exit(const std::vector<std::string> &arguments,
                               std::chrono::milliseconds deadline = std::chrono::seconds(10));

class ServerProcess {
public:
  // Starts a server on 127.0.0.1:0 with `data_dir` and `token_file`; REQUIREs readiness.
  static std::unique_ptr<ServerProcess> start(const std::filesystem::path &data_dir,
                                              const std::filesystem::path &token_file,
                                              const std::vector<std::string> &extra_arguments = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess &) = delete;
  ServerProcess &operator=(const ServerProcess &) = delete;

  // "http://127.0.0.1:PORT"
  const std::string &base_url() const { return base_url_; }
  const std::string &listen_address() const { return listen_address_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM and waits; returns the exit code (-1 if it had to be killed).
  int stop(std::chrono::milliseconds deadline = std::chrono::seconds(15));
  // SIGKILL: the server gets no chance to clean up, as in a crash or power cut.
  void kill_hard();
  // What the server wrote to stderr so far (its JSON log lines).
  std::string log() const;
  // The log once it contains `text` and has settled (log_settled): a request is logged
  // just after its answer is sent, so a client can see the answer before the line is
  // written. Waits up to 5 s for the text.
  std::string log_containing(const std::string &text) const;
  // The log once it has stopped growing for a moment: the server writes its log shortly
  // after each request, so a count of request lines must wait for this.
  std::string log_settled() const;

private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::string base_url_;
  std::string listen_address_;
  std::filesystem::path log_file_;
};

struct HttpResponse {
  long status = 0; // 0 when the request failed at the transport level
  std::string body;
  std::map<std::string, std::string> headers; // lower-case names
  std::string transport_error;
  long new_connections = 0; // connections libcurl opened for this request (0: reused one)
};

// One libcurl easy handle: requests reuse its connection (keep-alive).
class HttpClient {
public:
  explicit HttpClient(std::string base_url);
  ~HttpClient();
  HttpClient(const HttpClient &) = delete;
  HttpClient &operator=(const HttpClient &) = delete;

  HttpResponse request(const std::string &method, const std::string &path, const std::string &body = "",
                       const std::vector<std::string> &headers = {});
  // With "Authorization: Bearer kAdminToken".
  HttpResponse admin(const std::string &method, const std::string &path, const std::string &body = "");
  // Uploads a file as the body (streamed by libcurl) with the admin token.
  HttpResponse admin_upload(const std::string &path, const std::filesystem::path &file);

private:
  std::string base_url_;
  void *curl_;
};

} // namespace mds::test

#endif
