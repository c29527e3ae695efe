// Run-time BLAS and LAPACK function table.
//
// Saddle never links OpenBLAS. It chooses an OpenBLAS kernel family (OPENBLAS_CORETYPE) from the
// CPU's features first, then dlopens the library and resolves every function it uses into one
// table. Debian's OpenBLAS 0.3.21 does not recognise recent Intel CPUs and silently falls back to
// generic kernels unless the variable is set before the library loads; a link-time dependency
// would load it before `main` runs. Only plain function-pointer types are declared here, so no
// BLAS or LAPACK header is needed to build.
#ifndef SADDLE_BLAS_H
#define SADDLE_BLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CBLAS enumerations (values fixed by the CBLAS standard).
enum { SADDLE_CBLAS_ROW_MAJOR = 101, SADDLE_CBLAS_NO_TRANS = 111, SADDLE_CBLAS_TRANS = 112 };

typedef void (*saddle_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                                float alpha, const float *a, int lda, const float *b, int ldb,
                                float beta, float *c, int ldc);
typedef void (*saddle_dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                                double alpha, const double *a, int lda, const double *b, int ldb,
                                double beta, double *c, int ldc);
typedef char *(*saddle_string_fn)(void);
typedef void (*saddle_set_threads_fn)(int);
typedef int (*saddle_get_threads_fn)(void);

// Fortran LAPACK entry points as OpenBLAS exports them. Character arguments carry a hidden
// length argument (size_t) at the end of the list.
typedef void (*saddle_dsyevd_fn)(const char *jobz, const char *uplo, const int *n, double *a,
                                 const int *lda, double *w, double *work, const int *lwork,
                                 int *iwork, const int *liwork, int *info, size_t jobz_len,
                                 size_t uplo_len);
typedef void (*saddle_dgesv_fn)(const int *n, const int *nrhs, double *a, const int *lda,
                                int *ipiv, double *b, const int *ldb, int *info);
typedef void (*saddle_dgeqrf_fn)(const int *m, const int *n, double *a, const int *lda,
                                 double *tau, double *work, const int *lwork, int *info);
typedef void (*saddle_dorgqr_fn)(const int *m, const int *n, const int *k, double *a,
                                 const int *lda, const double *tau, double *work,
                                 const int *lwork, int *info);
typedef void (*saddle_dstev_fn)(const char *jobz, const int *n, double *d, double *e, double *z,
                                const int *ldz, double *work, int *info, size_t jobz_len);

/// Every BLAS and LAPACK function Saddle calls, resolved from one library handle.
typedef struct SaddleBLAS {
    void *handle;
    saddle_sgemm_fn sgemm;
    saddle_dgemm_fn dgemm;
    saddle_string_fn get_corename;
    saddle_string_fn get_config;
    saddle_set_threads_fn set_num_threads;
    saddle_get_threads_fn get_num_threads;
    saddle_dsyevd_fn dsyevd;
    saddle_dgesv_fn dgesv;
    saddle_dgeqrf_fn dgeqrf;
    saddle_dorgqr_fn dorgqr;
    saddle_dstev_fn dstev;
} SaddleBLAS;

/// The OPENBLAS_CORETYPE this CPU should use, or NULL when OpenBLAS's own detection is right.
const char *saddle_suggested_coretype(void);

/// dlopens `path` (RTLD_NOW | RTLD_LOCAL) and fills `table`. Returns 0 on success; otherwise 1
/// when the library cannot be opened, 2 when a symbol is missing, with a message in `error`.
int saddle_blas_open(const char *path, SaddleBLAS *table, char *error, size_t error_len);

#ifdef __cplusplus
}
#endif

#endif
