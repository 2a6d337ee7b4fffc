# Sourced by nginx's auto/make after `config`: appends to objs/Makefile the
# rules that compile the C++20 core (src/core/*.cpp) with $(RESTAUTH_CXX)
# into an archive, which `config` put first in the module's link libraries.
# nginx's CFLAGS never reach the core, and the C++ flags never reach nginx's
# C files; --with-cc-opt (NGX_CC_OPT) applies to both, as it should.

restauth_dir=$NGX_OBJS/addon/restauth_core
restauth_lib=$restauth_dir/librestauth.a
mkdir -p $restauth_dir

# Every core object depends on every core header (and on these build
# files); files that .incbin the Lua scripts also depend on those.
restauth_hdrs="$ngx_addon_dir/config $ngx_addon_dir/config.make"
for restauth_f in "$ngx_addon_dir"/src/core/*.h; do
    [ -f "$restauth_f" ] && restauth_hdrs="$restauth_hdrs $restauth_f"
done
restauth_lua=
for restauth_f in "$ngx_addon_dir"/src/core/lua/*.lua; do
    [ -f "$restauth_f" ] && restauth_lua="$restauth_lua $restauth_f"
done

cat << END                                                    >> $NGX_MAKEFILE

RESTAUTH_CXX = $RESTAUTH_CXX
RESTAUTH_CXXFLAGS = $RESTAUTH_CXXFLAGS $NGX_CC_OPT -std=c++20 -fPIC -fvisibility=hidden -Wall -Wextra -I $ngx_addon_dir/src/core -Wa,-I$ngx_addon_dir/src/core/lua
RESTAUTH_CORE_DEPS = $restauth_hdrs

END

restauth_objs=
for restauth_src in "$ngx_addon_dir"/src/core/*.cpp; do
    [ -f "$restauth_src" ] || continue
    restauth_obj=$restauth_dir/`basename $restauth_src .cpp`.$ngx_objext
    restauth_objs="$restauth_objs $restauth_obj"
    restauth_extra=
    if grep -q incbin "$restauth_src"; then
        restauth_extra=$restauth_lua
    fi

    cat << END                                                >> $NGX_MAKEFILE
$restauth_obj:	\$(RESTAUTH_CORE_DEPS) $restauth_src$restauth_extra
	\$(RESTAUTH_CXX) -c \$(RESTAUTH_CXXFLAGS) -o $restauth_obj $restauth_src

END
done

# The module (or, for --add-module, the nginx binary) relinks when the core
# changes.
case " $DYNAMIC_MODULES " in
    *" ngx_http_restauth_module "*)
        restauth_target=$NGX_OBJS/ngx_http_restauth_module$ngx_modext ;;
    *)
        restauth_target=$NGX_OBJS/nginx$ngx_binext ;;
esac

cat << END                                                    >> $NGX_MAKEFILE
$restauth_lib:	$restauth_objs
	rm -f $restauth_lib
	${AR:-ar} rcs $restauth_lib $restauth_objs

$restauth_target:	$restauth_lib

END
