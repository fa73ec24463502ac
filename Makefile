# Build and install the C ABI (libwd.so.2, libwd_comp.so.2, headers, pkg-config files) and
# uadk_tool.   make install PREFIX=/usr/local DESTDIR=   |   make uninstall   |   make check-c
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
VERSION := 2.10
CC ?= cc

OUT := target/capi
ARCHIVE := target/release/libuadk_capi.a
NATIVE_LIBS := -lisal -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
SOFLAGS := -shared -Wl,-z,defs -Wl,--gc-sections
# The installed libraries find each other where they lie: libwd_comp.so.2 needs
# libwd.so.2, and a program linked against a non-system prefix must start without
# LD_LIBRARY_PATH (DT_RUNPATH $ORIGIN; UADK's own libraries carry none).
RUNPATH := -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN'

.PHONY: all cargo install uninstall check-c check-conformance clean-capi
all: $(OUT)/libwd.so.2 $(OUT)/libwd_comp.so.2

cargo:
	cargo build --release -p uadk-capi -p uadk-tool

# One Rust core is linked into each library; each exports only its own version node.
# `cargo` decides whether the archive changed; linking is cheap, so always relink.
$(OUT)/libwd.so.2: cargo capi/libwd.map
	@mkdir -p $(OUT)
	$(CC) $(SOFLAGS) $(RUNPATH) -Wl,-soname,libwd.so.2 -Wl,--version-script=capi/libwd.map \
		-o $@ -Wl,--whole-archive $(ARCHIVE) -Wl,--no-whole-archive $(NATIVE_LIBS)
	ln -sf libwd.so.2 $(OUT)/libwd.so

$(OUT)/libwd_comp.so.2: cargo capi/libwd_comp.map $(OUT)/libwd.so.2
	$(CC) $(SOFLAGS) $(RUNPATH) -Wl,-soname,libwd_comp.so.2 -Wl,--version-script=capi/libwd_comp.map \
		-o $@ -Wl,--whole-archive $(ARCHIVE) -Wl,--no-whole-archive \
		-Wl,--no-as-needed -L$(OUT) -lwd -Wl,--as-needed $(NATIVE_LIBS)
	ln -sf libwd_comp.so.2 $(OUT)/libwd_comp.so

# The .pc files name the install's own prefix, so they are written at install time.
PC_SED := -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|'

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/uadk $(DESTDIR)$(BINDIR)
	install -m 0755 $(OUT)/libwd.so.2 $(OUT)/libwd_comp.so.2 $(DESTDIR)$(LIBDIR)/
	ln -sf libwd.so.2 $(DESTDIR)$(LIBDIR)/libwd.so
	ln -sf libwd_comp.so.2 $(DESTDIR)$(LIBDIR)/libwd_comp.so
	sed $(PC_SED) capi/libwd.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libwd.pc
	sed $(PC_SED) capi/libwd_comp.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libwd_comp.pc
	install -m 0644 capi/include/uadk/*.h $(DESTDIR)$(INCLUDEDIR)/uadk/
	install -m 0755 target/release/uadk_tool $(DESTDIR)$(BINDIR)/
	@$(LDCONFIG_STEP)

# An install into a directory the dynamic linker searches (/lib, /usr/lib, or one that
# /etc/ld.so.conf names) refreshes its cache with ldconfig, so programs find the new
# libraries at once; not under DESTDIR (a staged install), and only as root.
LD_DIRS = /lib /lib64 /usr/lib /usr/lib64 $$(cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null)
LDCONFIG_STEP = if [ -z "$(DESTDIR)" ] && (for d in $(LD_DIRS); do \
		[ "$$d" = "$(LIBDIR)" ] && exit 0; done; exit 1); then \
	if [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then \
		echo "ldconfig"; ldconfig; \
	else echo "note: run ldconfig as root so that programs find $(LIBDIR)/libwd*.so.2"; fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwd.so.2 $(DESTDIR)$(LIBDIR)/libwd.so \
		$(DESTDIR)$(LIBDIR)/libwd_comp.so.2 $(DESTDIR)$(LIBDIR)/libwd_comp.so \
		$(DESTDIR)$(LIBDIR)/pkgconfig/libwd.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libwd_comp.pc \
		$(DESTDIR)$(BINDIR)/uadk_tool
	rm -rf $(DESTDIR)$(INCLUDEDIR)/uadk
	@$(LDCONFIG_STEP)

# Install into a scratch prefix and run the C test suite against it (ASAN=1 for AddressSanitizer).
check-c:
	rm -rf $(CURDIR)/target/c-prefix
	$(MAKE) install PREFIX=$(CURDIR)/target/c-prefix
	bash tests/c/run.sh $(CURDIR)/target/c-prefix

# Install into the scratch prefix and run UADK v2.10's own programs against it
# (tests/conformance; skips when ../shared/uadk is absent).
check-conformance:
	rm -rf $(CURDIR)/target/c-prefix
	$(MAKE) install PREFIX=$(CURDIR)/target/c-prefix
	CONF_RESULTS=$(CURDIR)/target/conformance.tsv bash tests/conformance/run.sh $(CURDIR)/target/c-prefix

clean-capi:
	rm -rf $(OUT) target/c-prefix
