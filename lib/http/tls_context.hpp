// The listener's TLS context built from its files: certificate chain and key (checked to
// match), protocol range, and client certificate verification when asked for. Used by
// HttpServer and by check_tls_files (the web config check); apart from the server loop, so that
// a check needs neither Beast nor coroutines.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "http/server.hpp"  // TlsFiles

namespace flowdrift::http {

// Throws std::runtime_error naming the file and the reason, prefixed by `where` if given.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& tls,
                                                            const std::string& where);

}  // namespace flowdrift::http
