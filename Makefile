# guidedbp: `make` builds ./guidedbp; see README.md for the other targets.
CC      ?= cc
PKGS    := libcjson stb libjpeg nettle zlib
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

# Installation: `make install PREFIX=/usr DESTDIR=/tmp/pkg`. DATADIR is
# compiled in (where the default weights are looked for), so the binary is
# rebuilt when PREFIX changes.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/guidedbp
MANDIR  ?= $(PREFIX)/share/man/man1
DOCDIR  ?= $(PREFIX)/share/doc/guidedbp

BUILD   ?= build
BIN     ?= guidedbp
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/labels_data.o
# STB_FROM_HEADERS=1 (make check): stb compiled from the headers libstb-dev
# installs (the source of Debian's libstb) into the build, so the
# sanitizers see inside the PNG decoder, instead of linking libstb.so.
ifeq ($(STB_FROM_HEADERS),1)
LIB_OBJ += $(BUILD)/stb_image_impl.o
PKG_LIBS := $(shell pkg-config --libs $(filter-out stb,$(PKGS)))
endif
TESTS   := $(patsubst test/%.c,$(BUILD)/%,$(wildcard test/test_*.c))
PYTHON  ?= /usr/bin/python3

.PHONY: all test check demo bench bench-compare bench-compare-eval fuzz weights fixtures clean install uninstall FORCE
all: $(BIN)

$(BIN): $(BUILD)/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/main.o: CFLAGS += -DSTB_IMAGE_VERSION='"$(STB_IMAGE_VERSION)"'

# cli.o holds DATADIR; the stamp changes (and cli.o is rebuilt) only when it does.
$(BUILD)/datadir.stamp: FORCE | $(BUILD)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
$(BUILD)/cli/cli.o: $(BUILD)/datadir.stamp
$(BUILD)/cli/cli.o: CFLAGS += -DGUIDEDBP_DATADIR='"$(DATADIR)"'

# The class names and WordNet ids are compiled in, so the binary needs no
# data files. Through a temporary, so that lists the generator refuses (line
# counts that differ) leave no output behind.
$(BUILD)/labels_data.c: weights/imagenet_classes.txt weights/imagenet_wnids.txt \
    src/cli/labels_to_c.sh | $(BUILD)
	sh src/cli/labels_to_c.sh $(filter %.txt,$^) > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; false; }

$(BUILD)/labels_data.o: $(BUILD)/labels_data.c
	$(CC) $(CFLAGS) -c -o $@ $<

# stb's own code, unwarned (it is not ours). Two UBSan checks are left out
# for it, both harmless on x86 and upstream's: shifts of negative values in
# its JPEG decoder (issue 1291; guidedbp hands it no JPEG), and NULL + 0
# when a PNG's first IDAT chunk is empty (stb_image.h 2.27 line 5130, a
# valid PNG). Every memory access is still checked.
$(BUILD)/stb_image_impl.o: test/fuzz/stb_image_impl.c | $(BUILD)
	$(CC) $(CFLAGS) -w -fno-sanitize=shift,pointer-overflow -c -o $@ $<

$(BUILD)/test_%: test/test_%.c $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

$(BUILD):
	mkdir -p $@

test: $(BIN) $(TESTS)
	sh test/run.sh $(BUILD) ./$(BIN)

# The whole suite again, built with AddressSanitizer and UBSan in a separate
# directory so the normal build is untouched; stb is built in with them.
check:
	$(MAKE) test BUILD=build/check BIN=build/check/guidedbp STB_FROM_HEADERS=1 \
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

# --eval's metrics against a batched PyTorch implementation of them.
bench-compare-eval: $(BIN)
	sh test/bench/compare_eval.sh ./$(BIN)

# Coverage-guided fuzzing with libFuzzer (clang), each target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz:
	sh test/fuzz/fuzz.sh $(FUZZ_SECONDS)

weights:
	sh scripts/get_weights.sh

# The binary, the weight tools, the man page and the docs. Weights are not
# installed (they are not ours to redistribute): `make weights` puts them in
# $$XDG_DATA_HOME/guidedbp, or copy alexnet.safetensors to DATADIR.
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/guidedbp
	install -m 755 scripts/convert_pth.py $(DESTDIR)$(BINDIR)/guidedbp-convert
	install -m 644 doc/guidedbp.1 $(DESTDIR)$(MANDIR)/guidedbp.1
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 644 weights/README.md $(DESTDIR)$(DOCDIR)/WEIGHTS.md

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/guidedbp $(DESTDIR)$(BINDIR)/guidedbp-convert \
	    $(DESTDIR)$(MANDIR)/guidedbp.1 $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/WEIGHTS.md
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR) 2>/dev/null

fixtures:
	$(PYTHON) test/gen/make_fixtures.py

clean:
	rm -rf build $(BIN)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
