/*
 * FROZEN: plugin ABI 1.0 exactly as Saddle 0.2.0 shipped it (git tag 0.2.0); only this banner
 * was added. Never edit it: the tests build the 1.0 example plugins against this copy and run
 * them on the current host, which must keep loading them unchanged. The current header is
 * Plugins/ABI/include/saddle_plugin.h.
 *
 * saddle_plugin.h: the stable C interface between Saddle and its plugins.
 *
 * A plugin is a shared library exporting one function, `saddle_plugin_init`, which receives
 * the host's function table. The plugin first declares itself (name, version, the ABI version
 * it was built against), then registers components. Only plain C types cross the boundary.
 *
 * Versioning. The ABI has a major and a minor version. The host refuses a plugin whose major
 * version differs from its own, or whose minor version is newer than its own. Every struct
 * starts with its own size (`struct_size = sizeof(the struct)`), so later minor versions can
 * append fields: the host reads only the fields the declared size covers and refuses sizes
 * smaller than the version requires.
 *
 * Lifetime. Every pointer a plugin hands over (strings, arrays, descriptors) must stay valid
 * for as long as the library is loaded; the host never unloads plugins.
 *
 * Kernels. Numeric work happens in kernels: plain C functions over contiguous buffers,
 * called once per buffer (never per element) through libffi. Each kernel slot has a Float32
 * and a Float64 function (either may be NULL when that type is not supported) and a signature:
 * one role character per argument, in the order the function takes them. The host fills each
 * argument according to its role:
 *
 *   'n' int64_t             number of elements              (activations, optimizers)
 *   'b' int64_t             batch rows                      (layers)
 *   'i' int64_t             input features                  (layers)
 *   'o' int64_t             output features                 (layers)
 *   'x' const T *           input values
 *   'y' T *                 output values (the kernel writes them)
 *   'g' const T *           upstream gradient (cotangent of the output)
 *   'X' const T *           tangent of the input            (second-order rules)
 *   'd' T *                 gradient with respect to the input (written)
 *   'w' const T *const *    the layer's weights, in declared order
 *   'W' const T *const *    tangents of the weights         (second-order rules)
 *   'D' T *const *          gradients with respect to the weights (written)
 *   'p' T *                 a parameter, updated in place   (optimizers)
 *   's' T *const *          optimizer state buffers, updated in place
 *   'h' const double *      hyperparameters, in declared order
 *   'l' double              learning rate                   (optimizers)
 *   't' int64_t             update step, 1 on the first     (optimizers)
 *   'e' saddle_sink *       where to report an error message
 *
 * T is float for the f32 function and double for the f64 function. Kernels return
 * SADDLE_OK, or SADDLE_ERROR after reporting a message through their 'e' argument. Output
 * buffers are allocated by the host; kernels write every element of them.
 */
#ifndef SADDLE_PLUGIN_H
#define SADDLE_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SADDLE_PLUGIN_ABI_MAJOR 1
#define SADDLE_PLUGIN_ABI_MINOR 0

/* The exported entry point's name. */
#define SADDLE_PLUGIN_ENTRY_POINT "saddle_plugin_init"

#define SADDLE_OK 0
#define SADDLE_ERROR 1

/* Hyperparameter types. Values reach kernels as doubles (booleans as 0 or 1). */
#define SADDLE_PARAMETER_NUMBER 0
#define SADDLE_PARAMETER_INTEGER 1
#define SADDLE_PARAMETER_BOOLEAN 2

/* Where kernels and shape functions report errors. */
typedef struct saddle_sink {
    uint32_t struct_size;
    void *context;
    void (*report)(void *context, const char *message);
} saddle_sink;

/* One hyperparameter: its JSON key (snake_case), type, range and default. */
typedef struct saddle_parameter {
    uint32_t struct_size;
    const char *name;
    int32_t type;
    int32_t required; /* nonzero: no default; the configuration must give it */
    double default_value;
    double minimum;
    double maximum;
    const char *summary;
} saddle_parameter;

