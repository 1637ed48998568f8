#include "bench/loopback_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace vj::bench {

LoopbackClient::~LoopbackClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status LoopbackClient::Connect() {
  if (fd_ >= 0) ::close(fd_);
  buffer_.clear();
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return absl::UnavailableError("socket failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(timeout_s_);
  timeout.tv_usec = static_cast<suseconds_t>((timeout_s_ - static_cast<double>(timeout.tv_sec)) * 1e6);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    ::close(fd_);
    fd_ = -1;
    return absl::InvalidArgumentError("not an IPv4 address: " + host_);
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return absl::UnavailableError("cannot connect to " + host_ + ":" + std::to_string(port_));
  }
  return absl::OkStatus();
}

StatusOr<int> LoopbackClient::Call(const std::string& method, const std::string& target,
                                   const std::string& payload, std::string* body) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + host_ +
                        "\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(payload.size()) + "\r\n\r\n" + payload;
  if (fd_ < 0) VJ_RETURN_IF_ERROR(Connect());
  StatusOr<int> status = Exchange(request, body);
  if (!status.ok() && status.status().code() == absl::StatusCode::kUnavailable) {  // the server may have closed an idle keep-alive connection
    VJ_RETURN_IF_ERROR(Connect());
    status = Exchange(request, body);
  }
  return status;
}

Status LoopbackClient::Timeout() {
  ::close(fd_);  // a late response must not be read as the next call's
  fd_ = -1;
  return absl::DeadlineExceededError("no response from " + host_ + ":" + std::to_string(port_) + " within " +
                                     std::to_string(timeout_s_) + " s");
}

ssize_t LoopbackClient::Receive(char* data, size_t size) {
  if (!spin_) return ::recv(fd_, data, size, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s_);
  for (;;) {
    ssize_t n = ::recv(fd_, data, size, MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    if (std::chrono::steady_clock::now() > deadline) return -1;  // errno is EAGAIN: a timeout
  }
}

StatusOr<int> LoopbackClient::Exchange(const std::string& request, std::string* body) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Timeout();
    if (n <= 0) return absl::UnavailableError("send failed");
    sent += static_cast<size_t>(n);
  }
  char chunk[65536];
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = Receive(chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Timeout();
    if (n <= 0) return absl::UnavailableError("connection closed");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  const std::string headers = buffer_.substr(0, header_end);
  if (headers.size() < 12) return absl::InternalError("short status line");
  const int status = std::atoi(headers.c_str() + 9);
  size_t length = 0;
  for (const char* name : {"Content-Length: ", "content-length: "}) {
    size_t at = headers.find(name);
    if (at != std::string::npos) length = std::strtoull(headers.c_str() + at + std::strlen(name), nullptr, 10);
  }
  const size_t total = header_end + 4 + length;
  while (buffer_.size() < total) {
    ssize_t n = Receive(chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Timeout();
    if (n <= 0) return absl::UnavailableError("connection closed mid-body");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  body->assign(buffer_, header_end + 4, length);
  buffer_.erase(0, total);
  return status;
}

namespace {

// Sends all of data, or reads exactly data.size() bytes; false on error or EOF.
bool SendAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}
bool ReceiveAll(int fd, std::string& data, bool poll = false) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::recv(fd, data.data() + done, data.size() - done, poll ? MSG_DONTWAIT : 0);
    if (n < 0 && poll && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

StatusOr<std::vector<double>> LoopbackRoundTrips(size_t request_bytes, size_t reply_bytes, size_t count,
                                                 std::chrono::nanoseconds work, bool responder_polls) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener >= 0) ::close(listener);
    return absl::UnavailableError("loopback round trips: cannot listen");
  }
  const int one = 1;
  std::thread responder([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::string request(request_bytes, '\0'), reply(reply_bytes, 'r');
    while (ReceiveAll(fd, request, responder_polls)) {
      const auto received = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() - received < work) {
      }
      if (!SendAll(fd, reply)) break;
    }
    ::close(fd);
  });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<double> seconds;
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (connected) {
    std::string request(request_bytes, 'q'), reply(reply_bytes, '\0');
    for (size_t i = 0; i < count; ++i) {
      const auto start = std::chrono::steady_clock::now();
      if (!SendAll(fd, request) || !ReceiveAll(fd, reply)) break;
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start - work).count());
    }
  }
  ::shutdown(fd, SHUT_RDWR);  // ends the responder's read loop
  ::close(fd);
  if (!connected) ::shutdown(listener, SHUT_RDWR);  // ends its accept
  responder.join();
  ::close(listener);
  if (seconds.size() != count) return absl::UnavailableError("loopback round trips: the connection failed");
  return seconds;
}

}  // namespace vj::bench
