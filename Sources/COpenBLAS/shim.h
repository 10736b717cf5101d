#ifndef PIPELINE_COPENBLAS_SHIM_H
#define PIPELINE_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian's libopenblas-dev, pthread build) plus its
// thread-count controls, declared in the same header.
#include <cblas.h>
#endif
