/*
 * saddle_plugin.h: the stable C interface between Saddle and its plugins (plugin ABI 1.1).
 *
 * A plugin is a shared library exporting one function, `saddle_plugin_init`, which receives
 * the host's function table. The plugin first declares itself, once (name, version, the ABI
 * version it was built against), then registers components. Only plain C types cross the boundary.
 *
 * VERSIONING. The ABI has a major and a minor version. The host refuses a plugin whose major
 * version differs from its own, or whose minor version is newer than its own. Every
 * descriptor struct starts with its own size (`struct_size = sizeof(the struct)`), so later
 * minor versions append fields: the host reads only the fields the declared size covers (the
 * rest count as zero or NULL) and refuses a size smaller than the plugin's declared minor
 * version requires. A plugin built against ABI 1.0 (Plugins/ABI-1.0/include, frozen) loads and
 * runs unchanged on this host. Fields and roles marked "1.1" below are new in 1.1.
 *
 * THE CONTRACT between host and kernels:
 *   - Output buffers ('y', 'd', 'D') arrive with unspecified contents: a kernel writes every
 *     element of them. (`saddle plugins check` fills them with a sentinel and reports any
 *     element left unwritten, and any write past the declared size.) 'U' is the exception: it
 *     arrives holding the current buffer values.
 *   - No buffer passed to a kernel overlaps another one passed to the same call; inputs are
 *     never outputs. Inputs (const) must not be written.
 *   - Buffers are aligned to their element type (4 bytes for float, 8 for double) and no more;
 *     they are contiguous, row-major, batch first.
 *   - Threads: unless the plugin declares SADDLE_PLUGIN_THREAD_SAFE in its info flags (1.1), the
 *     host holds one lock per plugin around every call into it (kernels, shape functions,
 *     initializers), so no two calls into the plugin overlap. With the flag, any of its
 *     functions may run on several threads at once, on different buffers.
 *   - Lifetime: during a declare or register_* call the host copies the struct it is given and
 *     everything it points to (names, strings, arrays, shapes), so descriptors may live on the
 *     stack; the functions (kernels, shape functions, initializers) must stay valid for as long
 *     as the library is loaded, which they do: the host never unloads plugins. Pointers the host
 *     passes to a call (buffers, shapes, sinks, random streams) are valid during that call only.
 *   - Errors: a function reports a message through its saddle_sink ('e' in kernels) and
 *     returns SADDLE_ERROR; the host copies the message and throws an error naming the
 *     component and the function. Kernels must not abort, exit or longjmp.
 *
 * KERNELS. Numeric work happens in kernels: plain C functions over contiguous buffers,
 * called once per buffer (never per element) through libffi. Each kernel slot has a Float32
 * and a Float64 function (either may be NULL when that type is not supported) and a signature:
 * one role character per argument, in the order the function takes them. The host fills each
 * argument according to its role:
 *
 *   'n' int64_t                 number of elements              (activations, optimizers)
 *   'b' int64_t                 batch rows                      (layers)
 *   'i' int64_t                 input features per example (product of the input's dims)
 *   'o' int64_t                 output features per example (product of the output's dims)
 *   'x' const T *               input values
 *   'y' T *                     output values (written)
 *   'g' const T *               upstream gradient (cotangent of the output)
 *   'X' const T *               tangent of the input            (second-order rules)
 *   'd' T *                     gradient with respect to the input (written)
 *   'w' const T *const *        the layer's weights, in declared order
 *   'W' const T *const *        tangents of the weights         (second-order rules)
 *   'D' T *const *              gradients with respect to the weights (written)
 *   'p' T *                     a parameter, updated in place   (optimizers)
 *   's' T *const *              optimizer state buffers, updated in place
 *   'h' const double *          hyperparameters, in declared order
 *   'l' double                  learning rate                   (optimizers)
 *   't' int64_t                 update step, 1 on the first     (optimizers)
 *   'e' saddle_sink *           where to report an error message
 *   'I' const saddle_shape *    1.1: the input's shape per example (batch excluded)  (layers)
 *   'O' const saddle_shape *    1.1: the output's shape per example                  (layers)
 *   'm' int64_t                 1.1: SADDLE_MODE_TRAINING or SADDLE_MODE_INFERENCE   (layers)
 *   'u' const T *const *        1.1: the layer's buffers, in declared order          (layers)
 *   'U' T *const *              1.1: new buffer values (forward only); see saddle_layer
 *   'r' saddle_random *         1.1: per-example random streams                      (layers)
 *   'k' int64_t                 1.1: number of tangent directions K (jvp, backward_jvp)
 *   'G' const T *               1.1: tangent of the upstream gradient (backward_jvp)
 *   'P' const saddle_shape *    1.1: the parameter's full shape                      (optimizers)
 *   'S' const char *const *     1.1: string hyperparameters, in declared order
 *   'q' int64_t                 1.1: the gradients the host needs from backward (and their
 *                               tangents from backward_jvp), as bits: bit 0
 *                               the input's ('d'), bit j+1 weight j's ('D[j]'). A kernel taking
 *                               'q' may skip the others (their buffers are still passed, and
 *                               their contents ignored); one without 'q' writes them all.
 *
 * A signature lists any of the roles its slot allows (listed with each struct below), each at
 * most once, in the order the function takes them; some roles are required (a layer's forward
 * needs b, x, y, and w when it has weights; backward needs b, g, d, and D with weights; jvp
 * needs b, X, y, and W with weights; backward_jvp needs b, d, and W and D with weights; an
 * activation's kernels need n, x, y; an optimizer's update needs n, p, g). Roles marked 1.1 are
 * refused from a plugin that declares ABI 1.0.
 *
 * T is float for the f32 function and double for the f64 function. Kernels return
 * SADDLE_OK, or SADDLE_ERROR after reporting a message through their 'e' argument.
 */
