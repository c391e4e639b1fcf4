# Sourced by launch/run, launch/test and launch/bench: the settings Open MPI needs on this kind
# of machine. Defines mpi_args NP, which prints the mpirun options for NP local ranks.

if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root unless both are set.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
CORES=$(nproc)

# On SIGTERM or SIGINT mpirun does not pass the stop on at once: it sends SIGCONT, waits this
# many seconds, sends SIGTERM, waits again, then SIGKILL. Open MPI's 1 s is too short for a rank
# to finish a step and write its checkpoint once steps take a second or more; 4 s covers a 3-s
# step. The price: whenever mpirun ends a job itself (a stop, a killed rank, a rank exiting
# non-zero before the others) it exits twice this long later.
export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-4}

# mpirun options for NP ranks on this machine: oversubscribe past the core count, and give each
# rank an equal share of the cores as OpenBLAS threads (one when ranks >= cores).
mpi_args() {
  local np=$1 threads
  local args=(-np "$np")
  # Past the core count, waiting ranks must give up the core instead of spinning on it
  # (measured: 4 ranks on 2 cores run the regression MLP 2.1x faster with yield).
  [ "$np" -gt "$CORES" ] && args+=(--oversubscribe --mca mpi_yield_when_idle 1)
  threads=$(( CORES / np )); [ "$threads" -lt 1 ] && threads=1
  args+=(-x "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$threads}")
  printf '%s\n' "${args[@]}"
}
