#ifndef PIPELINE_COPENBLAS_SHIM_H
#define PIPELINE_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian's libopenblas-dev, pthread build) plus its
// thread-count controls, declared in the same header, and one LAPACK routine.
#include <cblas.h>
#include <stddef.h>
// LAPACK's divide-and-conquer SVD, which libopenblas exports (Fortran calling convention: every
// argument by pointer, the length of the character argument last).
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s, double *u,
             const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *iwork, int *info,
             size_t jobz_length);
#endif