#ifndef SADDLE_PLUGIN_H
#define SADDLE_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SADDLE_PLUGIN_ABI_MAJOR 1
#define SADDLE_PLUGIN_ABI_MINOR 1

/* The exported entry point's name. */
#define SADDLE_PLUGIN_ENTRY_POINT "saddle_plugin_init"

#define SADDLE_OK 0
#define SADDLE_ERROR 1

/* Hyperparameter types. Values reach kernels as doubles (booleans as 0 or 1). */
#define SADDLE_PARAMETER_NUMBER 0
#define SADDLE_PARAMETER_INTEGER 1
#define SADDLE_PARAMETER_BOOLEAN 2

/* 1.1: the 'm' argument. */
#define SADDLE_MODE_INFERENCE 0
#define SADDLE_MODE_TRAINING 1

/* 1.1: saddle_plugin_info.flags. */
#define SADDLE_PLUGIN_THREAD_SAFE 1u

/* 1.1: saddle_layer.transform_role, how a layer takes part in Net2Net growth. */
#define SADDLE_TRANSFORM_NONE 0         /* it does not: transforms refuse to widen or deepen it */
#define SADDLE_TRANSFORM_UNITS 1        /* it has output units of its own (dense, convolution) */
#define SADDLE_TRANSFORM_FEATURE_WISE 2 /* output unit j depends on input feature j alone */

/* 1.1: the largest rank of a per-example shape. */
#define SADDLE_MAX_RANK 8

/* Where kernels and shape functions report errors. */
typedef struct saddle_sink {
    uint32_t struct_size;
    void *context;
    void (*report)(void *context, const char *message);
} saddle_sink;

/* 1.1: a shape per example, batch excluded: [features], [channels, height, width], ...
 * A value type of fixed layout (it never grows). Unused dims are 0. */
typedef struct saddle_shape {
    int32_t rank;
    int32_t reserved; /* 0 */
    int64_t dims[SADDLE_MAX_RANK];
} saddle_shape;

/* 1.1: the 'r' argument. `uniform` writes the next `count` numbers in [0, 1) of example
 * `example`'s stream (0 <= example < batch) into `values`. Each example has its own stream,
 * derived from the run's seeded generator and the example's global index in the batch, so a
 * batch split over the processes of a data-parallel job draws what it would draw whole. The
 * backward and second-order kernels of the same pass receive streams that replay the forward
 * kernel's draws: the same calls return the same numbers (a dropout mask is redrawn, not
 * stored). Returns SADDLE_ERROR for an example outside the batch. */
typedef struct saddle_random {
    uint32_t struct_size;
    void *context;
    int32_t (*uniform)(void *context, int64_t example, double *values, int64_t count);
} saddle_random;

/* One hyperparameter: its JSON key (snake_case), type, range and default. The range is
 * inclusive; give -INFINITY or INFINITY (from math.h) for no bound. */
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

/* 1.1: a string hyperparameter. Kernels receive the values through 'S', in declared order;
 * shape functions through their `strings` argument. */
