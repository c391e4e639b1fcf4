// Stop requests from the outside (SIGTERM from a time limit, scancel or mpirun, SIGINT from
// Ctrl-C, SIGUSR1 from `sbatch --signal`): the first one only sets a flag, which the trainer reads
// after each step so that every rank can finish the step and rank 0 can write a checkpoint.
// Repeats of the request (the same stop arriving by several routes) are ignored; only SIGINT at
// least RD_STOP_REPEAT_SECONDS after the first request ends the process at once (128 + 2).
#ifndef RESNET_DIST_STOP_SIGNALS_H
#define RESNET_DIST_STOP_SIGNALS_H

#ifdef __cplusplus
extern "C" {
#endif

#define RD_STOP_REPEAT_SECONDS 2

/// Installs the handlers for SIGTERM, SIGINT and SIGUSR1 (SA_RESTART, so MPI calls in progress
/// continue). Returns 0, or -1 with errno set.
int rd_stop_install(void);
/// Restores the default actions (for commands that do not stop at a step); a request already
/// received is raised again, so it takes its default effect. Returns 0, or -1 with errno set.
int rd_stop_uninstall(void);
/// The first stop signal received so far, or 0.
int rd_stop_signal(void);
/// Sets the flag as a signal would (for tests; 0 clears it).
void rd_stop_request(int signal_number);

#ifdef __cplusplus
}
#endif

#endif
