# SPDX-License-Identifier: MIT
# examples/examples.mk - the example ranking plugin, built as a shared object.
# Included from the top-level Makefile (after `all:`), so $(B), $(CC),
# $(WARN), $(CFLAGS) and $(CPPFLAGS) are the tree's: under SAN=1 the plugin
# is sanitized like the etmem-rank that loads it.
#
# etmem-rank loads only root:root files of mode 0700 or 0500, hence the chmod.

EXAMPLE_PLUGINS := $(B)/examples/plugin-coldest.so

all: $(EXAMPLE_PLUGINS)

$(B)/examples/plugin-coldest.so: examples/plugin-coldest/coldest.c include/etmem/plugin.h include/etmem/record.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -fPIC -shared -o $@ $<
	chmod 0700 $@
