// Unit tests for src/password.*: Django-compatible PBKDF2-SHA256 hashes.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "password.h"

using namespace restauth;

namespace {

// Generated with Django's algorithm in plain Python:
//   dk = hashlib.pbkdf2_hmac('sha256', pw.encode('utf-8'), salt.encode(), iters, 32)
//   'pbkdf2_sha256$%d$%s$%s' % (iters, salt, base64.b64encode(dk).decode())
const char *const kCorrectHorse260k =
    "pbkdf2_sha256$260000$bJq3mVx9RkT2pLw8ZsNc4e$aM0mtbI4T8IKv0v02AvY0hYQFHxT/GCesB3OF9WORBo=";
const char *const kShortSalt1k =  // 'correct horse', salt 'shortsalt'
    "pbkdf2_sha256$1000$shortsalt$rjllq23XxB+W6iU1celxmIkJ72hB9wCWiJonqnNDr0w=";
const char *const kUnicode1k =  // 'pässwörd ✓'
    "pbkdf2_sha256$1000$Q7hYw2KcM9rTz4LbN1vXe8$NekLXQPOaHq6LukiGDbkpJPc7ZCNNymyLcvzvDq6aJg=";
const char *const kEmpty1k =  // ''
    "pbkdf2_sha256$1000$Fj3kL9pQ2wErT5yUi8oPaS$hnwZuQhc8VsK0CP4xTnBeMH3z1T2pqpLvdJlEc9unEs=";

// A valid 32-byte hash field to build parser cases around.
const std::string kHash = "NekLXQPOaHq6LukiGDbkpJPc7ZCNNymyLcvzvDq6aJg=";

bool parses(const std::string &encoded)
{
    DjangoHash h;
    return parse_django_hash(encoded, h);
}

void test_python_vector_260000_iterations_matches(void **)
{
    bool rehash = true;
    assert_int_equal(check_password("correct horse", kCorrectHorse260k, 260000, &rehash),
                     PasswordCheck::Match);
    assert_false(rehash);
}

void test_python_vector_wrong_password_mismatches(void **)
{
    bool rehash = true;
    assert_int_equal(check_password("correct horsf", kCorrectHorse260k, 260000, &rehash),
                     PasswordCheck::Mismatch);
    assert_false(rehash);
    assert_int_equal(check_password("", kCorrectHorse260k, 260000, nullptr),
                     PasswordCheck::Mismatch);
    assert_int_equal(check_password("correct horse ", kCorrectHorse260k, 260000, nullptr),
                     PasswordCheck::Mismatch);
}

void test_python_vectors_utf8_and_empty_passwords(void **)
{
    assert_int_equal(check_password("p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93", kUnicode1k, 1000, nullptr),
                     PasswordCheck::Match);
    // The same letters in Latin-1 are different bytes: no normalisation.
    assert_int_equal(check_password("p\xe4ssw\xf6rd \xe2\x9c\x93", kUnicode1k, 1000, nullptr),
                     PasswordCheck::Mismatch);
    assert_int_equal(check_password("", kEmpty1k, 1000, nullptr), PasswordCheck::Match);
}

void test_needs_rehash_when_iterations_differ(void **)
{
    bool rehash = false;
    assert_int_equal(check_password("correct horse", kCorrectHorse260k, 600000, &rehash),
                     PasswordCheck::Match);
    assert_true(rehash);
    rehash = false;
    assert_int_equal(check_password("correct horse", kCorrectHorse260k, 100000, &rehash),
                     PasswordCheck::Match);
    assert_true(rehash);
}

void test_needs_rehash_when_salt_is_short(void **)
{
    // Django's must_update: fewer than 128 bits of salt entropy.
    bool rehash = false;
    assert_int_equal(check_password("correct horse", kShortSalt1k, 1000, &rehash),
                     PasswordCheck::Match);
    assert_true(rehash);
}

void test_make_password_hash_round_trip(void **)
{
    std::string encoded = make_password_hash("s3cret pässword", 1000);
    DjangoHash h;
    assert_true(parse_django_hash(encoded, h));
    assert_int_equal(h.iterations, 1000);
    assert_int_equal(h.salt.size(), 22);
    for (char c : h.salt) {
        assert_true((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    }
    assert_int_equal(h.hash.size(), 32);
    assert_true(encoded.rfind("pbkdf2_sha256$1000$", 0) == 0);

    bool rehash = true;
    assert_int_equal(check_password("s3cret pässword", encoded, 1000, &rehash), PasswordCheck::Match);
    assert_false(rehash);
    assert_int_equal(check_password("s3cret password", encoded, 1000, &rehash),
                     PasswordCheck::Mismatch);
}

void test_make_password_hash_uses_fresh_salts(void **)
{
    std::set<std::string> salts;
    for (int i = 0; i < 20; i++) {
        DjangoHash h;
        assert_true(parse_django_hash(make_password_hash("same", 1), h));
        assert_true(salts.insert(h.salt).second);
    }
}

void test_make_password_hash_rejects_bad_iterations(void **)
{
    assert_true(make_password_hash("pw", 0).empty());
    assert_true(make_password_hash("pw", kMaxPasswordIterations + 1).empty());
}

void test_parse_accepts_django_format(void **)
{
    DjangoHash h;
    assert_true(parse_django_hash(kCorrectHorse260k, h));
    assert_int_equal(h.iterations, 260000);
    assert_string_equal(h.salt.c_str(), "bJq3mVx9RkT2pLw8ZsNc4e");
    assert_int_equal(h.hash.size(), 32);
    assert_true(parses("pbkdf2_sha256$1$s$" + kHash));
    assert_true(parses("pbkdf2_sha256$100000000$s$" + kHash));
}

void test_parse_rejects_other_algorithms(void **)
{
    for (const char *alg : {"pbkdf2_sha1", "PBKDF2_SHA256", "argon2", "bcrypt_sha256", "md5", "",
                            " pbkdf2_sha256"}) {
        assert_false(parses(std::string(alg) + "$1000$salt$" + kHash));
    }
}

void test_parse_rejects_bad_iterations(void **)
{
    for (const char *it : {"0", "", "01000", "+1000", "-1000", " 1000", "1000 ", "1e3", "0x10",
                           "100000001", "4294967297", "99999999999999999999"}) {
        assert_false(parses(std::string("pbkdf2_sha256$") + it + "$salt$" + kHash));
    }
}

void test_parse_rejects_bad_salt_and_hash(void **)
{
    assert_false(parses("pbkdf2_sha256$1000$$" + kHash));                 // empty salt
    assert_false(parses("pbkdf2_sha256$1000$salt$"));                     // empty hash
    assert_false(parses("pbkdf2_sha256$1000$salt$" + kHash + "$extra"));  // fifth field
    assert_false(parses("pbkdf2_sha256$1000$salt"));                      // three fields
    assert_false(parses("pbkdf2_sha256$1000"));
    assert_false(parses(""));
    // Hash: unpadded, url alphabet, wrong length, trailing bits, whitespace.
    assert_false(parses("pbkdf2_sha256$1000$salt$NekLXQPOaHq6LukiGDbkpJPc7ZCNNymyLcvzvDq6aJg"));
    assert_false(parses("pbkdf2_sha256$1000$salt$NekLXQPOaHq6LukiGDbkpJPc7ZCNNymyLcvzvDq6aJh="));
    assert_false(parses("pbkdf2_sha256$1000$salt$NekLXQPOaHq6LukiGDbkpJPc7ZCNNymyLcvzvDq6aJg= "));
    assert_false(parses("pbkdf2_sha256$1000$salt$rjllq23XxB-W6iU1celxmIkJ72hB9wCWiJonqnNDr0w="));
    assert_false(parses("pbkdf2_sha256$1000$salt$AAAA"));  // 3 bytes
    assert_false(parses("pbkdf2_sha256$1000$salt$" + kHash + "AAAA"));  // 35 bytes
}

void test_unusable_password_never_matches(void **)
{
    bool rehash = true;
    // Django's make_password(None): '!' and 40 random characters.
    assert_int_equal(check_password("", "!Zc8zq1VFtHq2dS3WqPCW2RLn7Hk5mA9XcKfTgeh", 1000, &rehash),
                     PasswordCheck::Mismatch);
    assert_false(rehash);
    // Even a '!' followed by a real hash of the password is unusable.
    assert_int_equal(check_password("correct horse", std::string("!") + kShortSalt1k, 1000, &rehash),
                     PasswordCheck::Mismatch);
    assert_int_equal(check_password("x", "!", 1000, nullptr), PasswordCheck::Mismatch);
}

void test_malformed_stored_value(void **)
{
    bool rehash = true;
    assert_int_equal(check_password("pw", "", 1000, &rehash), PasswordCheck::Malformed);
    assert_false(rehash);
    assert_int_equal(check_password("pw", "plaintext", 1000, nullptr), PasswordCheck::Malformed);
    assert_int_equal(check_password("pw", "pbkdf2_sha1$1000$salt$" + kHash, 1000, nullptr),
                     PasswordCheck::Malformed);
}

double seconds_for(void (*fn)())
{
    auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void test_burn_password_time_costs_like_a_check(void **)
{
    // Loose bounds: this guards against the burn silently doing nothing,
    // not against scheduler noise.
    double check = seconds_for([] { check_password("guess", kCorrectHorse260k, 260000, nullptr); });
    double burn = seconds_for([] { burn_password_time("guess", 260000); });
    double unusable = seconds_for([] { check_password("guess", "!x", 260000, nullptr); });
    double malformed = seconds_for([] { check_password("guess", "garbage", 260000, nullptr); });
    double none = seconds_for([] { burn_password_time("guess", 0); });
    print_message("check %.3fs burn %.3fs unusable %.3fs malformed %.3fs\n", check, burn, unusable,
                  malformed);
    assert_true(burn > check / 3);
    assert_true(unusable > check / 3);
    assert_true(malformed > check / 3);
    assert_true(none < check / 10);
}

void test_concurrent_checks(void **)
{
    const std::string mine = make_password_hash("thread pw", 2000);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; i++) {
                bool good = (i + t) % 2 == 0;
                auto r = check_password(good ? "thread pw" : "thread px", mine, 2000, nullptr);
                if (r != (good ? PasswordCheck::Match : PasswordCheck::Mismatch)) failures++;
                if (check_password("", kEmpty1k, 1000, nullptr) != PasswordCheck::Match) failures++;
                if (make_password_hash("x", 10).empty()) failures++;
            }
        });
    }
    for (auto &th : threads) th.join();
    assert_int_equal(failures.load(), 0);
}

}  // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_vector_260000_iterations_matches),
        cmocka_unit_test(test_python_vector_wrong_password_mismatches),
        cmocka_unit_test(test_python_vectors_utf8_and_empty_passwords),
        cmocka_unit_test(test_needs_rehash_when_iterations_differ),
        cmocka_unit_test(test_needs_rehash_when_salt_is_short),
        cmocka_unit_test(test_make_password_hash_round_trip),
        cmocka_unit_test(test_make_password_hash_uses_fresh_salts),
        cmocka_unit_test(test_make_password_hash_rejects_bad_iterations),
        cmocka_unit_test(test_parse_accepts_django_format),
        cmocka_unit_test(test_parse_rejects_other_algorithms),
        cmocka_unit_test(test_parse_rejects_bad_iterations),
        cmocka_unit_test(test_parse_rejects_bad_salt_and_hash),
        cmocka_unit_test(test_unusable_password_never_matches),
        cmocka_unit_test(test_malformed_stored_value),
        cmocka_unit_test(test_burn_password_time_costs_like_a_check),
        cmocka_unit_test(test_concurrent_checks),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
