// resnet-dist's C shim over Open MPI: the handful of collectives the trainer needs.
// Every function returns an MPI error code (0 = MPI_SUCCESS); rd_mpi_error_string turns a code
// into MPI's own text. Communication is on MPI_COMM_WORLD, whose error handler is set to
// MPI_ERRORS_RETURN at init so that errors come back to Swift instead of aborting the job.
#ifndef RESNET_DIST_MPI_SHIM_H
#define RESNET_DIST_MPI_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "stop_signals.h"

#ifdef __cplusplus
extern "C" {
#endif

/// An outstanding non-blocking operation. `handle` is owned by the shim and freed by rd_mpi_wait.
typedef struct rd_mpi_request {
    void *handle;
} rd_mpi_request;

int rd_mpi_success(void);
int rd_mpi_initialized(int *flag);
int rd_mpi_finalized(int *flag);
/// MPI_Init_thread asking for MPI_THREAD_FUNNELED; `provided` receives the level granted.
int rd_mpi_init(int *provided);
int rd_mpi_finalize(void);
int rd_mpi_rank(int *rank);
int rd_mpi_size(int *size);
/// Writes a NUL-terminated name into buf (capacity cap, at least 2).
int rd_mpi_processor_name(char *buf, int cap);
int rd_mpi_barrier(void);

/// In-place sum over all ranks. Counts above INT_MAX are sent in pieces.
int rd_mpi_allreduce_sum_f32(float *buf, int64_t count);
int rd_mpi_allreduce_sum_f64(double *buf, int64_t count);
/// In-place elementwise min and max of 64-bit integers (used to agree on lengths and hashes).
int rd_mpi_allreduce_min_i64(int64_t *buf, int64_t count);
int rd_mpi_allreduce_max_i64(int64_t *buf, int64_t count);

/// Starts an in-place non-blocking sum; count must be at most INT_MAX.
int rd_mpi_iallreduce_sum_f32(float *buf, int64_t count, rd_mpi_request *request);
/// Waits for a request started above and releases it.
int rd_mpi_wait(rd_mpi_request *request);

/// Broadcast of `count` bytes from `root`.
int rd_mpi_bcast_bytes(void *buf, int64_t count, int root);
/// Gathers `record_size` bytes from each rank into `recv` (size * record_size bytes) on `root`.
int rd_mpi_gather_bytes(const void *send, int record_size, void *recv, int root);

/// Ends every process of the job with `code`.
int rd_mpi_abort(int code);
/// MPI's text for an error code, NUL-terminated, into buf (capacity cap).
void rd_mpi_error_string(int code, char *buf, int cap);

#ifdef __cplusplus
}
#endif
#endif
