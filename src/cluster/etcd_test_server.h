// EtcdTestServer: a real single-member etcd for tests, on free loopback ports, in a fresh temp data dir.
// Start() launches it and waits until /health answers; Kill() (SIGKILL) / Pause() (SIGSTOP) / Resume()
// inject faults; Start() again restarts it on the same ports and data dir (WipeData() first for an etcd
// that lost everything). The destructor kills it and removes the data dir. The child also dies with the
// test process (PR_SET_PDEATHSIG). The binary is $VJ_ETCD_BIN, else /usr/bin/etcd, else etcd on PATH;
// tests GTEST_SKIP when Available() is false. Thread-safety: one controlling thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cluster/http_client.h"
#include "core/status.h"

namespace vj {

class EtcdTestServer {
 public:
  // The etcd binary to run, or "" when none is installed.
  static std::string Binary() {
    if (const char* env = std::getenv("VJ_ETCD_BIN"); env != nullptr && *env != '\0') return env;
    if (access("/usr/bin/etcd", X_OK) == 0) return "/usr/bin/etcd";
    if (const char* path = std::getenv("PATH")) {
      std::string p = path;
      for (size_t start = 0; start <= p.size();) {
        size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::string candidate = p.substr(start, end - start) + "/etcd";
        if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
      }
    }
    return "";
  }
  static bool Available() { return !Binary().empty(); }

  // A port that was free a moment ago on 127.0.0.1 (the kernel picks it for a bind to port 0).
  static uint16_t PickFreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      socklen_t len = sizeof(addr);
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  EtcdTestServer() : client_port_(PickFreePort()), peer_port_(PickFreePort()) {
    std::string templ = (std::filesystem::temp_directory_path() / "vj_etcd_XXXXXX").string();
    if (mkdtemp(templ.data()) != nullptr) dir_ = templ;
  }
  ~EtcdTestServer() {
    Kill();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  EtcdTestServer(const EtcdTestServer&) = delete;
  EtcdTestServer& operator=(const EtcdTestServer&) = delete;

  // Launches etcd (again, after Kill) and waits until it serves requests.
  [[nodiscard]] Status Start(std::chrono::milliseconds ready_timeout = std::chrono::seconds(20)) {
    if (pid_ > 0) return absl::FailedPreconditionError("etcd already running");
    const std::string binary = Binary();
    if (binary.empty()) return absl::NotFoundError("etcd binary not found");
    if (dir_.empty()) return absl::InternalError("could not create a temp dir for etcd");
    const std::string client = client_url();
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {binary,
                                     "--name=vjtest",
                                     "--data-dir=" + data_dir(),
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=vjtest=" + peer,
                                     "--log-level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = log_path();
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    HttpClient http(HttpClientOptions{.connect_timeout = std::chrono::milliseconds(500),
                                      .request_timeout = std::chrono::milliseconds(1000)});
    const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        return absl::InternalError("etcd exited at start; see " + log);
      }
      auto res = http.Send("GET", client + "/health");
      if (res.ok() && res->status == 200 && res->body.find("true") != std::string::npos) {
        return absl::OkStatus();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
    return absl::DeadlineExceededError("etcd not ready in time; see " + log);
  }

  // SIGKILL and reap; the data dir stays for a restart.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }
  void Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
  }
  // Deletes the data dir (call while killed): the next Start() is a brand-new etcd on the same ports.
  void WipeData() {
    std::error_code ec;
    std::filesystem::remove_all(data_dir(), ec);
  }

  bool running() const { return pid_ > 0; }
  uint16_t client_port() const { return client_port_; }
  std::string client_url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/etcd.log"; }

 private:
  const uint16_t client_port_;
  const uint16_t peer_port_;
  std::string dir_;
  pid_t pid_ = -1;
};

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns whether it held.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace vj
