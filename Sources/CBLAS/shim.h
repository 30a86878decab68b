/* OpenBLAS's CBLAS interface (Debian: libopenblas-dev; pkg-config "openblas" supplies the
 * include path of the selected variant) plus its thread-count controls. */
#include <cblas.h>
