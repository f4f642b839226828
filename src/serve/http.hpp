#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace lat::serve {

struct ConnectionLimits {
  int read_seconds = 10;      // for a whole request, line to body, once its first byte came
  int idle_seconds = 5;       // a kept-alive connection waits this long for its next request
  int write_seconds = 10;     // for each write of an answer
  std::size_t threads = 640;  // connections served at once; more wait to be accepted
};

// cpp-httplib's server (Debian's 0.11) with lat-serve's own connection loop. The library's reads
// time out per read, so a client trickling a byte at a time would hold its thread for ever, and
// its handlers cannot see their connection; here each request must arrive whole within
// read_seconds, idle connections close after idle_seconds (at once when the server stops), and the
// handler learns its socket, so that a request whose client left can be dropped.
class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(ConnectionLimits limits);

  // Binds to host:port (0: a free port) with a listen queue as long as the system allows;
  // returns the port, or -1.
  int bind(const std::string& host, int port);

  // For the handler of a request, on its connection's thread:
  static int current_socket();                                   // the connection's socket
  static std::chrono::steady_clock::time_point request_start();  // its first byte's arrival
  static void close_after_response();  // its body was not read: the connection cannot go on

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionLimits limits_;
};

// Whether the client on `socket` has closed its side or the connection failed (never blocks).
bool client_gone(int socket);

}  // namespace lat::serve
