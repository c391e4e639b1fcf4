#include "mpi_shim.h"

#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <mpi.h>

int rd_mpi_success(void) { return MPI_SUCCESS; }

int rd_mpi_initialized(int *flag) { return MPI_Initialized(flag); }

int rd_mpi_finalized(int *flag) { return MPI_Finalized(flag); }

int rd_mpi_init(int *provided) {
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
    if (rc != MPI_SUCCESS) return rc;
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int rd_mpi_finalize(void) { return MPI_Finalize(); }

int rd_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }

int rd_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

int rd_mpi_processor_name(char *buf, int cap) {
    char name[MPI_MAX_PROCESSOR_NAME + 1];
    int len = 0;
    int rc = MPI_Get_processor_name(name, &len);
    if (rc != MPI_SUCCESS) return rc;
    if (cap < 1) return MPI_ERR_ARG;
    if (len > cap - 1) len = cap - 1;
    memcpy(buf, name, (size_t)len);
    buf[len] = '\0';
    return MPI_SUCCESS;
}

int rd_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

/// In-place allreduce in pieces of at most INT_MAX elements.
static int allreduce_chunked(void *buf, int64_t count, size_t elem, MPI_Datatype type, MPI_Op op) {
    char *p = (char *)buf;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, n, type, op, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        p += (size_t)n * elem;
        count -= n;
    }
    return count < 0 ? MPI_ERR_COUNT : MPI_SUCCESS;
}

int rd_mpi_allreduce_sum_f32(float *buf, int64_t count) {
    return allreduce_chunked(buf, count, sizeof(float), MPI_FLOAT, MPI_SUM);
}

int rd_mpi_allreduce_sum_f64(double *buf, int64_t count) {
    return allreduce_chunked(buf, count, sizeof(double), MPI_DOUBLE, MPI_SUM);
}

int rd_mpi_allreduce_min_i64(int64_t *buf, int64_t count) {
    return allreduce_chunked(buf, count, sizeof(int64_t), MPI_INT64_T, MPI_MIN);
}

int rd_mpi_allreduce_max_i64(int64_t *buf, int64_t count) {
    return allreduce_chunked(buf, count, sizeof(int64_t), MPI_INT64_T, MPI_MAX);
}

int rd_mpi_iallreduce_sum_f32(float *buf, int64_t count, rd_mpi_request *request) {
    if (count < 0 || count > INT_MAX) return MPI_ERR_COUNT;
    MPI_Request *req = malloc(sizeof(MPI_Request));
    if (req == NULL) return MPI_ERR_NO_MEM;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req);
    if (rc != MPI_SUCCESS) {
        free(req);
        request->handle = NULL;
        return rc;
    }
    request->handle = req;
    return MPI_SUCCESS;
}

int rd_mpi_wait(rd_mpi_request *request) {
    if (request->handle == NULL) return MPI_ERR_REQUEST;
    MPI_Request *req = (MPI_Request *)request->handle;
    int rc = MPI_Wait(req, MPI_STATUS_IGNORE);
    free(req);
    request->handle = NULL;
    return rc;
}

int rd_mpi_bcast_bytes(void *buf, int64_t count, int root) {
    if (count < 0) return MPI_ERR_COUNT;
    if (count == 0) {
        // Nothing to send, but a bad root must still fail on every rank.
        int size = 0;
        int rc = MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (rc != MPI_SUCCESS) return rc;
        return (root < 0 || root >= size) ? MPI_ERR_ROOT : MPI_SUCCESS;
    }
    char *p = (char *)buf;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = MPI_Bcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        p += n;
        count -= n;
    }
    return MPI_SUCCESS;
}

int rd_mpi_gather_bytes(const void *send, int record_size, void *recv, int root) {
    return MPI_Gather(send, record_size, MPI_BYTE, recv, record_size, MPI_BYTE, root, MPI_COMM_WORLD);
}

int rd_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

void rd_mpi_error_string(int code, char *buf, int cap) {
    if (cap < 1) return;
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) {
        len = snprintf(text, sizeof text, "MPI error code %d", code);
    }
    if (len > cap - 1) len = cap - 1;
    memcpy(buf, text, (size_t)len);
    buf[len] = '\0';
}
