// Unit tests for src/encoding.* and the primitives in src/crypto.*.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

extern "C" {
#include <cmocka.h>
}

#include "crypto.h"
#include "encoding.h"

using namespace restauth;

namespace {

std::string all_bytes()
{
    std::string s;
    for (int i = 0; i < 256; i++) s += static_cast<char>(i);
    return s;
}

bool url_decodes(const std::string &in)
{
    std::string out;
    return base64url_decode(in, out);
}

bool std_decodes(const std::string &in)
{
    std::string out;
    return base64_decode(in, out);
}

// ---- base64 (RFC 4648 section 10 vectors) -----------------------------------

void test_base64_rfc4648_vectors(void **)
{
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *padded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *unpadded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(base64_encode(plain[i]).c_str(), padded[i]);
        assert_string_equal(base64url_encode(plain[i]).c_str(), unpadded[i]);
        std::string out = "junk";
        assert_true(base64_decode(padded[i], out));
        assert_string_equal(out.c_str(), plain[i]);
        out = "junk";
        assert_true(base64url_decode(unpadded[i], out));
        assert_string_equal(out.c_str(), plain[i]);
    }
}

void test_base64_alphabets_differ_in_62_and_63(void **)
{
    const std::string raw("\xfb\xef\xff", 3);  // sextets 62, 62, 63, 63
    assert_string_equal(base64_encode(raw).c_str(), "++//");
    assert_string_equal(base64url_encode(raw).c_str(), "--__");
    std::string out;
    assert_true(base64url_decode("--__", out));
    assert_true(out == raw);
    assert_true(base64_decode("++//", out));
    assert_true(out == raw);
    // Each decoder refuses the other alphabet.
    assert_false(url_decodes("++//"));
    assert_false(std_decodes("--__"));
}

void test_base64_round_trips_every_byte_and_length(void **)
{
    const std::string bytes = all_bytes();
    for (size_t len = 0; len <= bytes.size(); len++) {
        for (size_t off : {size_t(0), size_t(1), size_t(2)}) {
            if (off + len > bytes.size()) continue;
            std::string raw = bytes.substr(off, len);
            std::string out;
            assert_true(base64url_decode(base64url_encode(raw), out));
            assert_true(out == raw);
            assert_true(base64_decode(base64_encode(raw), out));
            assert_true(out == raw);
        }
    }
}

void test_base64url_rejects_padding(void **)
{
    assert_false(url_decodes("Zg=="));
    assert_false(url_decodes("Zg="));
    assert_false(url_decodes("Zm8="));
    assert_false(url_decodes("="));
}

void test_base64url_rejects_invalid_characters(void **)
{
    for (const char *bad : {"Zm9v+g", "Zm9v/g", "Zm 9v", "Zm9v\n", "Zm9v.", "Zm9\xc3\xa9", "*m9v"}) {
        assert_false(url_decodes(bad));
    }
    assert_false(url_decodes(std::string("Zm\0v", 4)));
}

void test_base64url_rejects_impossible_length(void **)
{
    assert_false(url_decodes("Z"));
    assert_false(url_decodes("Zm9vY"));
}

void test_base64url_rejects_noncanonical_trailing_bits(void **)
{
    // "Zg" is the canonical "f"; "Zh".."Zv" carry the same byte plus
    // non-zero unused bits.
    assert_true(url_decodes("Zg"));
    for (const char *bad : {"Zh", "Zi", "Zv", "Zm9"}) assert_false(url_decodes(bad));
    assert_true(url_decodes("Zm8"));
    assert_false(url_decodes("Zm9"));  // low two bits of '9' are set
}

// The URL decoder is table-driven: every byte value in every position of a
// group (full, and the 2- and 3-character tails) against the alphabet and
// the bits it stands for, worked out here independently.
int url_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

void test_base64url_every_byte_in_every_position(void **)
{
    // "AAAA" is three zero bytes; the tails are "AA" (one byte), "AAA" (two).
    for (size_t len : {size_t(4), size_t(2), size_t(3), size_t(8)}) {
        for (size_t pos = 0; pos < len; pos++) {
            for (int c = 0; c < 256; c++) {
                std::string in(len, 'A');
                in[pos] = static_cast<char>(c);
                int v = url_value(c);
                // Bits the last character of a tail carries beyond the bytes.
                size_t group_len = len % 4 == 0 ? 4 : len % 4;
                bool last_of_tail = len % 4 != 0 && pos == len - 1;
                int unused = group_len == 2 ? 0x0f : 0x03;
                bool want = v >= 0 && !(last_of_tail && (v & unused) != 0);
                std::string out = "junk";
                bool got = base64url_decode(in, out);
                if (got != want) fail_msg("len %zu, byte 0x%02x at %zu: got %d", len, c, pos, int(got));
                if (!got) {
                    assert_true(out.empty());
                    continue;
                }
                // The bits: position pos of its group holds bits
                // 18 - 6 * (pos % 4) .. of a 24-bit big-endian word.
                size_t group = pos / 4 * 3;
                uint32_t word = uint32_t(v) << (18 - 6 * (pos % 4));
                std::string want_bytes(out.size(), '\0');
                for (size_t k = 0; k < 3 && group + k < want_bytes.size(); k++) {
                    want_bytes[group + k] = static_cast<char>(word >> (16 - 8 * k));
                }
                assert_int_equal(out.size(), len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
                assert_true(out == want_bytes);
            }
        }
    }
}

void test_base64url_into_a_buffer(void **)
{
    for (size_t n = 0; n < 12; n++) {
        assert_int_equal(base64url_decoded_size(n), n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0));
    }
    unsigned char buf[8];
    size_t len = 99;
    assert_true(base64url_decode("Zm9vYmE", buf, 5, len));  // "fooba": exactly fits
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "fooba", 5);
    len = 99;
    assert_false(base64url_decode("Zm9vYmE", buf, 4, len));  // one short
    assert_int_equal(len, 0);
    len = 99;
    assert_false(base64url_decode("Zm9vYm+", buf, sizeof buf, len));  // not the URL alphabet
    assert_int_equal(len, 0);
    assert_false(base64url_decode("Zh", buf, sizeof buf, len));
    assert_false(base64url_decode("Zm9vY", buf, sizeof buf, len));
    assert_true(base64url_decode("", buf, 0, len));
    assert_int_equal(len, 0);
}

