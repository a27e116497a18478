# guidedbp: `make` builds ./guidedbp; see README.md for the other targets.
CC      ?= cc
PKGS    := libcjson stb libjpeg
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
# stb_image.h has no version macro, only its first line: --version reports it.
STB_IMAGE_VERSION := $(shell sed -n '1s/.* - v\([0-9.]*\) - .*/\1/p' \
    $(patsubst -I%,%,$(filter -I%stb,$(shell pkg-config --cflags stb)))/stb_image.h)
# -ffp-contract=off: no fused multiply-adds the reference does not make; we
# compare with PyTorch to float precision and want the same bits every build.
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Wshadow \
           -ffp-contract=off -MMD -MP -Isrc $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm

BUILD   ?= build
BIN     ?= guidedbp
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/labels_data.o
TESTS   := $(patsubst test/%.c,$(BUILD)/%,$(wildcard test/test_*.c))
PYTHON  ?= /usr/bin/python3

.PHONY: all test check demo bench bench-compare fuzz weights fixtures clean
all: $(BIN)

$(BIN): $(BUILD)/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/main.o: CFLAGS += -DSTB_IMAGE_VERSION='"$(STB_IMAGE_VERSION)"'

# The class names are compiled in, so the binary needs no data files.
$(BUILD)/labels_data.c: weights/imagenet_classes.txt src/cli/labels_to_c.sh | $(BUILD)
	sh src/cli/labels_to_c.sh $< > $@

$(BUILD)/labels_data.o: $(BUILD)/labels_data.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/test_%: test/test_%.c $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

$(BUILD):
	mkdir -p $@

test: $(BIN) $(TESTS)
	sh test/run.sh $(BUILD) ./$(BIN)

# The whole suite again, built with AddressSanitizer and UBSan in a separate
# directory so the normal build is untouched.
check:
	$(MAKE) test BUILD=build/check BIN=build/check/guidedbp \
	    OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined"

demo: $(BIN)
	sh scripts/demo.sh ./$(BIN)

# Benchmarks print numbers; they are never part of `make test`.
bench: $(BUILD)/bench
	$(BUILD)/bench

$(BUILD)/bench: test/bench/bench.c $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

bench-compare: $(BIN)
	sh test/bench/compare.sh ./$(BIN)

# Coverage-guided fuzzing with libFuzzer (clang), each target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	sh test/fuzz/fuzz.sh $(FUZZ_SECONDS)

weights:
	sh scripts/get_weights.sh

fixtures:
	$(PYTHON) test/gen/make_fixtures.py

clean:
	rm -rf build $(BIN)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
