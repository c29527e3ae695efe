// Host-side helpers for loading plugins: libffi type descriptors (as functions, since Swift 6
// rejects libffi's global descriptors as shared mutable state) and an in-memory file to load
// exactly the bytes that were hashed.
#ifndef SADDLE_PLUGIN_HOST_H
#define SADDLE_PLUGIN_HOST_H

#include <ffi.h>
#include <stddef.h>
#include <stdint.h>

static inline ffi_type *saddle_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *saddle_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *saddle_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *saddle_ffi_pointer(void) { return &ffi_type_pointer; }

/// An anonymous in-memory file holding `bytes`, or -1 with errno set.
int saddle_memory_file(const char *name, const void *bytes, size_t count);

#endif
