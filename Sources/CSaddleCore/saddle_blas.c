#include "saddle_blas.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

const char *saddle_suggested_coretype(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd")) {
        return "SkylakeX";
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "SandyBridge";
#endif
    return NULL;
}

static int resolve(void *handle, const char *name, void **slot, char *error, size_t error_len) {
    dlerror();
    void *symbol = dlsym(handle, name);
    if (symbol == NULL) {
        snprintf(error, error_len, "symbol %s not found", name);
        return 2;
    }
    *slot = symbol;
    return 0;
}

int saddle_blas_open(const char *path, SaddleBLAS *table, char *error, size_t error_len) {
    memset(table, 0, sizeof(*table));
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_len, "%s", reason ? reason : "dlopen failed");
        return 1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"cblas_sgemm", (void **)&table->sgemm},
        {"cblas_dgemm", (void **)&table->dgemm},
        {"openblas_get_corename", (void **)&table->get_corename},
        {"openblas_get_config", (void **)&table->get_config},
        {"openblas_set_num_threads", (void **)&table->set_num_threads},
        {"openblas_get_num_threads", (void **)&table->get_num_threads},
        {"dsyevd_", (void **)&table->dsyevd},
        {"dgesv_", (void **)&table->dgesv},
        {"dgeqrf_", (void **)&table->dgeqrf},
        {"dorgqr_", (void **)&table->dorgqr},
        {"dstev_", (void **)&table->dstev},
    };
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        int status = resolve(handle, symbols[i].name, symbols[i].slot, error, error_len);
        if (status != 0) {
            dlclose(handle);
            memset(table, 0, sizeof(*table));
            return status;
        }
    }
    table->handle = handle;
    return 0;
}
