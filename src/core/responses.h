// Fixed JSON bodies and response helpers shared by the endpoints.
#pragma once

#include <string>
#include <string_view>

namespace restauth {

class Call;

// {"detail": "..."} for statuses answered without endpoint-specific text;
// static storage, so the shim can send it without owning it.
const std::string &error_body(int status);

// 405 with the Allow header, as DRF words it.
void respond_method_not_allowed(Call &call, std::string_view allow);

// {"detail": message}
void respond_detail(Call &call, int status, std::string_view message);

}  // namespace restauth
