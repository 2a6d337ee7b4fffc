// RAII owners for OpenSSL objects, so no early return can leak one.
#pragma once

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace restauth {

namespace ossl_detail {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T *p) const noexcept
    {
        Free(p);
    }
};

}  // namespace ossl_detail

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, ossl_detail::Deleter<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, ossl_detail::Deleter<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, ossl_detail::Deleter<&EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, ossl_detail::Deleter<&BIO_free_all>>;
// For public values only (moduli, coordinates, signature halves); a secret
// bignum would want BN_clear_free.
using BignumPtr = std::unique_ptr<BIGNUM, ossl_detail::Deleter<&BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, ossl_detail::Deleter<&ECDSA_SIG_free>>;

// Drops the OpenSSL errors raised while it is alive and keeps older ones.
//
// The error queue is per thread and shared with nginx's own TLS code, which
// reads it after SSL_* calls; a failure we expected and handled (say, a bad
// signature) must not linger there and be blamed on an unrelated connection.
class OsslErrorScope {
public:
    OsslErrorScope() noexcept { ERR_set_mark(); }
    ~OsslErrorScope() { ERR_pop_to_mark(); }
    OsslErrorScope(const OsslErrorScope &) = delete;
    OsslErrorScope &operator=(const OsslErrorScope &) = delete;
};

}  // namespace restauth
