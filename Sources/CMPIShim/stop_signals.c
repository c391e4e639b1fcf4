#define _POSIX_C_SOURCE 200809L
#include "stop_signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t first_signal = 0;

static void on_stop_signal(int sig) {
    if (first_signal != 0) {
        // The second request: the user does not want to wait for the checkpoint.
        static const char msg[] = "resnet-dist: second stop signal, exiting at once without a checkpoint\n";
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        _exit(128 + sig);
    }
    first_signal = sig;
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

int rd_stop_signal(void) { return first_signal; }

void rd_stop_request(int signal_number) { first_signal = signal_number; }
