#include "token_cache.h"

#include <algorithm>
#include <cstring>

#include <cjson/cJSON.h>

namespace restauth {

namespace {

// What malloc adds to each block (glibc: 8 to 16 bytes of header and
// rounding); an upper estimate.
constexpr size_t kMallocOverhead = 32;

size_t block(size_t n)
{
    return n + kMallocOverhead;
}

size_t json_cost(const cJSON *node)
{
    size_t cost = 0;
    for (; node != nullptr; node = node->next) {
        cost += block(sizeof(cJSON));
        if (node->string != nullptr) cost += block(std::strlen(node->string) + 1);
        if (node->valuestring != nullptr) cost += block(std::strlen(node->valuestring) + 1);
        cost += json_cost(node->child);
    }
    return cost;
}

uint64_t load64(const char *p)
{
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// Equal bytes, without stopping at the first difference: a cached token is
// a credential, and how long a comparison took must not tell how much of
// one a probe got right.  Callers compare the lengths first.
bool same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        diff |= (load64(a + i) ^ load64(b + i)) | (load64(a + i + 8) ^ load64(b + i + 8)) |
                (load64(a + i + 16) ^ load64(b + i + 16)) | (load64(a + i + 24) ^ load64(b + i + 24));
    }
    for (; i + 8 <= n; i += 8) diff |= load64(a + i) ^ load64(b + i);
    for (; i < n; i++) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

size_t verified_jwt_cost(const VerifiedJwt &jwt) noexcept
{
    size_t memo = VerifiedJwt::kMaxClaimMemos *
                  (sizeof(VerifiedJwt::ClaimMemo) + block(VerifiedJwt::kMaxClaimMemoPath + 1) +
                   block(VerifiedJwt::kMaxClaimMemoText + 1));
    // The deque's map and first block, the shared_ptr control block, the
    // list node and its bucket slot.
    size_t fixed = block(sizeof(VerifiedJwt) + 64) + block(512) + block(64) + block(64) + 64;
    return fixed + block(jwt.token.size() + 1) + json_cost(jwt.claims.get()) + memo;
}

TokenCache::TokenCache(size_t max_entries, size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes)
{
    // About two buckets per entry, a power of two.
    size_t n = 16;
    while (n < 2 * max_entries && n < (size_t{1} << 20)) n *= 2;
    buckets_.resize(n);
}

bool TokenCache::owned_by_this_thread() noexcept
{
    const std::thread::id me = std::this_thread::get_id();
    std::thread::id owner = owner_.load(std::memory_order_relaxed);
    if (owner == me) return true;
    if (owner != std::thread::id()) return false;
    return owner_.compare_exchange_strong(owner, me) || owner == me;
}

// The bucket only spreads the entries: valid tokens end in their
// signature, so the last 16 bytes are as good as random.  Tokens that
// share them (a forged copy of a cached one, say) share a bucket and are
// told apart by the full comparison.
uint64_t TokenCache::hash_of(std::string_view token) noexcept
{
    uint64_t a = 0, b = 0;
    const size_t n = token.size();
    if (n >= 16) {
        a = load64(token.data() + n - 16);
        b = load64(token.data() + n - 8);
    } else {
        char tail[16] = {0};
        if (n > 0) std::memcpy(tail, token.data(), n);
        a = load64(tail);
        b = load64(tail + 8);
    }
    uint64_t h = (a ^ (n * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    h ^= (b + (h >> 29)) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

TokenCache::List::iterator TokenCache::lookup(std::string_view token, uint64_t hash) noexcept
{
    for (List::iterator it : bucket(hash)) {
        const std::string &t = it->entry->token;
        if (it->hash == hash && t.size() == token.size() && same_bytes(t.data(), token.data(), t.size())) {
            return it;
        }
    }
    return lru_.end();
}

std::shared_ptr<const VerifiedJwt> TokenCache::find(std::string_view token) noexcept
{
    if (token.size() > kMaxTokenBytes || lru_.empty()) return nullptr;
    List::iterator it = lookup(token, hash_of(token));
    if (it == lru_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
    return it->entry;
}

void TokenCache::erase(List::iterator it) noexcept
{
    auto &b = bucket(it->hash);
    auto pos = std::find(b.begin(), b.end(), it);
    if (pos != b.end()) {
        *pos = b.back();
        b.pop_back();
    }
    bytes_ -= it->entry->cost;
    lru_.erase(it);
}

void TokenCache::insert(std::shared_ptr<const VerifiedJwt> entry)
{
    if (!entry || entry->token.size() > kMaxTokenBytes || entry->cost > max_bytes_ || max_entries_ == 0) {
        return;
    }
    const uint64_t hash = hash_of(entry->token);
    List::iterator old = lookup(entry->token, hash);
    if (old != lru_.end()) erase(old);

    auto &b = bucket(hash);
    b.reserve(b.size() + 1);  // the only allocation that may fail after the node
    lru_.push_front(Node{hash, std::move(entry)});
    b.push_back(lru_.begin());
    bytes_ += lru_.front().entry->cost;
    while (lru_.size() > max_entries_ || bytes_ > max_bytes_) erase(std::prev(lru_.end()));
}

void TokenCache::clear() noexcept
{
    for (auto &b : buckets_) b.clear();
    lru_.clear();
    bytes_ = 0;
}

}  // namespace restauth
