// cxxopt: an example Saddle plugin in C++ (plugin ABI 1.1), using only the C header.
//
//   cxxopt.softsign  activation x / (1 + |x|), with its first and second derivatives
//   cxxopt.lamb      LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"):
//                    Adam's direction plus decoupled weight decay, scaled by a trust ratio
//                    ||p|| / ||direction|| taken per tensor, per row of the parameter's first
//                    axis (it reads the parameter's shape, 'P'), or not at all: the string
//                    hyperparameter "trust" is "tensor", "row" or "none".
//
// Build (one line, from the repository root):
//   c++ -std=c++17 -shared -fPIC -O3 -fvisibility=hidden -fno-exceptions -I Plugins/ABI/include Plugins/Examples/cxx/cxxopt.cpp -o libcxxopt.so
//
// Nothing crosses the boundary but C types; no exception may escape a kernel (the build turns
// exceptions off).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "saddle_plugin.h"

namespace {

template <typename T> int32_t softsign(int64_t n, const T *x, T *y) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (T(1) + std::fabs(x[i]));
    return SADDLE_OK;
}

template <typename T> int32_t softsign_derivative(int64_t n, const T *x, T *y) {
    for (int64_t i = 0; i < n; i++) {
        T a = T(1) + std::fabs(x[i]);
        y[i] = T(1) / (a * a);
    }
    return SADDLE_OK;
}

template <typename T> int32_t softsign_second(int64_t n, const T *x, T *y) {
    for (int64_t i = 0; i < n; i++) {
        T a = T(1) + std::fabs(x[i]);
        T sign = x[i] > 0 ? T(1) : (x[i] < 0 ? T(-1) : T(0));
        y[i] = T(-2) * sign / (a * a * a);
    }
    return SADDLE_OK;
}

// Hyperparameters, in declared order.
enum { LR, BETA1, BETA2, EPSILON, WEIGHT_DECAY };

const saddle_parameter lamb_parameters[] = {
    {sizeof(saddle_parameter), "learning_rate", SADDLE_PARAMETER_NUMBER, 0, 1e-3, 0, 10, "step size"},
    {sizeof(saddle_parameter), "beta1", SADDLE_PARAMETER_NUMBER, 0, 0.9, 0, 0.999999, "first-moment decay"},
    {sizeof(saddle_parameter), "beta2", SADDLE_PARAMETER_NUMBER, 0, 0.999, 0, 0.999999, "second-moment decay"},
    {sizeof(saddle_parameter), "epsilon", SADDLE_PARAMETER_NUMBER, 0, 1e-6, 1e-12, 1, "added to the root of the second moment"},
    {sizeof(saddle_parameter), "weight_decay", SADDLE_PARAMETER_NUMBER, 0, 0.01, 0, 1, "decoupled weight decay"},
};
const char *const trust_choices[] = {"tensor", "row", "none", nullptr};
const saddle_string_parameter lamb_strings[] = {
    {sizeof(saddle_string_parameter), "trust", trust_choices, "tensor", "where the trust ratio is taken: per tensor, per row, or nowhere"},
};
const char *const lamb_states[] = {"m", "v"};

void report(saddle_sink *sink, const char *message) {
    if (sink && sink->report) sink->report(sink->context, message);
}

