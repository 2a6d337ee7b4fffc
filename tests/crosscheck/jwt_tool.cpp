// Command-line driver over src/jwt.* for tests/crosscheck/jwt_crosscheck.py
// (build command at the top of that script).
//
//   jwt_tool sign   ALG KEYFILE [KID]        claims JSON on stdin, token on stdout
//   jwt_tool verify ALG KEYFILE [KID [NOW]]  token on stdin; prints the status
//                                            name, then the claims JSON when ok
//   jwt_tool jwks   ALG KEYFILE [KID]        prints the JWK Set
//
// KEYFILE holds the raw HMAC secret or a PEM key.  A public-key file can
// only verify, and the first key of a KeySet must be able to sign, so for
// one the tool puts a throwaway HMAC secret in front.  Exit status: 0 on
// success (verify: status ok), 1 on rejection, 2 on usage or setup errors.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "jwt.h"

using namespace restauth;

namespace {

int usage()
{
    std::fprintf(stderr, "usage: jwt_tool sign|verify|jwks ALG KEYFILE [KID [NOW]]\n");
    return 2;
}

bool read_file(const char *path, std::string &out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

std::string read_stdin()
{
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
}

std::string trim_newline(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) return usage();
    const std::string mode = argv[1];
    auto alg = parse_jwt_alg(argv[2]);
    if (!alg) {
        std::fprintf(stderr, "unknown algorithm %s\n", argv[2]);
        return 2;
    }
    std::string material;
    if (!read_file(argv[3], material)) {
        std::fprintf(stderr, "cannot read %s\n", argv[3]);
        return 2;
    }
    const std::string kid = argc >= 5 ? argv[4] : "";

    KeySet keys;
    std::string error;
    if (material.find("PUBLIC KEY-----") != std::string::npos &&
        !keys.add_key(JwtAlg::HS512, std::string(64, 'd'), "jwt-tool-placeholder", error)) {
        std::fprintf(stderr, "placeholder key: %s\n", error.c_str());
        return 2;
    }
    if (!keys.add_key(*alg, material, kid, error)) {
        std::fprintf(stderr, "add_key: %s\n", error.c_str());
        return 2;
    }

    if (mode == "sign") {
        std::string token = keys.sign(trim_newline(read_stdin()));
        if (token.empty()) {
            std::fprintf(stderr, "sign failed\n");
            return 1;
        }
        std::printf("%s\n", token.c_str());
        return 0;
    }
    if (mode == "verify") {
        int64_t now = argc >= 6 ? std::strtoll(argv[5], nullptr, 10) : int64_t(std::time(nullptr));
        JsonPtr claims;
        JwtStatus st = keys.verify(trim_newline(read_stdin()), now, 0, claims);
        std::printf("%s\n", jwt_status_name(st));
        if (st != JwtStatus::Ok) return 1;
        char *text = cJSON_PrintUnformatted(claims.get());
        if (text == nullptr) return 2;
        std::printf("%s\n", text);
        cJSON_free(text);
        return 0;
    }
    if (mode == "jwks") {
        std::string jwks = keys.jwks_json();
        if (jwks.empty()) return 1;
        std::printf("%s\n", jwks.c_str());
        return 0;
    }
    return usage();
}