void test_base64_strict_padding(void **)
{
    assert_false(std_decodes("Zg"));      // missing padding
    assert_false(std_decodes("Zg="));     // short padding
    assert_false(std_decodes("Zg==="));   // too much
    assert_false(std_decodes("Z==="));    // three '=' never happen
    assert_false(std_decodes("Zg==Zg==")); // padding in the middle
    assert_false(std_decodes("Zm9v=="));  // padding where none belongs
    assert_false(std_decodes("Zh=="));    // non-canonical trailing bits
    assert_false(std_decodes("Zm9="));
    assert_false(std_decodes("Zm9v\n"));
    assert_true(std_decodes(""));
}

void test_decoders_leave_output_empty_on_failure(void **)
{
    std::string out = "previous";
    assert_false(base64url_decode("Zh", out));
    assert_true(out.empty());
    out = "previous";
    assert_false(base64_decode("Zh==", out));
    assert_true(out.empty());
}

// ---- hex --------------------------------------------------------------------

void test_hex_encode(void **)
{
    assert_string_equal(hex_encode("").c_str(), "");
    assert_string_equal(hex_encode(std::string("\x00\x01\x09\x0a\x0f\x10\x7f\x80\xab\xff", 10)).c_str(),
                        "0001090a0f107f80abff");
    std::string all = hex_encode(all_bytes());
    assert_int_equal(all.size(), 512);
    for (int i = 0; i < 256; i++) {
        char expect[3];
        snprintf(expect, sizeof expect, "%02x", i);
        assert_memory_equal(all.data() + 2 * i, expect, 2);
    }
}

// ---- crypto primitives --------------------------------------------------------

void test_sha256_hex_known_answers(void **)
{
    // FIPS 180-2 "abc" and the empty string.
    assert_string_equal(sha256_hex("abc").c_str(),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(sha256_hex("").c_str(),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

void test_hmac_known_answers(void **)
{
    // RFC 4231 test case 2.
    const char *key = "Jefe";
    const char *data = "what do ya want for nothing?";
    assert_string_equal(hex_encode(hmac_sha256(key, data)).c_str(),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_string_equal(
        hex_encode(hmac(Digest::Sha384, key, data)).c_str(),
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
        "8e2240ca5e69e2c78b3239ecfab21649");
    assert_string_equal(
        hex_encode(hmac(Digest::Sha512, key, data)).c_str(),
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    // Empty key and data are legal, and differ from "no key" (Python
    // hmac.new(b'', b'', 'sha256')).
    assert_string_equal(hex_encode(hmac_sha256("", "")).c_str(),
                        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    assert_int_equal(digest_size(Digest::Sha256), 32);
    assert_int_equal(digest_size(Digest::Sha384), 48);
    assert_int_equal(digest_size(Digest::Sha512), 64);
}

void test_constant_time_equal(void **)
{
    assert_true(constant_time_equal("", ""));
    assert_true(constant_time_equal("abc", "abc"));
    assert_true(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
    assert_false(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
    assert_false(constant_time_equal("abc", "abd"));
    assert_false(constant_time_equal("abc", "xbc"));
    // A prefix is not equal, in either order.
    assert_false(constant_time_equal("abc", "abcd"));
    assert_false(constant_time_equal("abcd", "abc"));
    assert_false(constant_time_equal("", "a"));
    assert_false(constant_time_equal("a", ""));
}

void test_random_hex(void **)
{
    std::set<std::string> seen;
    for (int i = 0; i < 100; i++) {
        std::string h = random_hex(16);
        assert_int_equal(h.size(), 32);
        for (char c : h) assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        assert_true(seen.insert(h).second);
    }
    assert_true(random_hex(0).empty());
}

void test_random_bytes(void **)
{
    unsigned char a[64] = {0}, b[64] = {0};
    assert_true(random_bytes(a, sizeof a));
    assert_true(random_bytes(b, sizeof b));
    assert_true(std::memcmp(a, b, sizeof a) != 0);
    assert_true(random_bytes(a, 0));
}

}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_alphabets_differ_in_62_and_63),
        cmocka_unit_test(test_base64_round_trips_every_byte_and_length),
        cmocka_unit_test(test_base64url_rejects_padding),
        cmocka_unit_test(test_base64url_rejects_invalid_characters),
        cmocka_unit_test(test_base64url_rejects_impossible_length),
        cmocka_unit_test(test_base64url_rejects_noncanonical_trailing_bits),
        cmocka_unit_test(test_base64url_every_byte_in_every_position),
        cmocka_unit_test(test_base64url_into_a_buffer),
        cmocka_unit_test(test_base64_strict_padding),
        cmocka_unit_test(test_decoders_leave_output_empty_on_failure),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_sha256_hex_known_answers),
        cmocka_unit_test(test_hmac_known_answers),
        cmocka_unit_test(test_constant_time_equal),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