// Roles "npgshlPSte": n, parameter, gradient, states, hyperparameters, rate, shape, strings, step, sink.
template <typename T>
int32_t lamb(int64_t n, T *p, const T *g, T *const *s, const double *h, double lr, const saddle_shape *shape,
             const char *const *strings, int64_t step, saddle_sink *e) {
    const char *trust = strings[0];
    int64_t rows = 1;
    if (std::strcmp(trust, "row") == 0) {
        rows = shape->rank >= 1 ? shape->dims[0] : 1;
    } else if (std::strcmp(trust, "tensor") != 0 && std::strcmp(trust, "none") != 0) {
        report(e, "trust must be tensor, row or none");
        return SADDLE_ERROR;
    }
    if (rows < 1 || n % rows != 0) {
        report(e, "the parameter's shape does not split into rows");
        return SADDLE_ERROR;
    }
    T *m = s[0], *v = s[1];
    const double b1 = h[BETA1], b2 = h[BETA2];
    const double c1 = 1 - std::pow(b1, double(step)), c2 = 1 - std::pow(b2, double(step));
    // First pass: moments; the direction overwrites nothing until the norms are known.
    for (int64_t i = 0; i < n; i++) {
        m[i] = T(b1 * m[i] + (1 - b1) * g[i]);
        v[i] = T(b2 * v[i] + (1 - b2) * double(g[i]) * g[i]);
    }
    const int64_t width = n / rows;
    for (int64_t r = 0; r < rows; r++) {
        double p_norm = 0, d_norm = 0;
        for (int64_t i = r * width; i < (r + 1) * width; i++) {
            double d = (m[i] / c1) / (std::sqrt(v[i] / c2) + h[EPSILON]) + h[WEIGHT_DECAY] * p[i];
            p_norm += double(p[i]) * p[i];
            d_norm += d * d;
        }
        double ratio = 1;
        if (std::strcmp(trust, "none") != 0 && p_norm > 0 && d_norm > 0) ratio = std::sqrt(p_norm) / std::sqrt(d_norm);
        // A NaN norm gives a NaN ratio, which reaches the parameter: nothing is silently dropped.
        if (std::isnan(p_norm) || std::isnan(d_norm)) ratio = NAN;
        for (int64_t i = r * width; i < (r + 1) * width; i++) {
            double d = (m[i] / c1) / (std::sqrt(v[i] / c2) + h[EPSILON]) + h[WEIGHT_DECAY] * p[i];
            p[i] = T(p[i] - lr * ratio * d);
        }
    }
    return SADDLE_OK;
}

}  // namespace

extern "C" SADDLE_PLUGIN_EXPORT int32_t saddle_plugin_init(const saddle_host *host) {
    saddle_plugin_info info{};
    info.struct_size = sizeof info;
    info.abi_major = SADDLE_PLUGIN_ABI_MAJOR;
    info.abi_minor = SADDLE_PLUGIN_ABI_MINOR;
    info.name = "cxxopt";
    info.version = "1.1";
    info.summary = "a C++ plugin: softsign and LAMB";
    info.flags = SADDLE_PLUGIN_THREAD_SAFE;
    if (host->declare(host->context, &info) != SADDLE_OK) return SADDLE_ERROR;

    saddle_activation activation{};
    activation.struct_size = sizeof activation;
    activation.name = "cxxopt.softsign";
    activation.summary = "x / (1 + |x|)";
    activation.forward = {sizeof(saddle_kernel), "nxy", (void *)&softsign<float>, (void *)&softsign<double>};
    activation.derivative = {sizeof(saddle_kernel), "nxy", (void *)&softsign_derivative<float>, (void *)&softsign_derivative<double>};
    activation.second_derivative = {sizeof(saddle_kernel), "nxy", (void *)&softsign_second<float>, (void *)&softsign_second<double>};
    if (host->register_activation(host->context, &activation) != SADDLE_OK) return SADDLE_ERROR;

    saddle_optimizer optimizer{};
    optimizer.struct_size = sizeof optimizer;
    optimizer.name = "cxxopt.lamb";
    optimizer.summary = "LAMB: Adam with decoupled weight decay and a trust ratio per tensor or per row";
    optimizer.parameter_count = sizeof lamb_parameters / sizeof lamb_parameters[0];
    optimizer.parameters = lamb_parameters;
    optimizer.state_count = 2;
    optimizer.state_names = lamb_states;
    optimizer.update = {sizeof(saddle_kernel), "npgshlPSte", (void *)&lamb<float>, (void *)&lamb<double>};
    optimizer.string_parameter_count = 1;
    optimizer.string_parameters = lamb_strings;
    return host->register_optimizer(host->context, &optimizer);
}