typedef struct saddle_string_parameter {
    uint32_t struct_size;
    const char *name;
    const char *const *choices; /* NULL-terminated list of the accepted values; NULL: any string */
    const char *default_value;  /* NULL: required */
    const char *summary;
} saddle_string_parameter;

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
 * trains, but exact Hessian-vector products through it are refused. With f'', full Hessians
 * through it run forward-over-reverse: one f'' call per pass whatever the number of
 * directions. */
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

/* A layer: input [batch, in...], output [batch, out...], with weight tensors and (1.1) buffers.
 *   forward       roles b i o x w y h e  (1.1: I O m u U r S)   y = f(x; w)
 *   backward      roles b i o x w g d D h e  (1.1: I O m u r S q)
 *                 d = (df/dx)^T g, D[k] = (df/dw_k)^T g
 *   jvp           (optional) b i o x w X W y h e  (1.1: I O m u r k S)
 *                 y = (df/dx) X + sum_k (df/dw_k) W[k]
 *   backward_jvp  (optional) b i o x w g X W d D h e  (1.1: I O m u r k G S q)
 *                 the directional derivative of backward's (d, D) when x moves along X and
 *                 w along W (and, with 'G', g along G).
 * jvp and backward_jvp together are the second-order rule; without them the layer trains but
 * exact Hessian-vector products through it are refused.
 *
 * 1.1, batched tangents. When jvp and backward_jvp both take 'k', and backward_jvp takes 'G',
 * one call carries K tangent directions: X, G, jvp's y, backward_jvp's d hold K stacked
 * copies ([K, batch, ...]) and each W[k] and D[k] holds K stacked copies of its weight's
 * shape. Full Hessians then cost one call per layer and pass, not one per direction. Without
 * them, the host runs one call per direction (K = 1). In a kernel taking 'k', a tangent that
 * is zero arrives as NULL (X, an entry of W, or G: the input of the first layer carries no
 * tangent, for one): skip its terms. The W array itself, and outputs, are never NULL, and
 * outputs are written in full.
 *
 * 1.0 layers see vectors: input [batch, in], output [batch, out] from `output_features`, and
 * their weight shapes from `weight_shape`. A 1.1 layer may instead give `output_shape` and
 * `weight_shape_of` (and `initialize_of`): it then accepts per-example inputs of any rank up to
 * SADDLE_MAX_RANK (images [channels, height, width], sequences [steps, features]) and declares
 * its output shape from the input's. 'i' and 'o' stay the products of the dims.
 *
 * 1.1, mode and buffers. 'm' is the pass's mode. Buffers are non-trainable tensors (running
 * statistics) saved in checkpoints beside the weights; 'u' holds their current values in every
 * kernel. In training mode the forward kernel may write new values into 'U' (which arrives
 * holding the current values, so unwritten elements keep them); the host commits them once
 * per training step, as it commits the built-in BatchNorm's running statistics, and never in
 * inference mode ('U' is NULL there). The backward and second-order kernels receive the same
 * mode and buffers as the forward kernel of their pass. */
