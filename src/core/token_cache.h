// Verified JWTs, remembered per process so that a token presented again is
// not verified again: the cache behind KeySet::verify_cached, which
// restauth_protect uses.
//
// An entry is only ever made from a token whose signature and payload held
// (KeySet::verify_cached), and is found again only by the whole token,
// byte for byte: the hash merely picks the bucket.  Nothing in an entry
// depends on the time or on a location's settings, so exp and nbf are
// checked again on every hit with that request's clock and leeway.
//
// Bounded: at most max_entries entries and max_bytes bytes (an upper
// estimate of what the entries hold), least recently used out first;
// tokens longer than kMaxTokenBytes are never kept.  It belongs to its
// KeySet, which a reload builds anew, so a reload starts empty.
//
// Not thread-safe: a cache serves one thread (the first that asks; in
// nginx a worker's event loop), and KeySet::verify_cached bypasses it on
// any other thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json_ptr.h"

namespace restauth {

// exp and nbf of a payload; when present they are finite numbers.
struct TimeClaims {
    bool has_exp = false;
    bool has_nbf = false;
    double exp = 0;
    double nbf = 0;
};

// A token whose signature and payload held, and its claims.
struct VerifiedJwt {
    std::string token;  // the compact token, as presented
    JsonPtr claims;     // the payload object
    TimeClaims time;
    size_t cost = 0;    // bytes charged to a cache

    // Memos for restauth_protect (protect.cpp), filled on first use.  Only
    // the thread that owns the cache (or, for an entry no cache holds, the
    // one request that verified it) ever reads or writes them.
    struct ClaimMemo {
        std::string path;
        bool found = false;
        std::string text;
    };
    static constexpr size_t kMaxClaimMemos = 8;       // paths per token
    static constexpr size_t kMaxClaimMemoPath = 64;   // longer paths are not kept
    static constexpr size_t kMaxClaimMemoText = 256;  // nor longer texts
    mutable std::deque<ClaimMemo> claim_memo;         // stable addresses

    struct PolicyMemo {
        bool set = false;
        std::string issuer, audience, type;  // the inputs of the verdict
        int verdict = 0;
        std::string why;  // the reason of a refusal
    };
    mutable PolicyMemo policy_memo;
};

// Bytes an entry is charged: the token, the claims tree as cJSON allocates
// it, and room for the memos.
size_t verified_jwt_cost(const VerifiedJwt &jwt) noexcept;

class TokenCache {
public:
    static constexpr size_t kMaxEntries = 1024;
    static constexpr size_t kMaxBytes = 8u << 20;
    static constexpr size_t kMaxTokenBytes = 4096;

    explicit TokenCache(size_t max_entries = kMaxEntries, size_t max_bytes = kMaxBytes);
    TokenCache(const TokenCache &) = delete;
    TokenCache &operator=(const TokenCache &) = delete;

    // True on the thread that owns the cache: the first thread that asked.
    bool owned_by_this_thread() noexcept;

    // The entry for exactly these bytes, or null.  A hit becomes the most
    // recently used entry.
    std::shared_ptr<const VerifiedJwt> find(std::string_view token) noexcept;

    // Keeps entry (replacing an entry for the same token), then drops least
    // recently used entries until both bounds hold again.  An entry that
    // alone breaks a bound is not kept.  Throws only std::bad_alloc.
    void insert(std::shared_ptr<const VerifiedJwt> entry);

    void clear() noexcept;
    size_t size() const noexcept { return lru_.size(); }
    size_t bytes() const noexcept { return bytes_; }

private:
    struct Node {
        uint64_t hash;
        std::shared_ptr<const VerifiedJwt> entry;
    };
    using List = std::list<Node>;

    static uint64_t hash_of(std::string_view token) noexcept;
    std::vector<List::iterator> &bucket(uint64_t hash) { return buckets_[hash & (buckets_.size() - 1)]; }
    List::iterator lookup(std::string_view token, uint64_t hash) noexcept;
    void erase(List::iterator it) noexcept;

    size_t max_entries_;
    size_t max_bytes_;
    size_t bytes_ = 0;
    List lru_;  // most recently used first
    std::vector<std::vector<List::iterator>> buckets_;
    std::atomic<std::thread::id> owner_{};
};

}  // namespace restauth
