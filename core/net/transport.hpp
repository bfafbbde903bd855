// core/net/transport.hpp — a byte stream to a server: TCP, a Unix socket, or TLS over TCP. Every
// connection of the program goes through one (the replica link and the request/reply client).
//
// Asynchronous, on the caller's io_context; completion handlers run inside it. The TLS and
// socket types stay in transport.cpp: this header needs neither asio nor OpenSSL. A transport
// outlives its pending operations (each holds it), so it may be dropped at any time.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "core/net/endpoint.hpp"

namespace asio {
class io_context;
}

namespace redis_repl::core::net {

// Why a connection could not be had. A TLS failure (a handshake refused, a certificate that does
// not verify) is told apart: it has its own exit code.
struct ConnectError {
  enum class Kind : std::uint8_t { none, connect, tls };
  Kind kind = Kind::none;
  // connect: why, without the endpoint ("connection refused"); tls: the whole line, endpoint
  // included ("TLS: certificate verify failed for 127.0.0.1:6380: certificate has expired").
  std::string message;
  explicit operator bool() const { return kind != Kind::none; }
  // One line for the user, naming the endpoint once.
  std::string describe(const Endpoint& endpoint) const {
    return kind == Kind::tls ? message : endpoint.name() + ": " + message;
  }
};

class Transport {
 public:
  using IoHandler = std::function<void(const std::error_code&, std::size_t)>;
  virtual ~Transport() = default;

  // Resolves, connects and, for TLS, completes the handshake, all within timeout. done is
  // called once.
  virtual void async_connect(std::chrono::milliseconds timeout,
                             std::function<void(const ConnectError&)> done) = 0;
  virtual void async_read_some(char* data, std::size_t size, IoHandler done) = 0;
  // Writes all of it, or fails.
  virtual void async_write(const char* data, std::size_t size, IoHandler done) = 0;
  // What can be read at once without waiting (a plain socket's queued bytes); 0 when nothing
  // is, or when that cannot be known (TLS).
  virtual std::size_t read_ready(char* data, std::size_t size) = 0;
  // Pending operations complete with operation_aborted; the connection stays.
  virtual void cancel() = 0;
  // Ends the connection; pending operations complete with operation_aborted.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  // For an error of a read or write: empty when it is the connection's (a reset, the end of the
  // stream); else the TLS layer's, as one line naming the endpoint ("TLS: 127.0.0.1:6380 ended
  // the session: tlsv13 alert certificate required").
  virtual std::string tls_failure(const std::error_code&) const { return {}; }
};

std::shared_ptr<Transport> make_transport(asio::io_context& io, const Endpoint& endpoint);

}  // namespace redis_repl::core::net
