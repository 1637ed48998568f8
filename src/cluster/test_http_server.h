// TestServer: a tiny HTTP/1.1 server over POSIX sockets for cluster unit tests, so the tests control
// the wire (delays, replies that never come, connections closed mid-stream): one thread per
// connection, keep-alive unless the reply says otherwise. Test-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vj {

class TestServer {
 public:
  struct Reply {
    std::string raw;     // written as is when set (e.g. a chunked stream written in parts)
    std::string body;
    bool close_after = false;           // close the socket after replying, without saying so
    std::chrono::milliseconds delay{0};
    std::vector<std::pair<std::string, std::chrono::milliseconds>> parts;  // raw parts with pauses
  };
  using Handler = std::function<Reply(const std::string& target, const std::string& body)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 64);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestServer() {
    stop_ = true;
    accept_thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : conn_threads_) t.join();
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  // The request line and headers of every request, in order (the header names as the client wrote them).
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }
  int accepted() const { return accepted_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 20) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      accepted_++;
      std::lock_guard<std::mutex> lock(mu_);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads until `pred(buffer)` or the peer closes / the server stops; false when it did not get there.
  bool ReadUntil(int fd, std::string& buffer, const std::function<bool()>& pred) {
    char chunk[4096];
    while (!pred()) {
      pollfd pfd{fd, POLLIN, 0};
      if (stop_) return false;
      if (poll(&pfd, 1, 20) <= 0) continue;
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    while (!stop_) {
      size_t header_end = 0;
      if (!ReadUntil(fd, buffer, [&] { return (header_end = buffer.find("\r\n\r\n")) != std::string::npos; })) {
        break;
      }
      std::string head = buffer.substr(0, header_end);
      size_t content_length = 0;
      for (std::string name : {"Content-Length: ", "content-length: "}) {
        size_t at = head.find(name);
        if (at != std::string::npos) content_length = std::stoul(head.substr(at + name.size()));
      }
      const size_t total = header_end + 4 + content_length;
      if (!ReadUntil(fd, buffer, [&] { return buffer.size() >= total; })) break;
      std::string body = buffer.substr(header_end + 4, content_length);
      size_t sp1 = head.find(' ');
      std::string target = head.substr(sp1 + 1, head.find(' ', sp1 + 1) - sp1 - 1);
      buffer.erase(0, total);
      {
        std::lock_guard<std::mutex> lock(mu_);
        heads_.push_back(head);
      }

      Reply reply = handler_(target, body);
      std::this_thread::sleep_for(reply.delay);  // not cut short by the destructor (`parts` pauses are)
      std::vector<std::pair<std::string, std::chrono::milliseconds>> parts = reply.parts;
      if (parts.empty()) {
        std::string raw = reply.raw.empty() ? "HTTP/1.1 200 OK\r\nContent-Length: " +
                                                  std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body
                                            : reply.raw;
        parts.emplace_back(raw, std::chrono::milliseconds(0));
      }
      bool ok = true;
      for (const auto& [data, pause] : parts) {
        constexpr auto kStep = std::chrono::milliseconds(10);
        for (auto slept = std::chrono::milliseconds(0); slept < pause && !stop_; slept += kStep) {
          std::this_thread::sleep_for(kStep);
        }
        if (stop_ || send(fd, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size())) {
          ok = false;
          break;
        }
      }
      if (!ok || reply.close_after) break;
    }
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> conn_threads_;
  std::vector<std::string> heads_;  // guarded by mu_
};

}  // namespace vj
