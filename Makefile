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

.PHONY: all cargo install uninstall check-c clean-capi
all: $(OUT)/libwd.so.2 $(OUT)/libwd_comp.so.2

cargo:
	cargo build --release -p uadk-capi -p uadk-tool

# One Rust core is linked into each library; each exports only its own version node.
# `cargo` decides whether the archive changed; linking is cheap, so always relink.
$(OUT)/libwd.so.2: cargo capi/libwd.map
	@mkdir -p $(OUT)
	$(CC) $(SOFLAGS) -Wl,-soname,libwd.so.2 -Wl,--version-script=capi/libwd.map \
		-o $@ -Wl,--whole-archive $(ARCHIVE) -Wl,--no-whole-archive $(NATIVE_LIBS)
	ln -sf libwd.so.2 $(OUT)/libwd.so

$(OUT)/libwd_comp.so.2: cargo capi/libwd_comp.map $(OUT)/libwd.so.2
	$(CC) $(SOFLAGS) -Wl,-soname,libwd_comp.so.2 -Wl,--version-script=capi/libwd_comp.map \
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

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwd.so.2 $(DESTDIR)$(LIBDIR)/libwd.so \
		$(DESTDIR)$(LIBDIR)/libwd_comp.so.2 $(DESTDIR)$(LIBDIR)/libwd_comp.so \
		$(DESTDIR)$(LIBDIR)/pkgconfig/libwd.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libwd_comp.pc \
		$(DESTDIR)$(BINDIR)/uadk_tool
	rm -rf $(DESTDIR)$(INCLUDEDIR)/uadk

# Install into a scratch prefix and run the C test suite against it (ASAN=1 for AddressSanitizer).
check-c:
	rm -rf $(CURDIR)/target/c-prefix
	$(MAKE) install PREFIX=$(CURDIR)/target/c-prefix
	bash tests/c/run.sh $(CURDIR)/target/c-prefix

clean-capi:
	rm -rf $(OUT) target/c-prefix
