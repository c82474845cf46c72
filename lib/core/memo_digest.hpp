// What a memo keys whole pages and listings by (a site's page memo): whether bytes equal bytes
// this process read before, told without keeping them.
//
// A Poly1305 tag (RFC 8439) under one key drawn from the system's random source when the process
// first needs it. Poly1305 under a key the sender of the bytes never learns is a universal hash:
// two different inputs of up to L bytes, chosen without knowledge of the key, collide with
// probability at most 8 * ceil(L / 16) / 2^106 (below 2^-80 for a 54 MB page). So a Prism Central
// cannot make a changed page pass for the page it sent before, and the tag of a page costs a
// fifth of its SHA-256 (docs/performance.md, "Page digests"). The tags mean nothing to another
// process: they are never stored, shown or compared across processes.
//
// Not for one policy's text: OpenSSL computes Poly1305 of a few kilobytes with AVX-512, and
// calling it once a policy between canonicalizations on the work pool slowed those down more than
// it saved (a full v4 cycle took 0.4 s more CPU). Policies keep SHA-256 keys (SHA-NI), and
// content addressing of canonical text (the store, the audit trail) stays SHA-256
// (core/sha256.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace flowdrift {

using MemoKey = std::array<unsigned char, 16>;

// The tag of `bytes` under the process's key. Throws std::runtime_error when OpenSSL fails (no
// random source, no Poly1305 in the loaded provider).
MemoKey memo_key(std::string_view bytes);

// The same tag as 32 lowercase hex digits: for digests kept as strings (pages, listings).
std::string memo_digest(std::string_view bytes);

namespace detail {
// Poly1305 of `bytes` under `key` (r then s, as RFC 8439 writes them), for the tests.
MemoKey poly1305(const std::array<unsigned char, 32>& key, std::string_view bytes);
}  // namespace detail

}  // namespace flowdrift
