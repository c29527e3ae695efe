// Times the matrix products a trace recorded (scripts/blas/trace.c) in one BLAS library.
//
//   cc -O2 scripts/blas/shapes.c -o .build/blas-shapes -ldl -lpthread
//   OPENBLAS_NUM_THREADS=1 .build/blas-shapes TRACE LIBRARY [PREFIX] [CONCURRENT]
//
// Each distinct shape of the trace (kind, transpositions, m, n, k) is run in LIBRARY, whose
// functions are named PREFIX + "cblas_sgemm" (PREFIX is "scipy_" for the scipy-openblas32 wheel,
// "-" for none). CONCURRENT threads (default 2, Saddle's split on two cores) run the same shape
// at once on their own operands, each call on one BLAS thread: the library's own threads must be
// set to 1 in the environment (OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS, MKL_NUM_THREADS). Prints
// one JSON object: per shape its count in the trace, the median microseconds of one call and its
// GFLOP/s, and the trace's total (count x median) in milliseconds.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);

typedef struct {
    char kind;
    int order, ta, tb, m, n, k;
    long count;
} Shape;

static sgemm_fn sgemm;
static dgemm_fn dgemm;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    const Shape *shape;
    int repeats;
    pthread_barrier_t *barrier;
    double seconds[64];
} Work;

// Operands are dense with the smallest leading dimensions the transpositions allow.
static void *run(void *argument) {
    Work *work = argument;
    const Shape *s = work->shape;
    int row = s->order == 101;
    int rows_a = (s->ta == 111) == row ? s->m : s->k, cols_a = (s->ta == 111) == row ? s->k : s->m;
    int rows_b = (s->tb == 111) == row ? s->k : s->n, cols_b = (s->tb == 111) == row ? s->n : s->k;
    int lda = row ? cols_a : rows_a, ldb = row ? cols_b : rows_b, ldc = row ? s->n : s->m;
    size_t size = s->kind == 's' ? sizeof(float) : sizeof(double);
    void *a = malloc((size_t)rows_a * cols_a * size), *b = malloc((size_t)rows_b * cols_b * size);
    void *c = malloc((size_t)s->m * s->n * size);
    for (size_t i = 0; i < (size_t)rows_a * cols_a; i++) {
        if (s->kind == 's') ((float *)a)[i] = (float)(i % 7) * 0.1f; else ((double *)a)[i] = (double)(i % 7) * 0.1;
    }
    for (size_t i = 0; i < (size_t)rows_b * cols_b; i++) {
        if (s->kind == 's') ((float *)b)[i] = (float)(i % 5) * 0.1f; else ((double *)b)[i] = (double)(i % 5) * 0.1;
    }
    memset(c, 0, (size_t)s->m * s->n * size);
    for (int r = -2; r < work->repeats; r++) {
        pthread_barrier_wait(work->barrier);
        double start = now();
        if (s->kind == 's') sgemm(s->order, s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, ldc);
        else dgemm(s->order, s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, ldc);
        if (r >= 0) work->seconds[r] = now() - start;
    }
    free(a);
    free(b);
    free(c);
    return NULL;
}

static int by_time(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: blas-shapes TRACE LIBRARY [PREFIX|-] [CONCURRENT]\n");
        return 2;
    }
    const char *prefix = argc > 3 && strcmp(argv[3], "-") != 0 ? argv[3] : "";
    int concurrent = argc > 4 ? atoi(argv[4]) : 2;
    if (concurrent < 1 || concurrent > 8) concurrent = 2;
    void *library = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    char name[128];
    snprintf(name, sizeof name, "%scblas_sgemm", prefix);
    sgemm = (sgemm_fn)dlsym(library, name);
    snprintf(name, sizeof name, "%scblas_dgemm", prefix);
    dgemm = (dgemm_fn)dlsym(library, name);
    if (sgemm == NULL || dgemm == NULL) {
        fprintf(stderr, "%scblas_sgemm or %scblas_dgemm missing in %s\n", prefix, prefix, argv[2]);
        return 1;
    }
    FILE *file = fopen(argv[1], "r");
    if (file == NULL) {
        perror(argv[1]);
        return 1;
    }
    Shape shapes[512];
    int count = 0;
    Shape s;
    int lda, ldb, ldc;
    while (fscanf(file, " %c %d %d %d %d %d %d %d %d %d", &s.kind, &s.order, &s.ta, &s.tb, &s.m, &s.n, &s.k, &lda, &ldb, &ldc) == 10) {
        int found = 0;
        for (int i = 0; i < count && !found; i++) {
            Shape *t = &shapes[i];
            if (t->kind == s.kind && t->order == s.order && t->ta == s.ta && t->tb == s.tb && t->m == s.m && t->n == s.n && t->k == s.k) {
                t->count++;
                found = 1;
            }
        }
        if (!found && count < 512) {
            s.count = 1;
            shapes[count++] = s;
        }
    }
    fclose(file);
    printf("{\"library\": \"%s\", \"prefix\": \"%s\", \"concurrent\": %d, \"shapes\": [", argv[2], prefix, concurrent);
    double total = 0;
    for (int i = 0; i < count; i++) {
        const Shape *t = &shapes[i];
        double flops = 2.0 * t->m * t->n * t->k;
        int repeats = flops > 1e9 ? 5 : flops > 1e7 ? 15 : 41;
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, (unsigned)concurrent);
        Work work[8];
        pthread_t threads[8];
        for (int j = 0; j < concurrent; j++) {
            work[j] = (Work){.shape = t, .repeats = repeats, .barrier = &barrier};
            pthread_create(&threads[j], NULL, run, &work[j]);
        }
        for (int j = 0; j < concurrent; j++) pthread_join(threads[j], NULL);
        pthread_barrier_destroy(&barrier);
        qsort(work[0].seconds, (size_t)repeats, sizeof(double), by_time);
        double median = work[0].seconds[repeats / 2];
        total += median * (double)t->count;
        printf("%s{\"kind\": \"%c\", \"trans\": \"%s%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"count\": %ld, \"us\": %.2f, \"gflops\": %.2f}",
               i ? ", " : "", t->kind, t->ta == 112 ? "T" : "N", t->tb == 112 ? "T" : "N", t->m, t->n, t->k, t->count, median * 1e6,
               flops / median / 1e9);
    }
    printf("], \"total_ms\": %.3f}\n", total * 1e3);
    return 0;
}
