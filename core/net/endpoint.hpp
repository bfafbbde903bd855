// core/net/endpoint.hpp — where a server is and how to reach it: TCP (host, port), a Unix socket,
// and TLS on top of TCP. Plain data: no asio here.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace redis_repl::core::net {

// The flags of redis-cli. Verification is on unless insecure: the chain always, and the name (sni
// when given, else the host; an IP address against the certificate's IP SANs) unless
// verify_name is false.
struct TlsOptions {
  bool enabled = false;
  std::string cacert;        // a PEM bundle of trusted CAs; with cacertdir empty too: the system's
  std::string cacertdir;     // a directory of hashed CA certificates (c_rehash)
  std::string cert;          // a client certificate (PEM), for tls-auth-clients
  std::string key;           // its private key (PEM)
  std::string sni;           // the server name to send and to verify; empty: the host
  std::string ciphers;       // TLS 1.2 and below (OpenSSL cipher list)
  std::string ciphersuites;  // TLS 1.3
  bool insecure = false;     // verify nothing
  bool verify_name = true;   // false: the chain only, as redis-cli does
};

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string unix_path;  // when set: a Unix socket, host and port unused
  TlsOptions tls;
  // For messages: "host:port", or the socket's path.
  std::string name() const {
    return unix_path.empty() ? host + ":" + std::to_string(port) : unix_path;
  }
};

// A server and what a connection to it needs: the same for every link and client.
struct Server {
  Endpoint endpoint;
  std::string user;                          // ACL user; empty: AUTH <password> alone
  std::string password;                      // empty: no AUTH
  std::chrono::milliseconds timeout{60000};  // connect, each step, and a silent link
};

}  // namespace redis_repl::core::net
