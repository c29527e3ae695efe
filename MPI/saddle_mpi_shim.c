// The MPI shim: the few MPI calls Saddle makes, behind plain C functions with no MPI types in
// their signatures. Built by `make mpi` against the system's mpi.h (Open MPI from Debian) into
// .build/mpi/libsaddle_mpi.so and loaded by Saddle at run time, only when a job runs under
// mpirun, so that neither the saddle binary nor a package using the library links MPI.
//
// MPI_COMM_WORLD and MPI_FLOAT are macros over Open MPI's globals, which is one reason these
// calls live on the C side. Counts beyond INT_MAX are sent in chunks.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SADDLE_MPI_EXPORT __attribute__((visibility("default")))

static char last_error[512];

static int failed(int code, const char *call) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
    snprintf(last_error, sizeof last_error, "%s: %s", call, text);
    return code;
}

/// The message of the last failed call.
SADDLE_MPI_EXPORT const char *saddle_mpi_last_error(void) { return last_error; }

/// Initializes MPI with MPI_THREAD_MULTIPLE (a watchdog thread may call saddle_mpi_abort) and
/// reports this process's rank, the job's size and the thread level granted. libmpi is made
/// global first: Open MPI 4.1 loads its components with dlopen, and they need its symbols.
SADDLE_MPI_EXPORT int saddle_mpi_init(int *rank, int *size, int *thread_level) {
    Dl_info info;
    if (dladdr((void *)MPI_Init_thread, &info) && info.dli_fname) {
        dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    }
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (code != MPI_SUCCESS) return failed(code, "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((code = MPI_Comm_rank(MPI_COMM_WORLD, rank)) != MPI_SUCCESS) return failed(code, "MPI_Comm_rank");
    if ((code = MPI_Comm_size(MPI_COMM_WORLD, size)) != MPI_SUCCESS) return failed(code, "MPI_Comm_size");
    *thread_level = provided == MPI_THREAD_MULTIPLE ? 3 : provided == MPI_THREAD_SERIALIZED ? 2 : provided == MPI_THREAD_FUNNELED ? 1 : 0;
    return 0;
}

static int allreduce(void *buffer, int64_t count, MPI_Datatype type, size_t width, MPI_Op op) {
    char *p = buffer;
    while (count > 0) {
        int chunk = count > INT_MAX ? INT_MAX : (int)count;
        int code = MPI_Allreduce(MPI_IN_PLACE, p, chunk, type, op, MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return failed(code, "MPI_Allreduce");
        p += (size_t)chunk * width;
        count -= chunk;
    }
    return 0;
}

/// Sums `count` doubles element-wise over all ranks, in place.
SADDLE_MPI_EXPORT int saddle_mpi_allreduce_sum_f64(double *buffer, int64_t count) {
    return allreduce(buffer, count, MPI_DOUBLE, sizeof(double), MPI_SUM);
}

/// Sums `count` floats element-wise over all ranks, in place.
SADDLE_MPI_EXPORT int saddle_mpi_allreduce_sum_f32(float *buffer, int64_t count) {
    return allreduce(buffer, count, MPI_FLOAT, sizeof(float), MPI_SUM);
}

/// Waits for every rank.
SADDLE_MPI_EXPORT int saddle_mpi_barrier(void) {
    int code = MPI_Barrier(MPI_COMM_WORLD);
    return code == MPI_SUCCESS ? 0 : failed(code, "MPI_Barrier");
}

/// Stops every rank of the job with `code` (mpirun ends the others).
SADDLE_MPI_EXPORT void saddle_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// Ends MPI in this process.
SADDLE_MPI_EXPORT int saddle_mpi_finalize(void) {
    int code = MPI_Finalize();
    return code == MPI_SUCCESS ? 0 : failed(code, "MPI_Finalize");
}

/// The MPI library's version line.
SADDLE_MPI_EXPORT void saddle_mpi_library_version(char *buffer, int capacity) {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(text, &length);
    snprintf(buffer, (size_t)capacity, "%s", text);
}
