#include "core/net/transport.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <asio.hpp>
#include <asio/ssl.hpp>

namespace redis_repl::core::net {
namespace {

using asio::ip::tcp;
using Done = std::function<void(const ConnectError&)>;

ConnectError connect_error(std::string why) {
  return ConnectError{ConnectError::Kind::connect, std::move(why)};
}

// What every kind of stream shares: reads, writes, and a connect bounded by a timer that closes
// the socket when it runs out. Every handler holds the transport, so it outlives its operations.
template <class Stream>
class StreamTransport : public Transport,
                        public std::enable_shared_from_this<StreamTransport<Stream>> {
 public:
  template <class... Args>
  StreamTransport(asio::io_context& io, const Endpoint& endpoint, Args&&... args)
      : io_(io), endpoint_(endpoint), stream_(io, std::forward<Args>(args)...), timer_(io) {}

  void async_read_some(char* data, std::size_t size, IoHandler done) override {
    stream_.async_read_some(asio::buffer(data, size),
                            [self = this->shared_from_this(), done = std::move(done)](
                                const std::error_code& ec, std::size_t n) { done(ec, n); });
  }
  void async_write(const char* data, std::size_t size, IoHandler done) override {
    asio::async_write(stream_, asio::buffer(data, size),
                      [self = this->shared_from_this(), done = std::move(done)](
                          const std::error_code& ec, std::size_t n) { done(ec, n); });
  }
  std::size_t read_ready(char* data, std::size_t size) override {
    std::error_code ec;
    if (socket().available(ec) == 0 || ec) return 0;
    const std::size_t n = stream_.read_some(asio::buffer(data, size), ec);
    return ec ? 0 : n;  // an error: the next asynchronous read meets it again
  }
  void cancel() override {
    std::error_code ignored;
    socket().cancel(ignored);
  }
  void close() override {
    std::error_code ignored;
    timer_.cancel();
    if (!socket().is_open()) return;
    socket().shutdown(asio::socket_base::shutdown_both, ignored);
    socket().close(ignored);
  }
  bool is_open() const override { return stream_.lowest_layer().is_open(); }

 protected:
  auto& socket() { return stream_.lowest_layer(); }

  // The connect and everything after it must be over by timeout: the timer closes the socket.
  void arm(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = this->shared_from_this()](const std::error_code& ec) {
      if (ec || self->settled_) return;
      self->timed_out_ = true;
      std::error_code ignored;
      self->socket().close(ignored);
    });
  }
  void settle(const Done& done, const ConnectError& result) {
    settled_ = true;
    timer_.cancel();
    done(result);
  }

  void connect_tcp(Done then) {
    std::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
    if (ec) {
      asio::post(io_, [self = this->shared_from_this(), then = std::move(then),
                       why = "cannot resolve " + endpoint_.host + ": " + ec.message()] {
        self->settle(then, connect_error(why));
      });
      return;
    }
    asio::async_connect(socket(), endpoints,
                        [self = this->shared_from_this(), then = std::move(then)](
                            const std::error_code& e, const tcp::endpoint&) {
                          if (self->timed_out_)
                            return self->settle(then, connect_error("timed out connecting"));
                          if (e) return self->settle(then, connect_error(e.message()));
                          std::error_code ignored;
                          self->socket().set_option(tcp::no_delay(true), ignored);
                          then(ConnectError{});
                        });
  }

  asio::io_context& io_;
  Endpoint endpoint_;
  Stream stream_;
  asio::steady_timer timer_;
  bool timed_out_ = false;
  bool settled_ = false;
};

class TcpTransport final : public StreamTransport<tcp::socket> {
 public:
  using StreamTransport::StreamTransport;
  void async_connect(std::chrono::milliseconds timeout, Done done) override {
    arm(timeout);
    connect_tcp([this, done = std::move(done)](const ConnectError& e) { settle(done, e); });
  }
};

class UnixTransport final : public StreamTransport<asio::local::stream_protocol::socket> {
 public:
  using StreamTransport::StreamTransport;
  void async_connect(std::chrono::milliseconds timeout, Done done) override {
    arm(timeout);
    stream_.async_connect(
        asio::local::stream_protocol::endpoint(endpoint_.unix_path),
        [self = shared_from_this(), this, done = std::move(done)](const std::error_code& e) {
          if (timed_out_) return settle(done, connect_error("timed out connecting"));
          settle(done, e ? connect_error(e.message()) : ConnectError{});
        });
  }
};

