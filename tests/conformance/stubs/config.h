/* uadk-rs conformance suite: what UADK's configure would find on the build machine
 * (zlib, and libcrypto for the test's MD5), for the sources that include "config.h". */
#define HAVE_ZLIB 1
#define HAVE_CRYPTO 1
