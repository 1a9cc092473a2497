#include "server_process.hpp"

#include <catch2/catch.hpp>
#include <curl/curl.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mds::test {
namespace {

std::string read_whole(const std::filesystem::path &file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Forks and execs mds-server with stdout on a pipe and stderr into `log_file`.
pid_t spawn(const std::vector<std::string> &arguments, const std::filesystem::path &log_file, int &stdout_read) {
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd >= 0) {
      dup2(log_fd, STDERR_FILENO);
    }
    std::vector<char *> argv;
    std::string binary = MDS_SERVER_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = arguments;
    for (auto &argument : copies) {
      argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  stdout_read = pipe_fds[0];
  return pid;
}

// Waits for the child; -1 if it is still running at the deadline or died by a signal.
int wait_for_exit(pid_t pid, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string read_available(int fd, std::chrono::milliseconds deadline, bool stop_at_newline) {
  std::string text;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    pollfd waiting{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (poll(&waiting, 1, static_cast<int>(std::max<long long>(left.count(), 1))) <= 0) {
      continue;
    }
    char buffer[256];
    const auto got = read(fd, buffer, sizeof buffer);
    if (got <= 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    if (stop_at_newline && text.find('\n') != std::string::npos) {
      break;
    }
  }
  return text;
}

std::size_t collect_body(char *data, std::size_t size, std::size_t count, void *target) {
  static_cast<std::string *>(target)->append(data, size * count);
  return size * count;
}

std::size_t collect_header(char *data, std::size_t size, std::size_t count, void *target) {
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto &c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) {
      value.erase(0, 1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
      value.pop_back();
    }
    (*static_cast<std::map<std::string, std::string> *>(target))[name] = value;
  }
  return size * count;
}

} // namespace

void write_token_file(const std::filesystem::path &file) {
  std::ofstream out(file);
  out << "# integration test tokens\n"
      << "alice " << kAdminToken << "\n"
      << "\n"
      << kOtherToken << "\n";
}

ProcessExit run_server_to_exit(const std::vector<std::string> &arguments, std::chrono::milliseconds deadline) {
  auto log_pattern = (std::filesystem::temp_directory_path() / "mds-it-log-XXXXXX").string();
  const int log_fd = mkstemp(log_pattern.data());
  REQUIRE(log_fd >= 0);
  close(log_fd);
  int stdout_fd = -1;
  const pid_t pid = spawn(arguments, log_pattern, stdout_fd);
  ProcessExit result;
  result.exit_code = wait_for_exit(pid, deadline);
  if (result.exit_code == -2) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    result.exit_code = -1;
  }
  result.stdout_text = read_available(stdout_fd, std::chrono::milliseconds(50), false);
  close(stdout_fd);
  result.stderr_text = read_whole(log_pattern);
  std::filesystem::remove(log_pattern);
  return result;
}

std::unique_ptr<ServerProcess> ServerProcess::start(const std::filesystem::path &data_dir,
                                                    const std::filesystem::path &token_file,
                                                    const std::vector<std::string> &extra_arguments) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->log_file_ = data_dir.parent_path() / (data_dir.filename().string() + "-server.log");
  std::vector<std::string> arguments = {"--data",      data_dir.string(),    "--listen",
                                        "127.0.0.1:0", "--admin-token-file", token_file.string()};
  arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
  int stdout_fd = -1;
  server->pid_ = spawn(arguments, server->log_file_, stdout_fd);

  const auto line = read_available(stdout_fd, std::chrono::seconds(20), true);
  close(stdout_fd);
  const std::string prefix = "listening on ";
  INFO("server stdout: " << line << "\nserver log:\n" << server->log());
  REQUIRE(line.rfind(prefix, 0) == 0);
  server->listen_address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  server->base_url_ = "http://" + server->listen_address_;

  HttpClient client(server->base_url_);
  REQUIRE(client.request("GET", "/healthz").status == 200);
  return server;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    stop(std::chrono::seconds(5));
  }
}

int ServerProcess::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, SIGTERM);
  int code = wait_for_exit(pid_, deadline);
  if (code == -2) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    code = -1;
  }
  pid_ = -1;
  return code;
}

void ServerProcess::kill_hard() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

std::string ServerProcess::log() const {
  return read_whole(log_file_);
}

std::string ServerProcess::log_settled() const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto current = log();
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto later = log();
    if (later == current) {
      break;
    }
    current = std::move(later);
  }
  return current;
}

std::string ServerProcess::log_containing(const std::string &text) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto current = log();
  while (current.find(text) == std::string::npos && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    current = log();
  }
  // Lines of the requests just before the one found may still be on their way.
  return current.find(text) == std::string::npos ? current : log_settled();
}

HttpClient::HttpClient(std::string base_url) : base_url_(std::move(base_url)), curl_(curl_easy_init()) {}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL *>(curl_));
}

HttpResponse HttpClient::request(const std::string &method, const std::string &path, const std::string &body,
                                 const std::vector<std::string> &headers) {
  auto *curl = static_cast<CURL *>(curl_);
  curl_easy_reset(curl);
  HttpResponse response;
  const auto url = base_url_ + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist *header_list = nullptr;
  for (const auto &header : headers) {
    header_list = curl_slist_append(header_list, header.c_str());
  }
  if (!body.empty()) {
    header_list = curl_slist_append(header_list, "Content-Type: application/json");
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  const auto code = curl_easy_perform(curl);
  curl_slist_free_all(header_list);
  if (code != CURLE_OK) {
    response.transport_error = curl_easy_strerror(code);
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &response.new_connections);
  return response;
}

HttpResponse HttpClient::admin(const std::string &method, const std::string &path, const std::string &body) {
  return request(method, path, body, {"Authorization: Bearer " + kAdminToken});
}

HttpResponse HttpClient::admin_upload(const std::string &path, const std::filesystem::path &file) {
  auto *curl = static_cast<CURL *>(curl_);
  curl_easy_reset(curl);
  HttpResponse response;
  std::FILE *input = std::fopen(file.c_str(), "rb");
  REQUIRE(input != nullptr);
  const auto url = base_url_ + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READDATA, input);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(std::filesystem::file_size(file)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  curl_slist *header_list = nullptr;
  header_list = curl_slist_append(header_list, ("Authorization: Bearer " + kAdminToken).c_str());
  header_list = curl_slist_append(header_list, "Content-Type: text/csv");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  const auto code = curl_easy_perform(curl);
  curl_slist_free_all(header_list);
  std::fclose(input);
  if (code != CURLE_OK) {
    response.transport_error = curl_easy_strerror(code);
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

} // namespace mds::test
