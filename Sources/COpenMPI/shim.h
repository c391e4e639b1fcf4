// Only CMPIShim depends on this module; Swift code talks to MPI through CMPIShim.
#include <mpi.h>
