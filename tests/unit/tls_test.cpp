// TLS through the real transport against a real TLS server on loopback (SECURITY.md #23):
// `openssl s_server` with a certificate from a CA made for the test. Without the openssl
// command the test says so and skips.
#include "transport/http.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

using mds::ErrorCode;
using mds::transport::Http;
using mds::transport::HttpRequest;
using mds::transport::HttpSettings;

namespace {

bool run(const std::string &command) {
  return std::system(command.c_str()) == 0;
}

std::string read_text(const std::filesystem::path &path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

int free_port() {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr *>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(probe, reinterpret_cast<sockaddr *>(&address), &length);
  ::close(probe);
  return ntohs(address.sin_port);
}

bool accepting(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

// A test CA, a server key and certificate for 127.0.0.1 (and one for another name), a
// second key for a wrong pin.
struct Pki {
  std::filesystem::path dir;
  std::string server_pin;
  std::string other_pin;

  bool make() {
    const std::string d = dir.string();
    const std::string quiet = " >/dev/null 2>&1";
    auto key = [&](const std::string &name) {
      return run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/" + name + quiet);
    };
    auto cert = [&](const std::string &name, const std::string &san) {
      return run("openssl req -new -key " + d + "/" + name + ".key -subj /CN=mds-test -out " + d + "/" + name + ".csr" +
                 quiet) &&
             run("printf 'subjectAltName=" + san + "\\n' > " + d + "/" + name + ".ext") &&
             run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " + d +
                 "/ca.key -CAcreateserial -days 2 -extfile " + d + "/" + name + ".ext -out " + d + "/" + name + ".pem" +
                 quiet);
    };
    auto pin = [&](const std::string &name, std::string &out) {
      if (!run("openssl pkey -in " + d + "/" + name +
               ".key -pubout -outform der 2>/dev/null | openssl dgst -sha256 "
               "-binary | openssl base64 -A > " +
               d + "/" + name + ".pin")) {
        return false;
      }
      out = "sha256//" + read_text(dir / (name + ".pin"));
      return out.size() == 8 + 44;
    };
    return key("ca.key") &&
           run("openssl req -x509 -new -key " + d + "/ca.key -subj /CN=mds-test-ca -days 2 -out " + d + "/ca.pem" +
               quiet) &&
           key("server.key") && cert("server", "IP:127.0.0.1") && key("named.key") &&
           cert("named", "DNS:other.example") && key("other.key") && pin("server", server_pin) &&
           pin("other", other_pin);
  }
};

class TlsServer {
public:
  TlsServer(const std::filesystem::path &cert, const std::filesystem::path &key) : port_(free_port()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string accept = "127.0.0.1:" + std::to_string(port_);
      // dup2, not freopen: the parent's unflushed stdio buffers must not be written twice.
      const int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert", cert.c_str(),
               "-key", key.c_str(), static_cast<char *>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !accepting(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  TlsServer(const TlsServer &) = delete;
  TlsServer &operator=(const TlsServer &) = delete;
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
  bool up() const { return accepting(port_); }

private:
  int port_;
  pid_t pid_ = -1;
};

} // namespace

TEST_CASE("TLS: verification on, pins with a backup, host names checked", "[transport][tls]") {
  if (!run("openssl version >/dev/null 2>&1")) {
    WARN("the openssl command is not installed: TLS tests skipped");
    return;
  }
  mds::test::TempDir dir;
  Pki pki{dir.path(), {}, {}};
  REQUIRE(pki.make());
  TlsServer server(dir / "server.pem", dir / "server.key");
  REQUIRE(server.up());
  TlsServer named(dir / "named.pem", dir / "named.key");
  REQUIRE(named.up());

  const std::string ca = (dir / "ca.pem").string();
  struct Case {
    std::string name;
    std::string url;
    std::string ca_file;
    std::vector<std::string> pins;
    ErrorCode expected;
  };
  const std::vector<Case> cases = {
      {"test CA not trusted by the system store", server.url(), "", {}, ErrorCode::TlsFailure},
      {"test CA given", server.url(), ca, {}, ErrorCode::Ok},
      {"right pin", server.url(), ca, {pki.server_pin}, ErrorCode::Ok},
      {"backup pin matches", server.url(), ca, {pki.other_pin, pki.server_pin}, ErrorCode::Ok},
      {"wrong pin", server.url(), ca, {pki.other_pin}, ErrorCode::TlsPinMismatch},
      {"certificate for another name", named.url(), ca, {}, ErrorCode::TlsFailure},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    HttpSettings settings;
    settings.connect_timeout = std::chrono::seconds(10);
    settings.ca_file = c.ca_file;
    settings.pins = c.pins;
    Http http(settings);
    HttpRequest request;
    request.url = c.url;
    request.deadline = std::chrono::seconds(20);
    auto response = http.perform(request);
    CHECK(response.code() == c.expected);
    if (response) {
      CHECK(response->status == 200);
    }
  }
}
