// The one prelude through which the project includes Boost.Asio. Boost 1.74's awaitable.hpp
// uses std::exchange without including <utility> (chriskohlhoff/asio#944), and with clang +
// libstdc++ Asio does not detect coroutine support by itself.
#pragma once

#include <utility>

#if defined(__clang__)
#ifndef BOOST_ASIO_HAS_CO_AWAIT
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#ifndef BOOST_ASIO_HAS_STD_COROUTINE
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace flowdrift {
namespace asio = boost::asio;
template <class T>
using awaitable = boost::asio::awaitable<T>;
}  // namespace flowdrift
