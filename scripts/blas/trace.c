// A stand-in BLAS that records the shape of every matrix product and forwards the call.
//
// Build and use (see scripts/blas/README.md):
//   cc -shared -fPIC -O2 scripts/blas/trace.c -o .build/libblas-trace.so -ldl
//   SADDLE_BLAS_LIBRARY=$PWD/.build/libblas-trace.so SADDLE_BLAS_TRACE=shapes.txt saddle-bench --only KEY
// Every cblas_sgemm/cblas_dgemm call appends "s|d order transA transB m n k lda ldb ldc" to the
// file named by SADDLE_BLAS_TRACE; the call then runs in the library named by
// SADDLE_BLAS_TRACE_TARGET (default libopenblas.so.0). The other functions Saddle resolves are
// forwarded unchanged.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *target;
static FILE *trace;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void open_target(void) {
    const char *path = getenv("SADDLE_BLAS_TRACE_TARGET");
    target = dlopen(path ? path : "libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (target == NULL) {
        fprintf(stderr, "blas trace: %s\n", dlerror());
        abort();
    }
    const char *file = getenv("SADDLE_BLAS_TRACE");
    if (file != NULL) trace = fopen(file, "a");
}

static void *forward(const char *name) {
    pthread_once(&once, open_target);
    void *symbol = dlsym(target, name);
    if (symbol == NULL) {
        fprintf(stderr, "blas trace: %s is missing in the target library\n", name);
        abort();
    }
    return symbol;
}

static void record(char kind, int order, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
    if (trace == NULL) return;
    pthread_mutex_lock(&lock);
    fprintf(trace, "%c %d %d %d %d %d %d %d %d %d\n", kind, order, ta, tb, m, n, k, lda, ldb, ldc);
    pthread_mutex_unlock(&lock);
}

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);

void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm_fn call = (sgemm_fn)forward("cblas_sgemm");
    record('s', order, ta, tb, m, n, k, lda, ldb, ldc);
    call(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                 const double *b, int ldb, double beta, double *c, int ldc) {
    dgemm_fn call = (dgemm_fn)forward("cblas_dgemm");
    record('d', order, ta, tb, m, n, k, lda, ldb, ldc);
    call(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// The other functions Saddle resolves, forwarded unchanged.
typedef char *(*string_fn)(void);
char *openblas_get_corename(void) { return ((string_fn)forward("openblas_get_corename"))(); }
char *openblas_get_config(void) { return ((string_fn)forward("openblas_get_config"))(); }
void openblas_set_num_threads(int n) { ((void (*)(int))forward("openblas_set_num_threads"))(n); }
int openblas_get_num_threads(void) { return ((int (*)(void))forward("openblas_get_num_threads"))(); }

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len, size_t uplo_len) {
    ((void (*)(const char *, const char *, const int *, double *, const int *, double *, double *, const int *, int *,
               const int *, int *, size_t, size_t))forward("dsyevd_"))(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info,
                                                                       jobz_len, uplo_len);
}
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb, int *info) {
    ((void (*)(const int *, const int *, double *, const int *, int *, double *, const int *, int *))forward("dgesv_"))(
        n, nrhs, a, lda, ipiv, b, ldb, info);
}
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork, int *info) {
    ((void (*)(const int *, const int *, double *, const int *, double *, double *, const int *, int *))forward("dgeqrf_"))(
        m, n, a, lda, tau, work, lwork, info);
}
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau, double *work,
             const int *lwork, int *info) {
    ((void (*)(const int *, const int *, const int *, double *, const int *, const double *, double *, const int *,
               int *))forward("dorgqr_"))(m, n, k, a, lda, tau, work, lwork, info);
}
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz, double *work, int *info,
            size_t jobz_len) {
    ((void (*)(const char *, const int *, double *, double *, double *, const int *, double *, int *, size_t))forward("dstev_"))(
        jobz, n, d, e, z, ldz, work, info, jobz_len);
}
