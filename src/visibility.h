/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbols shared between the library's own files (mmapio__*).  They are
 * hidden from the shared library's export table but remain linkable from the
 * static library, which is how the tests reach the syscall table.
 */
#ifndef MMAPIO_VISIBILITY_H
#define MMAPIO_VISIBILITY_H

/*
 * PE (Windows) has no symbol visibility: only dllexport'ed symbols leave a
 * DLL.  The build defines MMAPIO_NO_VISIBILITY there (meson.build), so that
 * src/ needs no platform conditional.
 */
#if defined(__GNUC__) && !defined(MMAPIO_NO_VISIBILITY)
#define MMAPIO_INTERNAL __attribute__((visibility("hidden")))
#else
#define MMAPIO_INTERNAL
#endif

/*
 * For the few thread-local variables on hot paths: the initial-exec model
 * makes an access one load relative to the thread pointer, where the
 * default model of a shared library calls __tls_get_addr each time.  It
 * takes a few bytes of the static TLS block, which the C library keeps
 * spare for libraries loaded with dlopen as well.
 */
#if defined(__GNUC__)
#define MMAPIO_TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define MMAPIO_TLS_FAST
#endif

#endif
