// The plugin ABI is a header only; this file checks the layout facts the host relies on.
#include "saddle_plugin.h"

#include <stddef.h>

_Static_assert(offsetof(saddle_activation, struct_size) == 0, "every struct starts with its size");
_Static_assert(offsetof(saddle_layer, struct_size) == 0, "every struct starts with its size");
_Static_assert(offsetof(saddle_optimizer, struct_size) == 0, "every struct starts with its size");
_Static_assert(sizeof(int64_t) == 8 && sizeof(double) == 8, "kernel argument widths");
