// registration/, registration/verify-email/, registration/resend-email/,
// password/reset/, password/reset/confirm/.  (Placeholder until #4 lands.)
#include "endpoints.h"
#include "call.h"
#include "responses.h"

namespace restauth {

#define RESTAUTH_NOT_YET(name) \
    Task<void> name(Call &call) { respond_detail(call, 404, "Not found."); co_return; }

RESTAUTH_NOT_YET(password_reset)
RESTAUTH_NOT_YET(password_reset_confirm)
RESTAUTH_NOT_YET(registration)
RESTAUTH_NOT_YET(verify_email)
RESTAUTH_NOT_YET(resend_email)

}  // namespace restauth
