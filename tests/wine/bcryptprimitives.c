/*
 * A stand-in for Windows' bcryptprimitives.dll, for the Wine test prefix only.
 *
 * Rust's standard library (1.78 and later) takes its random numbers from ProcessPrng in
 * bcryptprimitives.dll, which Windows 10 / Server 2016 and later ship but Debian 12's Wine 8.0
 * does not: without this file every Rust .exe exits with code 53 before main. It forwards to
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements. It is never shipped.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
