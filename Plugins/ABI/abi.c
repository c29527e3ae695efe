// The plugin ABI is a header only; this file checks the layout facts the host relies on.
#include "saddle_plugin.h"

#include <stddef.h>

_Static_assert(offsetof(saddle_activation, struct_size) == 0, "every struct starts with its size");
_Static_assert(offsetof(saddle_layer, struct_size) == 0, "every struct starts with its size");
_Static_assert(offsetof(saddle_optimizer, struct_size) == 0, "every struct starts with its size");
_Static_assert(sizeof(int64_t) == 8 && sizeof(double) == 8, "kernel argument widths");
// ABI 1.1 appends fields: the 1.0 structs (Plugins/ABI-1.0) are exact prefixes of these.
_Static_assert(offsetof(saddle_layer, output_shape) == 208, "saddle_layer 1.0 is 208 bytes");
_Static_assert(offsetof(saddle_optimizer, string_parameter_count) == 88, "saddle_optimizer 1.0 is 88 bytes");
_Static_assert(offsetof(saddle_plugin_info, flags) == 32, "saddle_plugin_info 1.0 is 32 bytes");
_Static_assert(sizeof(saddle_activation) == 136, "saddle_activation is unchanged since 1.0");
_Static_assert(sizeof(saddle_parameter) == 56, "saddle_parameter is unchanged since 1.0 (arrays of it keep their stride)");
_Static_assert(sizeof(saddle_shape) == 72, "saddle_shape never grows");
