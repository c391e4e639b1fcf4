// Stop requests from the outside (SIGTERM from a time limit or scancel, SIGINT from Ctrl-C,
// SIGUSR1 from `sbatch --signal`): the first one only sets a flag, which the trainer reads after
// each step so that every rank can finish the step and rank 0 can write a checkpoint; a second
// one ends the process at once with 128 + the signal number.
#ifndef RESNET_DIST_STOP_SIGNALS_H
#define RESNET_DIST_STOP_SIGNALS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Installs the handlers for SIGTERM, SIGINT and SIGUSR1 (SA_RESTART, so MPI calls in progress
/// continue). Returns 0, or -1 with errno set.
int rd_stop_install(void);
/// The first stop signal received so far, or 0.
int rd_stop_signal(void);
/// Sets the flag as a signal would (for tests).
void rd_stop_request(int signal_number);

#ifdef __cplusplus
}
#endif

#endif
