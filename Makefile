# ngx_http_restauth — build and test entry points.
#   make            core library + dynamic module
#   make test       unit tests (cmocka) + integration tests (t/, real nginx + redis)

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       ?= build
CXX         ?= g++
CXXFLAGS    ?= -O2 -g
CXXFLAGS    += -std=c++20 -fPIC -Wall -Wextra -fvisibility=hidden
# src/core/lua_scripts.cpp embeds src/core/lua/*.lua with the assembler's
# .incbin, which finds them through this include path.
CXXFLAGS    += -Wa,-I$(CURDIR)/src/core/lua
CPPFLAGS    += -Isrc/core -MMD -MP
LDLIBS_CORE := -lcrypto -lhiredis -lcjson -licuuc -licudata

# make SANITIZE=1 BUILD=build-asan ...: AddressSanitizer + UBSan everywhere.
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(SANITIZE),1)
CXXFLAGS    += $(SAN_FLAGS)
LDFLAGS     += $(SAN_FLAGS)
NGINX_SAN    = --with-cc-opt='$(SAN_FLAGS)' --with-ld-opt='$(SAN_FLAGS)'
endif

CORE_SRCS   := $(wildcard src/core/*.cpp)
CORE_OBJS   := $(CORE_SRCS:src/core/%.cpp=$(BUILD)/core/%.o)
CORE_LIB    := $(BUILD)/librestauth.a
UNIT_SRCS   := $(wildcard tests/unit/test_*.cpp)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.cpp=$(BUILD)/unit/%)

MODULE      := $(BUILD)/ngx_http_restauth_module.so
NGINX_BUILD := $(BUILD)/nginx
# Debian's nginx-dev records the distribution binary's configure flags; a
# module built with the same flags (--with-compat) loads into /usr/sbin/nginx.
NGINX_FLAGS  = $(shell [ -f $(NGINX_SRC)/conf_flags ] && bash -c '. $(NGINX_SRC)/conf_flags && echo "$${NGX_CONF_FLAGS[@]}"' || echo --with-compat --with-threads)

.PHONY: all core unit module test test-asan test-unit test-build test-lua test-ct test-mutants test-crosscheck test-t test-integration test-browser fuzz-smoke test-scripts test-token test-examples test-deb deb demo deps clean

all: module

core: $(CORE_LIB)

$(BUILD)/core/%.o: src/core/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# -MMD does not see .incbin: the scripts are listed here.
$(BUILD)/core/lua_scripts.o: $(wildcard src/core/lua/*.lua)

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) $< -o $@ $(CORE_LIB) -lcmocka $(LDLIBS_CORE)

unit: $(UNIT_BINS)

# The Lua scripts against a real redis-server (tests/lua/): blocking
# hiredis, so it links the core but is not a cmocka unit binary above.
LUA_TEST    := $(BUILD)/lua/test_lua_scripts
$(LUA_TEST): tests/lua/test_lua_scripts.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -pthread $< -o $@ $(CORE_LIB) -lcmocka $(LDLIBS_CORE)

test-lua: $(LUA_TEST)
	timeout 300 $(LUA_TEST)

# constant_time_equal under valgrind's memcheck with the compared bytes
# marked undefined (tests/ct/): a branch on them is a memcheck error.
CT_TEST     := $(BUILD)/ct/test_constant_time
$(CT_TEST): tests/ct/test_constant_time.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) $< -o $@ $(CORE_LIB) $(LDLIBS_CORE)

test-ct: $(CT_TEST)
	timeout 300 valgrind -q --error-exitcode=99 --track-origins=yes $(CT_TEST)

module: $(MODULE)

# The module is built the way nginx users build it: `config` and
# `config.make` compile the glue and the C++ core (not $(CORE_LIB)) and list
# the link libraries.  They list the source files when nginx is configured,
# so a file added or removed means configuring again: $(MODULE_LIST) changes
# only then.  Configuring again in place keeps the core's objects.
MODULE_FILES := $(sort ngx_http_restauth_module.c $(wildcard src/*.c src/*.h) \
	$(CORE_SRCS) $(wildcard src/core/*.h src/core/lua/*.lua))
MODULE_LIST := $(BUILD)/module-files
$(shell mkdir -p $(BUILD) && { echo '$(MODULE_FILES)' | cmp -s - $(MODULE_LIST) \
	|| echo '$(MODULE_FILES)' > $(MODULE_LIST); })

$(NGINX_BUILD)/objs/Makefile: config config.make $(MODULE_LIST)
	[ -f $(NGINX_BUILD)/configure ] || cp -r $(NGINX_SRC) $(NGINX_BUILD)
	cd $(NGINX_BUILD) && CXX='$(CXX)' \
		./configure $(NGINX_FLAGS) $(NGINX_SAN) --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
		|| { tail -30 configure.log; exit 1; }

$(MODULE): $(NGINX_BUILD)/objs/Makefile $(MODULE_FILES)
	$(MAKE) -C $(NGINX_BUILD) -f objs/Makefile modules
	cp $(NGINX_BUILD)/objs/ngx_http_restauth_module.so $@

test-unit: unit
	@scripts/run-unit-tests $(UNIT_BINS)

clean:
	rm -rf $(BUILD) t/servroot*

# The Debian package libnginx-mod-http-restauth (debian/: dh $@ --with nginx),
# built from a copy of the tree so that debhelper's files stay out of it:
# $(BUILD)/deb/*.deb.
DEB_SRC := $(BUILD)/deb/libnginx-mod-http-restauth
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	tar --exclude=./$(BUILD) --exclude=./.git --exclude=node_modules --exclude='./t/servroot*' -cf - . \
	    | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	@ls $(BUILD)/deb/*.deb

# Installs the built package into this machine's nginx, checks it answers
# /auth/health/, then removes and purges it (root; own redis and nginx on
# 127.0.0.1:19111-19112).
test-deb: deb
	timeout 900 tests/deb/test_deb.sh $(BUILD)/deb

-include $(CORE_OBJS:.o=.d) $(LUA_TEST).d $(CT_TEST).d

test-t: module
	TEST_NGINX_LOAD_MODULES=$(abspath $(MODULE)) scripts/run-integration-tests

# Unit and t/ suites with AddressSanitizer and UBSan in the core and the
# module (Debian's nginx itself is not instrumented: the runtime is
# preloaded).  Any report fails the run.
# libstdc++ is preloaded too: ASan resolves __cxa_throw at startup, before
# nginx (a C program) loads the module and with it libstdc++.
ASAN_RT = $(shell $(CXX) -print-file-name=libasan.so) $(shell $(CXX) -print-file-name=libstdc++.so.6)
test-asan:
	$(MAKE) SANITIZE=1 BUILD=build-asan test-unit
	$(MAKE) SANITIZE=1 BUILD=build-asan module
	rm -f build-asan/asan.*
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(CURDIR)/build-asan/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/build-asan/ubsan \
	TEST_NGINX_LD_PRELOAD="$(ASAN_RT)" \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/build-asan/ngx_http_restauth_module.so \
		scripts/run-integration-tests
	@if ls build-asan/asan.* build-asan/ubsan.* >/dev/null 2>&1; then \
		cat build-asan/asan.* build-asan/ubsan.* 2>/dev/null | head -100; \
		echo "sanitizer reports found"; exit 1; fi

# Mutation testing (slow, not part of `test`): each mutation in
# tests/mutants/mutants.txt is applied in a scratch copy (build/mutants/),
# rebuilt and run against the suites until one fails; see scripts/mutants.
test-mutants:
	scripts/mutants

# `config` alone builds the module in a fresh copy of the nginx source tree
# (no Makefile, no build/), Debian's nginx loads it; missing libraries stop
# configure with the Debian package to install.
test-build:
	timeout 1800 tests/build/configure_build.sh

test-scripts:
	/usr/bin/python3 tests/scripts/test_scripts.py

# scripts/restauth-token alone, and against the module in both directions
# (its own redis-server and nginx on 127.0.0.1:19040-19045).
test-token: module
	RESTAUTH_MODULE=$(abspath $(MODULE)) timeout 900 /usr/bin/python3 tests/scripts/test_token.py

# The operators' example suite (examples/), as README "Testing your own
# configuration" runs it: under Test::Nginx when installed, else t/lib's.
test-examples: module
	cd examples && TEST_NGINX_BINARY=$(NGINX_BIN) TEST_NGINX_SERVER_PORT=19084 \
		TEST_NGINX_SERVROOT=$(abspath $(BUILD))/examples-servroot \
		TEST_NGINX_LOAD_MODULES=$(abspath $(MODULE)) \
		prove $$(perl -MTest::Nginx::Socket -e 1 2>/dev/null || echo -I ../t/lib) protected-locations.t

test-integration: module
	timeout 300 tests/integration/redis_recovery.sh
	timeout 300 tests/integration/slow_reply.sh
	timeout 300 tests/integration/nonblocking.sh
	timeout 300 tests/integration/registration_race.sh
	timeout 300 tests/integration/login_race.sh
	timeout 300 tests/integration/refresh_race.sh
	timeout 300 tests/integration/rename_race.sh
	timeout 300 tests/integration/upstream_protocols.sh
	timeout 300 tests/integration/django_import.sh
	timeout 300 tests/integration/busy_cpu.sh
	timeout 300 tests/integration/graceful_reload.sh

# The demo's login page driven in headless Chromium, end to end.
test-browser: module
	timeout 300 tests/browser/demo_flow.sh

# A short run of each libFuzzer target (clang); `make -C fuzz run` for long runs.
fuzz-smoke:
	$(MAKE) -C fuzz smoke

# Our tokens against an independent implementation (Debian's python3-jwt).
test-crosscheck: core
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) tests/crosscheck/jwt_tool.cpp $(CORE_LIB) $(LDLIBS_CORE) -o $(BUILD)/jwt_tool
	/usr/bin/python3 tests/crosscheck/jwt_crosscheck.py $(BUILD)/jwt_tool

test: test-unit test-ct test-lua test-crosscheck test-t test-integration test-browser test-asan fuzz-smoke test-scripts test-token test-examples test-build test-deb

# Debian 12 packages for building, testing and the demo (run as root).
DEB_PACKAGES := g++ make pkg-config nginx nginx-dev libssl-dev libhiredis-dev libcjson-dev libicu-dev \
	libcmocka-dev debhelper dpkg-dev redis-server redis-tools perl libtest-base-perl libtext-diff-perl \
	valgrind libwww-perl libipc-run-perl liblist-moreutils-perl libtest-longstring-perl liburi-perl \
	python3 python3-redis python3-aiosmtpd python3-jwt python3-cryptography openssl curl chromium clang libclang-rt-14-dev

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

demo: module
	scripts/demo
