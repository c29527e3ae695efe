// Host-side helpers for loading plugins: libffi type descriptors (as functions, since Swift 6
// rejects libffi's global descriptors as shared mutable state), an in-memory file to load
// exactly the bytes that were hashed, and the sizes of the ABI 1.0 structs that 1.1 extends.
#ifndef SADDLE_PLUGIN_HOST_H
#define SADDLE_PLUGIN_HOST_H

#include <ffi.h>
#include <stddef.h>
#include <stdint.h>

static inline ffi_type *saddle_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *saddle_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *saddle_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *saddle_ffi_pointer(void) { return &ffi_type_pointer; }

/// sizeof(saddle_layer), sizeof(saddle_optimizer) and sizeof(saddle_plugin_info) in ABI 1.0
/// (checked against the 1.1 layout in Plugins/ABI/abi.c).
enum { SADDLE_LAYER_SIZE_1_0 = 208, SADDLE_OPTIMIZER_SIZE_1_0 = 88, SADDLE_PLUGIN_INFO_SIZE_1_0 = 32 };

/// An anonymous in-memory file holding `bytes`, or -1 with errno set.
int saddle_memory_file(const char *name, const void *bytes, size_t count);

/// Copies the first `declared` bytes of the descriptor at `source` (at most `full`) into
/// `destination` (`full` bytes) and zeroes the rest: the fields a smaller (older) struct lacks
/// read as zero or NULL, and nothing past the plugin's struct is read.
static inline void saddle_copy_descriptor(void *destination, const void *source, size_t declared, size_t full) {
    size_t n = declared < full ? declared : full;
    const unsigned char *s = (const unsigned char *)source;
    unsigned char *d = (unsigned char *)destination;
    for (size_t i = 0; i < n; i++) d[i] = s[i];
    for (size_t i = n; i < full; i++) d[i] = 0;
}

#endif
