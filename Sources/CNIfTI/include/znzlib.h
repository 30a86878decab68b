/* Forwarding header: libnifti2's nifti2_io.h says `#include <znzlib.h>`, but Debian installs
 * it under /usr/include/nifti/, which is not on the default search path. */
#include <nifti/znzlib.h>