bool is_ip_address(const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The context comes first, configured: an SSL object copies the context's certificate, key and
// ciphers when it is made, so the stream is built on a context that already has them.
struct TlsContext {
  explicit TlsContext(const TlsOptions& o) : context(asio::ssl::context::tls_client) {
    context_error = configure(o);
  }
  asio::ssl::context context;
  std::string context_error;  // empty, or why the context could not be set up

 private:
  std::string configure(const TlsOptions& o) {
    std::error_code ec;
    auto failed = [&ec](auto step) {
      step();
      return static_cast<bool>(ec);
    };
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3,
                        ec);
    if (!o.cacert.empty() && failed([&] { context.load_verify_file(o.cacert, ec); }))
      return "cannot load the CA certificates in '" + o.cacert + "': " + ec.message();
    if (!o.cacertdir.empty() && failed([&] { context.add_verify_path(o.cacertdir, ec); }))
      return "cannot use the CA directory '" + o.cacertdir + "': " + ec.message();
    if (o.cacert.empty() && o.cacertdir.empty() &&
        failed([&] { context.set_default_verify_paths(ec); }))
      return "cannot load the system's CA certificates: " + ec.message();
    if (!o.cert.empty() && failed([&] { context.use_certificate_chain_file(o.cert, ec); }))
      return "cannot load the certificate '" + o.cert + "': " + ec.message();
    if (!o.key.empty() &&
        failed([&] { context.use_private_key_file(o.key, asio::ssl::context::pem, ec); }))
      return "cannot load the private key '" + o.key + "': " + ec.message();
    SSL_CTX* native = context.native_handle();
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(native, o.ciphers.c_str()) != 1)
      return "--tls-ciphers: no cipher in '" + o.ciphers + "' can be used";
    if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(native, o.ciphersuites.c_str()) != 1)
      return "--tls-ciphersuites: no cipher suite in '" + o.ciphersuites + "' can be used";
    return {};
  }
};

class TlsTransport final : private TlsContext,
                           public StreamTransport<asio::ssl::stream<tcp::socket>> {
 public:
  TlsTransport(asio::io_context& io, const Endpoint& endpoint)
      : TlsContext(endpoint.tls), StreamTransport(io, endpoint, TlsContext::context) {}

  void async_connect(std::chrono::milliseconds timeout, Done done) override {
    arm(timeout);
    std::string why = context_error.empty() ? configure() : context_error;
    if (!why.empty()) {
      asio::post(io_, [self = shared_from_this(), this, done = std::move(done), why] {
        settle(done, tls_error(why));
      });
      return;
    }
    connect_tcp([this, done = std::move(done)](const ConnectError& e) {
      if (e) return settle(done, e);
      stream_.async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(), this,
                                                               done](const std::error_code& ec) {
        if (timed_out_)
          return settle(done, connect_error("timed out in the TLS handshake (does the server "
                                            "speak TLS on this port?)"));
        settle(done, ec ? handshake_error(ec) : ConnectError{});
      });
    });
  }

  std::string tls_failure(const std::error_code& ec) const override {
    if (ec.category() != asio::error::get_ssl_category()) return {};
    // An alert after the handshake: TLS 1.3 servers refuse a client certificate (or the lack of
    // one) only then.
    std::string why = ec.message();
    if (why.find("certificate required") != std::string::npos)
      why += " (the server wants a client certificate: --cert and --key)";
    return "TLS: " + endpoint_.name() + " ended the session: " + why;
  }

  std::size_t read_ready(char* data, std::size_t size) override {
    // Only what OpenSSL has already decrypted can be read without waiting.
    if (SSL_pending(stream_.native_handle()) <= 0) return 0;
    std::error_code ec;
    const std::size_t n = stream_.read_some(asio::buffer(data, size), ec);
    return ec ? 0 : n;
  }

 private:
  ConnectError tls_error(const std::string& why) const {
    return ConnectError{ConnectError::Kind::tls, "TLS: " + why};
  }

  ConnectError handshake_error(const std::error_code& ec) {
    const long verify = SSL_get_verify_result(stream_.native_handle());
    if (verify != X509_V_OK && !endpoint_.tls.insecure)
      return tls_error("certificate verify failed for " + endpoint_.name() + ": " +
                       X509_verify_cert_error_string(verify));
    return tls_error("handshake with " + endpoint_.name() + " failed: " + ec.message() +
                     " (does the server speak TLS on this port?)");
  }

  // What this connection sends and verifies: the server name, the verification mode and the
  // name to check. Empty, or what went wrong.
  std::string configure() {
    const TlsOptions& o = endpoint_.tls;
    std::error_code ec;
    SSL* ssl = stream_.native_handle();
    const std::string& name = o.sni.empty() ? endpoint_.host : o.sni;
    const bool ip = is_ip_address(name);
    // Server Name Indication carries host names only, never an address (RFC 6066).
    if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
      return "cannot send the server name '" + name + "'";
    if (o.insecure) {
      stream_.set_verify_mode(asio::ssl::verify_none, ec);
      return {};
    }
    stream_.set_verify_mode(asio::ssl::verify_peer, ec);
    if (!o.verify_name) return {};
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    if (set != 1) return "cannot verify against the name '" + name + "'";
    return {};
  }
};

}  // namespace

std::shared_ptr<Transport> make_transport(asio::io_context& io, const Endpoint& endpoint) {
  if (!endpoint.unix_path.empty()) return std::make_shared<UnixTransport>(io, endpoint);
  if (endpoint.tls.enabled) return std::make_shared<TlsTransport>(io, endpoint);
  return std::make_shared<TcpTransport>(io, endpoint);
}

}  // namespace redis_repl::core::net
