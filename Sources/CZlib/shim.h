// The system zlib (zlib1g-dev): raw-deflate decoding and CRC-32 for compressed .npz members.
#include <zlib.h>
