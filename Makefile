# ngx_http_restauth — build and test entry points.
#   make            core library + dynamic module
#   make test       unit tests (cmocka) + integration tests (t/, real nginx + redis)

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       := build
CXX         ?= g++
CXXFLAGS    ?= -O2 -g
CXXFLAGS    += -std=c++17 -fPIC -Wall -Wextra -fvisibility=hidden
CPPFLAGS    += -Isrc -MMD -MP
LDLIBS_CORE := -lcrypto -lhiredis -lcjson

CORE_SRCS   := $(wildcard src/*.cpp)
CORE_OBJS   := $(CORE_SRCS:src/%.cpp=$(BUILD)/core/%.o)
CORE_LIB    := $(BUILD)/librestauth.a
UNIT_SRCS   := $(wildcard tests/unit/test_*.cpp)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.cpp=$(BUILD)/unit/%)

.PHONY: all core unit module test test-unit test-t clean

all: module

core: $(CORE_LIB)

$(BUILD)/core/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< -o $@ $(CORE_LIB) -lcmocka $(LDLIBS_CORE)

unit: $(UNIT_BINS)

test-unit: unit
	@scripts/run-unit-tests $(UNIT_BINS)

clean:
	rm -rf $(BUILD) t/servroot*

-include $(CORE_OBJS:.o=.d)
