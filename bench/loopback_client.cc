#include "bench/loopback_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
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
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Timeout();
    if (n <= 0) return absl::UnavailableError("connection closed mid-body");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  body->assign(buffer_, header_end + 4, length);
  buffer_.erase(0, total);
  return status;
}

}  // namespace vj::bench
