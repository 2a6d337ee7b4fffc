// Fixed test keys for the JWT fuzzer and its seed generator.  Generated once
// with `openssl genpkey`; they protect nothing and must never be used
// outside fuzz/.  Embedded (rather than generated at start-up) so that the
// seed tokens in fuzz/corpus/fuzz_jwt/ keep verifying across runs.
#pragma once

namespace fuzzkeys {

// HS256 secrets (at least 32 bytes).
inline constexpr const char kHsSecret[] = "fuzz-hs256-secret-0123456789abcdef";
inline constexpr const char kHsSecret2[] = "fuzz-hs256-second-secret-with-a-kid-42";

// ES256 (P-256), kid "ec-1".
inline constexpr const char kEcPrivate[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgW0QoL3qt9YVWGqbY\n"
    "FrIQanUyGteDZo65jQBr7Ywti+ahRANCAASPopkUJ+vXtb9soDWd/uzh4MP9/0+e\n"
    "pJi6aWD4M0elawoMUK2leezFGlGkNZ/yPv+uK2HuSfyFt03k9tQgIB2i\n"
    "-----END PRIVATE KEY-----\n";

// A second ES256 key: the verifier holds only its public half (no kid);
// the generator signs with the private half.
inline constexpr const char kEc2Private[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgio9s6MzDuDl+ZUkb\n"
    "QQUP1kbw7wUXm56A5Ym819dGxcKhRANCAATtrZjEKyIZ/IBqvVC7hXiPqZNHNYnC\n"
    "mqj0iiwcfgUy37Er81EQKCaziD+5t3Ty0QH3m6saTwWC49CLxXk4z/8c\n"
    "-----END PRIVATE KEY-----\n";

inline constexpr const char kEc2Public[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7a2YxCsiGfyAar1Qu4V4j6mTRzWJ\n"
    "wpqo9IosHH4FMt+xK/NRECgms4g/ubd08tEB95urGk8FguPQi8V5OM//HA==\n"
    "-----END PUBLIC KEY-----\n";

// EdDSA (Ed25519), kid "ed-1".
inline constexpr const char kEdPrivate[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIKgNwm2hIaFaQma9l4ZQNJgY2yOxWtZQnAlOZeGd+M8k\n"
    "-----END PRIVATE KEY-----\n";

// RS256 (2048 bits), kid "rs-1".
inline constexpr const char kRsaPrivate[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDHyT0ZSMd5ybwq\n"
    "xTV8feDMII1eLdeLuynJR8ox1KE+Vlrh8KPNjw7vyesmKLMGkT3tCK+307GXgazh\n"
    "NYgjWmuqwnOw5Z4Rfr+zvqXgra6COTMDdwENB8Mvhg5/D2dYep3ipLRhfOhbbESo\n"
    "fyCCH8mfdZosrgFI8nmeiXSbNhiv2uzffqVuP8A45Ypn3YNPtpVBJI7/pZbMWEI4\n"
    "+Izc20QIAbPzyWAPIq9KsJUtnReGB347F1oZ4u9RWsbPJlQUKuoLCfs5/HKn2S0b\n"
    "GYshq0Wo3eTbbbB1hBs0Kbq6wCh/IBg2AN4m+6mutx9gIDA8/gfSkzr6xt/d147c\n"
    "I88gEgL7AgMBAAECggEAYN+hcrspjlJVnV+WudDHyfMW2U3dMHIGpwTadCMoNHPn\n"
    "CZuHscrmcTs1fIFLnambn24Q1lAd0tscGu+8HXhgsKItOt98L/uHtP6CrFlLPvXB\n"
    "WLLBnbHf4RFdwhqUAAEkwZsfpA3PFVWATTunZbFIMLvzkCqnkNmSQ19fXUtz2QCx\n"
    "DPL2SjhodrQ3jkse/nLL4cvYjLu/P/OS9TaUH0dHh8ihxSUG0rrhYhvHeBwfCQCh\n"
    "Q0DI/Kdgdgfqz/aFGOEPSoMCMNZMUoToKtuE3hdR1VBEwNX7u5juxq0C2FNTeQii\n"
    "P2M1t9UKLsNj8d07xoeHs1E7AVO4GRT66yNEsxOUEQKBgQDw5c/ei7B2sSO9EC0k\n"
    "5ysUr645uemcgJSPOrQEFnQiBFQ6DUSlpGdgeRtQB03n8wDptVXdVrZCEMFkGzK7\n"
    "7qscq2CO3BAz0w70otrhe0ryghVIIM7egFLOXqjVix/Z5TifuFeNXgsaTvDEjO85\n"
    "7mKhYb5kgKOBlfFz+Tqou0fv7QKBgQDUT59x0kf8s007OIHX/cYdO/3QcTezPtYP\n"
    "LbA7Ea6Q4xUL17zQRDX3RoNTMzO43qxWAn4ngN8jTt8DjDmsCINMEGOztgjBAf1a\n"
    "lIoh6U2WYX5/XUuIpw+r/ki7xJxDvSwINS3LNbyE1q7j7RLJpaof3UWyvJfoza6u\n"
    "NiSF7wrRhwKBgFOMwT3EYR2pbmXCWIX2D0ELdXfb/SQkjGHo0EqipwCtU7EWrPpu\n"
    "PNR+7HQjNGgAJg7or7Emw+vB9/EKZdw8eOhmoASsWoo+5279lMCjjGjzqQHtLxKI\n"
    "my+sMQ5vRErEb5El1GfZeCxVuLfS0Z3cCiVCy0/8NblaEfZROIERA3A5AoGBAJHu\n"
    "tOLwriiFOkXFfoJvXdjEXp8C401imJJQTj0b10ihvdqpDJB/AjUYk7YBkMC21fA8\n"
    "wGf4zeegE+yFWzLjmxQSg+WH7xZzfqjfRt8uVPVTyDZVc1DXvA71txrRdrOc+QIf\n"
    "Q33VTuJkCkyCrRJLu9cxKfJEbYpIrpPyhUJGX8JLAoGADBstjj5Fa4kzOp2Y7pDT\n"
    "6XvJ5BA6gNkPPTiaRZ5HnBU42j5QCKFGlNTJKAZtRj5s+I6mV7Z19YLLfgtOr0Tk\n"
    "AWTXOeIjo8FuTAWIULL59tyCcCR93EWqbbi+TBLSIFuJQjAY56SWTwsenOywc1uq\n"
    "cNTtLuaGNbMbJmm0GexhfCo=\n"
    "-----END PRIVATE KEY-----\n";

}  // namespace fuzzkeys