typedef struct saddle_layer {
    uint32_t struct_size;
    const char *name;
    const char *summary;
    uint32_t parameter_count;
    const saddle_parameter *parameters;
    /* The output features for `input_features` inputs (1.0 layers; NULL when output_shape is set). */
    int32_t (*output_features)(const double *hyper, int64_t input_features, int64_t *output_features, saddle_sink *sink);
    uint32_t weight_count;
    const char *const *weight_names;
    /* The shape of weight `index` (rank 1 or 2) into dims[0 ..< *rank] (1.0 layers). */
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

    /* ---- 1.1 ---- */
    /* Shapes: the output shape from the input's (replaces output_features). */
    int32_t (*output_shape)(const double *hyper, const char *const *strings, const saddle_shape *input, saddle_shape *output,
                            saddle_sink *sink);
    /* The shape of weight `index`, rank 1 to SADDLE_MAX_RANK (replaces weight_shape). */
    int32_t (*weight_shape_of)(uint32_t index, const double *hyper, const char *const *strings, const saddle_shape *input,
                               const saddle_shape *output, saddle_shape *weight, saddle_sink *sink);
    /* Initial values of weight `index` knowing the shapes (replaces initialize; a layer with
     * weights gives one of the two). */
    int32_t (*initialize_of)(uint32_t index, const double *hyper, const char *const *strings, const saddle_shape *input,
                             const saddle_shape *weight, const double *uniform, double *values, int64_t count,
                             saddle_sink *sink);
    /* A per-example input shape `saddle plugins check` runs the layer on (optional; [5] when
     * NULL, which suits only layers on vectors). */
    const saddle_shape *example_input;
    /* Buffers: names, shapes (rank 1 to SADDLE_MAX_RANK) and each one's initial value (every
     * element of buffer k starts at buffer_initial_values[k]). */
    uint32_t buffer_count;
    const char *const *buffer_names;
    int32_t (*buffer_shape)(uint32_t index, const double *hyper, const char *const *strings, const saddle_shape *input,
                            const saddle_shape *output, saddle_shape *buffer, saddle_sink *sink);
    const double *buffer_initial_values;
    /* String hyperparameters ('S'). */
    uint32_t string_parameter_count;
    const struct saddle_string_parameter *string_parameters;
    /* Growth (Net2Net). transform_role is one of SADDLE_TRANSFORM_*.
     *   UNITS: the layer's output units are axis 0 of its per-example output (features, or
     *     channels of [channels, ...]); `units_parameter` names the integer hyperparameter that
     *     holds their number. Widening the outputs by a unit mapping copies each weight's slices
     *     along weight_unit_axes[k] (-1: the weight has no unit axis and is kept). Widening the
     *     inputs (axis 0 of the per-example input, replicated by the layer before) copies the
     *     slices along weight_input_axes[k] and divides each by how often its source was
     *     replicated, so the layer's output is unchanged: the layer must be linear in each such
     *     slice (as a dense or convolution weight is).
     *   FEATURE_WISE: output feature j (axis 0) depends only on input feature j and on the
     *     slices of weights along weight_unit_axes[k] (and of buffers along buffer_unit_axes[k]);
     *     a widening passing through copies them. units_parameter, weight_input_axes and
     *     identity are not used.
     * identity (optional, UNITS only): writes weight `index` of a layer whose input and output
     * shapes are both `shape`, such that the layer maps every input to itself. Net2Deeper then
     * inserts such a layer; its "zero layer" (the last layer of a new residual branch) has every
     * weight zero, so a layer declaring `identity` must output zero when its weights are zero. */
    int32_t transform_role;
    const char *units_parameter;
    const int32_t *weight_unit_axes;
    const int32_t *weight_input_axes;
    int32_t (*identity)(uint32_t index, const double *hyper, const char *const *strings, const saddle_shape *shape,
                        const saddle_shape *weight, double *values, int64_t count, saddle_sink *sink);
    /* Per buffer: the axis indexing the output units or features (copied when they are
     * replicated, like weight_unit_axes), or -1; NULL: -1 for every buffer. */
    const int32_t *buffer_unit_axes;
} saddle_layer;

/* An optimizer: `update` (roles n p g s h l t e; 1.1: P S) changes a parameter in place from
 * its gradient and state buffers. Each state buffer has the parameter's shape and starts at
 * zero; the host keeps the step count ('t') beside them and saves both in checkpoints. The
 * hyperparameters must include "learning_rate"; the current (scheduled) rate is the 'l'
 * argument. The host adds "max_gradient_norm" (clipping of the global gradient norm, done by the
 * host before the update) unless the plugin declares it. 'P' is the parameter's full shape (a
 * matrix, a convolution kernel, ...). */
typedef struct saddle_optimizer {
    uint32_t struct_size;
    const char *name;
    const char *summary;
    uint32_t parameter_count;
    const saddle_parameter *parameters;
    uint32_t state_count;
    const char *const *state_names;
    saddle_kernel update;

    /* ---- 1.1 ---- */
    uint32_t string_parameter_count;
    const struct saddle_string_parameter *string_parameters;
} saddle_optimizer;

/* What a plugin says about itself. */
typedef struct saddle_plugin_info {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name; /* the namespace of its components, e.g. "acme" */
    const char *version;
    const char *summary;

    /* ---- 1.1 ---- */
    uint32_t flags; /* SADDLE_PLUGIN_THREAD_SAFE or 0 */
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

    /* ---- 1.1 ---- */
    /* Runs body(user, item) once for each item in [0, count), spread over Saddle's compute
     * threads when `cost` (the work's total size, in elements or multiply-adds) is large enough,
     * and returns when all have run. Each item must write outputs no other item writes, and the
     * items should be fixed by the shapes (not by the thread count), so that results are the
     * same bits on every machine. The function needs no context and stays valid for as long as
     * the library is loaded: a plugin may keep the pointer from its entry point. Never call it
     * from inside a body. Inside a body, a kernel may report through its sink and draw from its
     * random streams: both are safe to call from several threads. */
    void (*parallel_for)(int64_t count, int64_t cost, void (*body)(void *user, int64_t item), void *user);
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
