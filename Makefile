# SPDX-License-Identifier: GPL-2.0
#
# guise top-level build. See README.md; the two commands a newcomer needs
# are `make demo` and `make check`.

# The module builds against the running kernel's headers when they exist,
# else against Debian's linux-headers-amd64 (the test VM's kernel).
KVER ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then uname -r; \
	else ls -1d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | \
	tail -n 1 | sed 's|.*/linux-headers-||'; fi)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
TESTS ?=
export KVER KDIR PREFIX DESTDIR TESTS

.PHONY: all module userspace clean install modules_install check demo lint \
	deps bench

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userspace

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

install: userspace
	$(MAKE) -C userspace install

deps:
	scripts/deps.sh all

check:
	scripts/check.sh

demo:
	scripts/demo.sh

lint:
	scripts/lint.sh

bench:
	scripts/bench.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	rm -rf build
