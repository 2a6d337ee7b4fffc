// Unit tests for accepts_json (src/core/body.h): content negotiation as
// DRF's DefaultContentNegotiation does it with JSONRenderer as the only
// renderer (rest_framework/negotiation.py and utils/mediatypes.py: the
// header split at ',', each media range matched by type and subtype with
// "*" wildcards, parameters and q-values ignored).
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string_view>

#include "body.h"

extern "C" {
#include <cmocka.h>
}

using restauth::accepts_json;

namespace {

void expect_json(std::string_view accept)
{
    if (!accepts_json(accept, true)) fail_msg("Accept: %.*s should get JSON", int(accept.size()), accept.data());
}

void expect_406(std::string_view accept)
{
    if (accepts_json(accept, true)) fail_msg("Accept: %.*s should get 406", int(accept.size()), accept.data());
}

void test_no_header_gets_json(void **)
{
    assert_true(accepts_json("", false));
    assert_true(accepts_json("text/plain", false));  // the value is not looked at
}

void test_wildcards_and_json(void **)
{
    expect_json("*/*");
    expect_json("application/*");
    expect_json("application/json");
    expect_json("*/json");  // DRF matches the parts independently
}

void test_letter_case_and_whitespace(void **)
{
    expect_json("APPLICATION/JSON");
    expect_json("Application/*");
    expect_json("  application/json  ");
    expect_json("\tapplication/json");
    expect_json("text/plain ,  application/json ");
}

void test_parameters_and_q_values_are_ignored(void **)
{
    expect_json("application/json; charset=utf-8");
    expect_json("application/json;indent=4");
    expect_json("application/json;q=0.5");
    expect_json("application/json ; q=0.001 ; version=2");
    expect_json("*/*;q=0.1");
    // q=0 ("not acceptable" in RFC 9110) is ignored by DRF too.
    expect_json("application/json;q=0");
    // A higher q for a type we cannot produce changes nothing.
    expect_json("text/plain;q=1.0, application/json;q=0.1");
}

void test_lists(void **)
{
    expect_json("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");  // a browser
    expect_json("text/plain, application/*");
    expect_json("image/png, text/html, application/json");
    expect_json(",application/json");
}

void test_what_json_cannot_satisfy(void **)
{
    expect_406("text/plain");
    expect_406("text/html");
    expect_406("text/*");
    expect_406("application/xml");
    expect_406("application/json-patch+json");
    expect_406("application/jsonx");
    expect_406("json/application");
    expect_406("image/*, text/plain;q=1");
    expect_406("text/plain, text/html;q=0.5");
}

void test_malformed_ranges_match_nothing(void **)
{
    expect_406("");          // an empty header (DRF: no range matches)
    expect_406(" ");
    expect_406(",");
    expect_406("*");         // no subtype
    expect_406("application");
    expect_406("application/");
    expect_406("/json");
    expect_406(";q=1");
}

}  // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_header_gets_json),
        cmocka_unit_test(test_wildcards_and_json),
        cmocka_unit_test(test_letter_case_and_whitespace),
        cmocka_unit_test(test_parameters_and_q_values_are_ignored),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_what_json_cannot_satisfy),
        cmocka_unit_test(test_malformed_ranges_match_nothing),
    };
    return cmocka_run_group_tests_name("accept (content negotiation)", tests, nullptr, nullptr);
}
