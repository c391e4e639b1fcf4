#define _POSIX_C_SOURCE 200809L
#include "stop_signals.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t first_signal = 0;
/// CLOCK_MONOTONIC seconds of the first request (only whole seconds matter here).
static volatile sig_atomic_t first_second = 0;

static sig_atomic_t monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);   // async-signal-safe
    return (sig_atomic_t)now.tv_sec;
}

static void on_stop_signal(int sig) {
    if (first_signal == 0) {
        first_second = monotonic_seconds();
        first_signal = sig;
        return;
    }
    // One stop request often arrives by several routes within a moment (Slurm's TERM to every
    // process, the batch script's forward, mpirun's relay, a terminal's Ctrl-C to the whole
    // process group), and a batch system follows up with SIGKILL anyway: those repeats are the
    // same request. Only a person pressing Ctrl-C again, a while after the first request, means
    // "do not wait for the checkpoint".
    if (sig != SIGINT || monotonic_seconds() - first_second < RD_STOP_REPEAT_SECONDS) return;
    static const char msg[] = "resnet-dist: second Ctrl-C, exiting at once without a checkpoint\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(128 + sig);
}

int rd_stop_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    const int signals[] = {SIGTERM, SIGINT, SIGUSR1};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

int rd_stop_uninstall(void) {
    const int signals[] = {SIGTERM, SIGINT, SIGUSR1};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (signal(signals[i], SIG_DFL) == SIG_ERR) return -1;
    }
    // A request that came while the handlers were up takes its default effect now.
    if (first_signal != 0) raise(first_signal);
    return 0;
}

int rd_stop_signal(void) { return first_signal; }

void rd_stop_request(int signal_number) {
    first_second = monotonic_seconds();
    first_signal = signal_number;
}