/* A kernel slot: its signature (role characters) and one function per element type. */
typedef struct saddle_kernel {
    uint32_t struct_size;
    const char *signature;
    void *f32;
    void *f64;
} saddle_kernel;

/* An element-wise activation y = f(x) with hyperparameters.
 * forward, derivative (f') and second_derivative (f'', optional: leave both functions NULL)
 * take the roles n, x, y, h, e; x and y are the same length. Without f'' the activation
 * trains, but exact Hessian-vector products through it are refused. */
typedef struct saddle_activation {
    uint32_t struct_size;
    const char *name; /* namespaced: "acme.swish" */
    const char *summary;
    uint32_t parameter_count;
    const saddle_parameter *parameters;
    saddle_kernel forward;
    saddle_kernel derivative;
    saddle_kernel second_derivative;
} saddle_activation;

/* A layer on vectors: input [batch, in], output [batch, out], with weight tensors.
 *   forward       roles b i o x w y h e    y = f(x; w)
 *   backward      roles b i o x w g d D h e  d = (df/dx)^T g, D[k] = (df/dw_k)^T g
 *   jvp           (optional) b i o x w X W y h e: y = (df/dx) X + sum_k (df/dw_k) W[k]
 *   backward_jvp  (optional) b i o x w g X W d D h e: the directional derivative of
 *                 backward's (d, D) when x moves along X and w along W, with g fixed.
 * jvp and backward_jvp together are the second-order rule; without them the layer trains but
 * exact Hessian-vector products through it are refused. */
typedef struct saddle_layer {
    uint32_t struct_size;
    const char *name;
    const char *summary;
    uint32_t parameter_count;
    const saddle_parameter *parameters;
    /* The output features for `input_features` inputs. */
    int32_t (*output_features)(const double *hyper, int64_t input_features, int64_t *output_features, saddle_sink *sink);
    uint32_t weight_count;
    const char *const *weight_names;
    /* The shape of weight `index` (rank 1 or 2) into dims[0 ..< *rank]. */
    int32_t (*weight_shape)(uint32_t index, const double *hyper, int64_t input_features, int64_t output_features,
                            int64_t *dims, int32_t *rank, saddle_sink *sink);
    /* Initial values of weight `index` (count elements), given as many uniform numbers in [0, 1)
     * from the run's seeded generator. */
    int32_t (*initialize)(uint32_t index, const double *hyper, int64_t input_features, int64_t output_features,
                          const double *uniform, double *values, int64_t count, saddle_sink *sink);
    saddle_kernel forward;
    saddle_kernel backward;
    saddle_kernel jvp;
    saddle_kernel backward_jvp;
} saddle_layer;

/* An optimizer: `update` (roles n p g s h l t e) changes a parameter in place from its gradient
 * and state buffers. Each state buffer has the parameter's shape and starts at zero.
 * The hyperparameters must include "learning_rate"; the current (scheduled) rate is the 'l'
 * argument. */
typedef struct saddle_optimizer {
    uint32_t struct_size;
    const char *name;
    const char *summary;
    uint32_t parameter_count;
    const saddle_parameter *parameters;
    uint32_t state_count;
    const char *const *state_names;
    saddle_kernel update;
} saddle_optimizer;

/* What a plugin says about itself. */
typedef struct saddle_plugin_info {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name; /* the namespace of its components, e.g. "acme" */
    const char *version;
    const char *summary;
} saddle_plugin_info;

/* The host's function table. Each call returns SADDLE_OK or SADDLE_ERROR (the host then has
 * recorded why; the plugin should stop and return SADDLE_ERROR). */
typedef struct saddle_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *context;
    int32_t (*declare)(void *context, const saddle_plugin_info *info);
    int32_t (*register_activation)(void *context, const saddle_activation *activation);
    int32_t (*register_layer)(void *context, const saddle_layer *layer);
    int32_t (*register_optimizer)(void *context, const saddle_optimizer *optimizer);
    void (*report)(void *context, const char *message);
} saddle_host;

typedef int32_t (*saddle_plugin_init_fn)(const saddle_host *host);

#if defined(__GNUC__)
#define SADDLE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SADDLE_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif
