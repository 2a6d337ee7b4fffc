# Content negotiation as DRF's DefaultContentNegotiation does it with the
# JSON renderer: an Accept header that application/json cannot satisfy gets
# 406 {"detail": "Could not satisfy the request Accept header."} (in JSON,
# before authentication and the method check, as DRF negotiates first);
# */*, application/*, application/json (any parameters, q-values included,
# in any letter case, anywhere in the list) and no Accept header get JSON.
# Unknown paths are not API views: 404 whatever the Accept header.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Accept that JSON cannot satisfy: 406 JSON, on every kind of endpoint and method
--- request eval
["GET /auth/health/", "POST /auth/login/\n{}", "GET /auth/user/", "OPTIONS /auth/login/", "DELETE /auth/login/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Accept: text/plain",
"Accept: text/plain\nContent-Type: application/json",
"Accept: text/plain",
"Accept: text/plain",
"Accept: text/plain",
"Accept: text/html",
"Accept: text/*, application/xml;q=0.9",
"Accept: application/json-patch+json",
"Accept: image/*\nAuthorization: Bearer $::T{ALICE_ACCESS}",
]
--- error_code eval
[406, 406, 406, 406, 406, 406, 406, 406, 406]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json"]
--- response_body eval
[
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
qq({"detail": "Could not satisfy the request Accept header."}),
]



=== TEST 2: Accept headers JSON satisfies, and none at all: the usual answer
--- request eval
["GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Authorization: Bearer $::T{ALICE_ACCESS}",
"Accept: */*\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: application/*\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: application/json\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: Application/JSON; charset=utf-8; indent=4\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: text/plain;q=1.0, application/json;q=0.1\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\nAuthorization: Bearer $::T{ALICE_ACCESS}",
"Accept: application/*;q=0.5 , text/plain\nAuthorization: Bearer $::T{ALICE_ACCESS}",
]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
]



=== TEST 3: the usual refusals keep their status when JSON is acceptable
--- request eval
["GET /auth/user/", "DELETE /auth/login/", "POST /auth/login/\n{}"]
--- more_headers eval
["Accept: application/json", "Accept: */*", "Accept: application/json\nContent-Type: application/json"]
--- error_code eval
[401, 405, 400]



=== TEST 4: several Accept headers count as one list: one JSON can satisfy is enough
--- request
GET /auth/health/
--- more_headers
Accept: text/plain
Accept: application/json
--- error_code: 200
--- response_body chomp
{"redis": "ok"}



=== TEST 5: an unknown path is a 404 whatever the Accept header
--- request
GET /auth/nothing-here/
--- more_headers
Accept: text/plain
--- error_code: 404
--- response_body chomp
{"detail": "Not found."}
