// The HTTP connections: a thread each, one request at a time, with whole-request deadlines.
#include "http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lat::serve {

namespace {

using Clock = std::chrono::steady_clock;

thread_local int t_socket = -1;
thread_local Clock::time_point t_start;
thread_local bool t_close = false;

// Waits until `fd` is ready for `events` or `until` passes; true when ready (or failed: the read
// or write that follows then says so).
bool wait_for(int fd, short events, Clock::time_point until) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left < 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (r != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// One connection as cpp-httplib reads and writes it; reads stop at the request's deadline.
class Connection final : public httplib::Stream {
 public:
  Connection(int fd, const ConnectionLimits& limits) : fd_(fd), limits_(limits), buffer_(16384) {}

  // Waits for the next request's first byte; false when the connection is idle too long, closed,
  // or the server stops.
  bool next_request(const std::atomic<socket_t>& server) {
    if (begin_ < end_) return true;
    const auto until = Clock::now() + std::chrono::seconds(limits_.idle_seconds);
    while (server != INVALID_SOCKET) {
      const auto slice = std::min(until, Clock::now() + std::chrono::milliseconds(100));
      pollfd p{fd_, POLLIN, 0};
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(slice - Clock::now()).count();
      const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(ms, 0)));
      if (r > 0) return (p.revents & POLLIN) != 0;
      if (r < 0 && errno != EINTR) return false;
      if (Clock::now() >= until) return false;
    }
    return false;
  }
  void start_request(Clock::time_point deadline) { deadline_ = deadline; }

  bool is_readable() const override { return begin_ < end_ || wait_for(fd_, POLLIN, deadline_); }
  bool is_writable() const override {
    return wait_for(fd_, POLLOUT, Clock::now() + std::chrono::seconds(limits_.write_seconds));
  }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!wait_for(fd_, POLLIN, deadline_)) return -1;
      // Large reads (a body) go straight to the caller.
      if (size >= buffer_.size()) return receive(ptr, size);
      const ssize_t n = receive(buffer_.data(), buffer_.size());
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    for (;;) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t receive(char* ptr, size_t size) {
    for (;;) {
      const ssize_t n = ::recv(fd_, ptr, size, 0);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  int fd_;
  const ConnectionLimits& limits_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  Clock::time_point deadline_ = Clock::now();
};

// How many nice steps connection threads run above the batcher and the encoder's threads: one
// that wakes in the middle of a batch would otherwise take a core from an encoder thread, and
// every thread of the team then waits for it at the next barrier.
constexpr int kNice = 5;

// Connection threads, started as connections come, up to a limit, and kept for the next ones,
// at a nice kNice above the process's.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t limit) : limit_(limit) {}

  void enqueue(std::function<void()> fn) override {
    {
      const std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > idle_ && threads_.size() < limit_) {
        threads_.emplace_back([this] { work(); });
      }
    }
    ready_.notify_one();
  }

  void shutdown() override {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void work() {
    const auto self = static_cast<id_t>(gettid());
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, self);
    if (errno == 0) setpriority(PRIO_PROCESS, self, nice + kNice);
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        ++idle_;
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace

HttpServer::HttpServer(ConnectionLimits limits) : limits_(limits) {
  // What the Keep-Alive header tells clients; the loop below enforces it.
  set_keep_alive_timeout(limits_.idle_seconds);
  set_keep_alive_max_count(1000000);
  new_task_queue = [this] { return new ConnectionThreads(limits_.threads); };
}

int HttpServer::bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = bind_to_any_port(host);
  } else if (!bind_to_port(host, port)) {
    bound = -1;
  }
  // The library listens with a queue of 5: a burst of new connections would wait for SYN retries.
  if (bound > 0) ::listen(svr_sock_, SOMAXCONN);
  return bound;
}

int HttpServer::current_socket() { return t_socket; }
std::chrono::steady_clock::time_point HttpServer::request_start() { return t_start; }
void HttpServer::close_after_response() { t_close = true; }

bool HttpServer::process_and_close_socket(socket_t sock) {
  const int on = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // headers and body go apart
  Connection connection(sock, limits_);
  t_socket = sock;
  bool ok = true;
  while (connection.next_request(svr_sock_)) {
    t_start = Clock::now();
    t_close = false;
    connection.start_request(t_start + std::chrono::seconds(limits_.read_seconds));
    bool closed = false;
    ok = process_request(connection, svr_sock_ == INVALID_SOCKET, closed, nullptr);
    if (!ok || closed || t_close || svr_sock_ == INVALID_SOCKET) break;
  }
  t_socket = -1;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool client_gone(int socket) {
  if (socket < 0) return false;
  pollfd p{socket, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace lat::serve
