// Embeds src/core/lua/<name>.lua as read-only data: the assembler's .incbin
// reads each file when this file is compiled (it finds them through
// -Wa,-I<repo>/src/core/lua; the Makefile makes this object depend on them).
#include "lua_scripts.h"

#include <cstddef>

// restauth_lua_<name> .. restauth_lua_<name>_end: the bytes of the files
// `prelude` (the library files the script uses, as assembler lines; empty for
// none) and <name>.lua, then a NUL.
#define RESTAUTH_LUA_SCRIPT_WITH(name, prelude)                                                    \
    __asm__(".pushsection .rodata\n"                                                           \
            ".global restauth_lua_" #name "\n"                                                 \
            ".hidden restauth_lua_" #name "\n"                                                 \
            "restauth_lua_" #name ":\n"                                                        \
            prelude                                                                            \
            ".incbin \"" #name ".lua\"\n"                                                      \
            ".global restauth_lua_" #name "_end\n"                                             \
            ".hidden restauth_lua_" #name "_end\n"                                             \
            "restauth_lua_" #name "_end:\n"                                                    \
            ".byte 0\n"                                                                        \
            ".popsection\n");                                                                  \
    extern "C" const char restauth_lua_##name[];                                               \
    extern "C" const char restauth_lua_##name##_end[];                                         \
    namespace restauth::lua {                                                                  \
    const std::string_view name{restauth_lua_##name,                                           \
                                static_cast<size_t>(restauth_lua_##name##_end - restauth_lua_##name)}; \
    }
#define RESTAUTH_LUA_SCRIPT(name) RESTAUTH_LUA_SCRIPT_WITH(name, "")
// lib_index.lua: a user's capped session and opaque-key indexes (sorted
// sets); lib_revoke.lua: revoke_credentials, the one way to end a user's
// sessions and opaque keys (scripts/restauth-user puts both before its
// cli_*.lua).
#define RESTAUTH_LUA_INDEX ".incbin \"lib_index.lua\"\n"
#define RESTAUTH_LUA_REVOKE RESTAUTH_LUA_INDEX ".incbin \"lib_revoke.lua\"\n"

RESTAUTH_LUA_SCRIPT(create_user)
RESTAUTH_LUA_SCRIPT_WITH(delete_own_session, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT_WITH(end_all_sessions, RESTAUTH_LUA_REVOKE)
RESTAUTH_LUA_SCRIPT_WITH(end_session, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT(find_user)
RESTAUTH_LUA_SCRIPT_WITH(list_sessions, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT(login_attempt)
RESTAUTH_LUA_SCRIPT(rate_limit)
RESTAUTH_LUA_SCRIPT(register_user)
RESTAUTH_LUA_SCRIPT(request_reset)
RESTAUTH_LUA_SCRIPT(resend_verification)
RESTAUTH_LUA_SCRIPT_WITH(reset_password, RESTAUTH_LUA_REVOKE)
RESTAUTH_LUA_SCRIPT_WITH(rotate_session, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT_WITH(set_password, RESTAUTH_LUA_REVOKE)
RESTAUTH_LUA_SCRIPT_WITH(start_opaque, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT_WITH(start_session, RESTAUTH_LUA_INDEX)
RESTAUTH_LUA_SCRIPT(update_profile)
RESTAUTH_LUA_SCRIPT(verify_email)
