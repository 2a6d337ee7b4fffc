// The Redis Lua scripts, one file each in src/core/lua/<name>.lua, embedded
// into the core at build time (lua_scripts.cpp) and read from the same files
// by scripts/restauth-user, so the module and the CLI run one copy of each.
// Each file starts with its KEYS and ARGV, and what it returns.  The
// cli_*.lua files there are the CLI's own (delete, import), not embedded.
// lib_*.lua files are libraries (local functions) put in front of the
// scripts that use them: lib_index.lua keeps a user's session and opaque-key
// indexes capped (restauth_max_sessions_per_user) and every script's work on
// them bounded; lib_revoke.lua's revoke_credentials is the one way every
// script ends a user's sessions and opaque keys.
//
// Key names are built by the Keys class (user_store.h); scripts that reach
// keys they are not given build the same names from the prefix (ARGV):
// user:<id>, session:<sid>, token:<digest>, verify:<digest>, reset:<digest>.
//
// Every script is one atomic step.  A tests/lua test drives each against a
// real redis-server; tests/unit/test_call.cpp checks which one each endpoint
// sends.
#pragma once

#include <string_view>

namespace restauth::lua {

// The text of each script, NUL-terminated (data()[size()] == '\0').  Set
// by dynamic initialization: not for use in other static initializers.
extern const std::string_view create_user;
extern const std::string_view delete_own_session;
extern const std::string_view end_all_sessions;
extern const std::string_view end_session;
extern const std::string_view find_user;
extern const std::string_view list_sessions;
extern const std::string_view login_attempt;
extern const std::string_view rate_limit;
extern const std::string_view register_user;
extern const std::string_view request_reset;
extern const std::string_view resend_verification;
extern const std::string_view reset_password;
extern const std::string_view rotate_session;
extern const std::string_view set_password;
extern const std::string_view start_opaque;
extern const std::string_view start_session;
extern const std::string_view update_profile;
extern const std::string_view verify_email;

}  // namespace restauth::lua
