// Endpoint coroutines, one per API path.  Each one answers through the Call.
#pragma once

#include <string>

#include "task.h"

namespace restauth {

class Call;

Task<void> health(Call &call);
Task<void> login(Call &call);
Task<void> logout(Call &call);
Task<void> user_details(Call &call);
Task<void> password_change(Call &call);
Task<void> password_reset(Call &call);
Task<void> password_reset_confirm(Call &call);
Task<void> registration(Call &call);
Task<void> verify_email(Call &call);
Task<void> resend_email(Call &call);
Task<void> token_verify(Call &call);
Task<void> token_refresh(Call &call);
Task<void> sessions_list(Call &call);
Task<void> session_delete(Call &call, std::string id);
Task<void> jwks(Call &call);

}  // namespace restauth
