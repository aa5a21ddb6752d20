# SPDX-License-Identifier: GPL-2.0-or-later
#
# LUKS encryption done right in QEMU: a patch series over QEMU 10.0.x.
# "make" sets up build/qemu (base + series as git commits) and builds the
# patched tools into build/bin/; "make check" runs every test suite.

TOP := $(CURDIR)
BUILD := $(TOP)/build
SRC := $(BUILD)/qemu
BIN := $(BUILD)/bin
APT_CONF := $(BUILD)/apt/apt.conf
S := $(TOP)/scripts

.PHONY: all apt deps tree reapply build check check-full check-unit \
	check-iotests check-project check-patches check-bisect series \
	series-check demo fuzz \
	bench bench-cipher bench-mirror clean

all: build

apt:
	@$(S)/apt-setup.sh $(BUILD)/apt > /dev/null

deps: apt
	$(S)/deps.sh $(APT_CONF)

# The work tree is made once; later edits happen in it (see README).
tree: deps
	@test -d $(SRC)/.git || \
	    $(S)/setup-tree.sh "$$($(S)/fetch-base.sh $(APT_CONF))" \
	        $(SRC) $(TOP)/patches

# Throw the work tree away and make it again from patches/.
reapply: deps
	rm -rf $(SRC)
	$(MAKE) tree

build: tree
	$(S)/build.sh $(SRC) main
	$(S)/build.sh $(SRC) system qemu-system-x86_64
	$(S)/link-bin.sh $(SRC) $(BIN)

check: build check-patches
	$(S)/check.sh $(TOP)

# check, plus the -luks iotests with the ASan/UBSan tools and four seeds
# of 60 steps of the key management model (not in CI's time budget)
check-full: build check-patches
	MODEL_SEEDS=4 MODEL_STEPS=60 \
	$(S)/check.sh $(TOP) unit luks qcow2 series mirror sanitizers \
	    project asan_iotests

# libFuzzer over the LUKS header code for FUZZ_SECONDS (default 600)
FUZZ_SECONDS ?= 600
fuzz: build
	$(S)/fuzz.sh $(TOP) $(FUZZ_SECONDS)

check-unit: build
	$(S)/check.sh $(TOP) unit

check-iotests: build
	$(S)/check.sh $(TOP) luks qcow2 series mirror

check-project: build
	$(S)/check.sh $(TOP) project

check-patches: tree
	$(S)/check-patches.sh $(SRC) $(TOP)/patches

check-bisect: tree
	$(S)/check-bisect.sh $(TOP)

series: tree
	$(S)/export-series.sh $(SRC) $(TOP)/patches

series-check: tree
	$(S)/check-series.sh $(SRC) $(TOP)/patches

demo: build
	$(S)/demo.sh $(BIN)

# Patched against unpatched I/O and cipher speed; the table goes to
# build/bench.txt too (README shows the latest).
bench: tree
	$(S)/bench.sh $(TOP) | tee $(BUILD)/bench.txt

bench-cipher: build
	$(S)/bench-cipher.sh $(TOP)

bench-mirror: build
	$(S)/bench-mirror.sh $(BIN)

clean:
	rm -rf $(BUILD)
