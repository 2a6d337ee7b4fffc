// Owning pointer for a cJSON tree.
#pragma once

#include <memory>

#include <cjson/cJSON.h>

namespace restauth {

struct CjsonDeleter {
    void operator()(cJSON *p) const noexcept { cJSON_Delete(p); }
};

using JsonPtr = std::unique_ptr<cJSON, CjsonDeleter>;

}  // namespace restauth
