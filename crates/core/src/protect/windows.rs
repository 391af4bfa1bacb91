//! Windows key stores: the `CryptoAPI` RSA key container a provider names
//! (`keyContainerName`, machine or user store) and DPAPI. This is what lets k2cse run on the K2
//! server itself without exporting the key, as the vendor tool does.
//!
//! `CryptoAPI` works on little-endian RSA blocks while XML Encryption stores them big-endian, so
//! every block is reversed on the way in and out (as .NET's `RSACryptoServiceProvider` does).
#![allow(unsafe_code)] // FFI to advapi32/crypt32; each call states why it is sound.

use std::ptr;

use windows_sys::Win32::Foundation::{GetLastError, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    AT_KEYEXCHANGE, CRYPT_EXPORTABLE, CRYPT_INTEGER_BLOB, CRYPT_MACHINE_KEYSET, CRYPT_NEWKEYSET,
    CRYPT_OAEP, CRYPT_SILENT, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN,
    CryptAcquireContextW, CryptDecrypt, CryptDestroyKey, CryptEncrypt, CryptExportKey,
    CryptGetUserKey, CryptImportKey, CryptProtectData, CryptReleaseContext, CryptUnprotectData,
    PRIVATEKEYBLOB, PROV_RSA_FULL, PUBLICKEYBLOB,
};
use zeroize::Zeroizing;

use super::ProviderSpec;
use super::capi::{ContainerAction, NTE_BAD_KEYSET, container_error};

/// An open key container and its key-exchange key, released on drop.
struct Container {
    provider: usize,
    key: usize,
}

impl Container {
    fn open(spec: &ProviderSpec) -> Result<Self, String> {
        let provider = acquire(spec, false).map_err(|code| {
            container_error(
                ContainerAction::Open,
                &spec.key_container,
                spec.use_machine_container,
                code,
            )
        })?;
        let mut key = 0usize;
        // SAFETY: `provider` is the handle just acquired; `key` is a valid out pointer.
        if unsafe { CryptGetUserKey(provider, AT_KEYEXCHANGE, &raw mut key) } == 0 {
            let error = last_error();
            // SAFETY: releasing the handle acquired above, once.
            unsafe { CryptReleaseContext(provider, 0) };
            return Err(format!(
                "the key container {:?} has no key-exchange key ({error})",
                spec.key_container
            ));
        }
        Ok(Self { provider, key })
    }
}

/// Acquires the container named by `spec` (creating it with `create`), without opening a key.
fn acquire(spec: &ProviderSpec, create: bool) -> Result<usize, u32> {
    let name = wide(&spec.key_container);
    let csp = spec.csp_provider_name.as_deref().map(wide);
    let mut flags = CRYPT_SILENT;
    if spec.use_machine_container {
        flags |= CRYPT_MACHINE_KEYSET;
    }
    if create {
        flags |= CRYPT_NEWKEYSET;
    }
    let mut provider = 0usize;
    // SAFETY: `name` and `csp` are NUL-terminated UTF-16 buffers that outlive the call;
    // `provider` is a valid out pointer.
    let ok = unsafe {
        CryptAcquireContextW(
            &raw mut provider,
            name.as_ptr(),
            csp.as_ref().map_or(ptr::null(), Vec::as_ptr),
            PROV_RSA_FULL,
            flags,
        )
    };
    if ok == 0 {
        Err(last_error_code())
    } else {
        Ok(provider)
    }
}

/// Imports a `PRIVATEKEYBLOB` as the container's key-exchange key (exportable, as
/// `aspnet_regiis -pi` does), creating the container when it does not exist.
pub fn container_import(spec: &ProviderSpec, blob: &[u8]) -> Result<(), String> {
    let fail = |code| {
        container_error(
            ContainerAction::Import,
            &spec.key_container,
            spec.use_machine_container,
            code,
        )
    };
    let provider = match acquire(spec, false) {
        Ok(provider) => provider,
        Err(NTE_BAD_KEYSET) => acquire(spec, true).map_err(fail)?,
        Err(code) => return Err(fail(code)),
    };
    let len = u32::try_from(blob.len()).map_err(|_| "key blob too large".to_owned())?;
    let mut key = 0usize;
    // SAFETY: `provider` is a live handle; `blob` holds `len` bytes; `key` is an out pointer.
    let ok = unsafe {
        CryptImportKey(
            provider,
            blob.as_ptr(),
            len,
            0,
            CRYPT_EXPORTABLE,
            &raw mut key,
        )
    };
    let code = last_error_code();
    // SAFETY: each handle acquired above is released once.
    unsafe {
        if ok != 0 {
            CryptDestroyKey(key);
        }
        CryptReleaseContext(provider, 0);
    }
    if ok == 0 { Err(fail(code)) } else { Ok(()) }
}

/// The container's key-exchange key as a `PRIVATEKEYBLOB` (the key must be exportable).
pub fn container_export(spec: &ProviderSpec) -> Result<Zeroizing<Vec<u8>>, String> {
    let container = Container::open(spec)?;
    let fail = |code| {
        container_error(
            ContainerAction::Export,
            &spec.key_container,
            spec.use_machine_container,
            code,
        )
    };
    container.export(PRIVATEKEYBLOB).map_err(fail)
}

impl Container {
    /// The key exported as a `blob_type` blob (`PUBLICKEYBLOB`, `PRIVATEKEYBLOB`): asks for the
    /// size, then fills a buffer of it. The error is the Windows error code.
    fn export(&self, blob_type: u32) -> Result<Zeroizing<Vec<u8>>, u32> {
        let mut len = 0u32;
        // SAFETY: a null buffer asks for the blob size in `len`.
        if unsafe { CryptExportKey(self.key, 0, blob_type, 0, ptr::null_mut(), &raw mut len) } == 0
        {
            return Err(last_error_code());
        }
        let mut blob = Zeroizing::new(vec![0u8; len as usize]);
        // SAFETY: `blob` has the `len` bytes the first call asked for.
        if unsafe { CryptExportKey(self.key, 0, blob_type, 0, blob.as_mut_ptr(), &raw mut len) }
            == 0
        {
            return Err(last_error_code());
        }
        blob.truncate(len as usize);
        Ok(blob)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // SAFETY: both handles were acquired in `open` and are released exactly once here.
        unsafe {
            CryptDestroyKey(self.key);
            CryptReleaseContext(self.provider, 0);
        }
    }
}

/// Decrypts an RSA block with the container's key.
pub fn container_decrypt(
    spec: &ProviderSpec,
    oaep: bool,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    let container = Container::open(spec)?;
    let mut buffer = Zeroizing::new(data.iter().rev().copied().collect::<Vec<u8>>());
    let mut len = u32::try_from(buffer.len()).map_err(|_| "RSA block too large".to_owned())?;
    // SAFETY: `buffer` holds `len` initialised bytes and decryption only shrinks the data.
    let ok = unsafe {
        CryptDecrypt(
            container.key,
            0,
            1,
            if oaep { CRYPT_OAEP } else { 0 },
            buffer.as_mut_ptr(),
            &raw mut len,
        )
    };
    if ok == 0 {
        return Err(format!(
            "the container's key does not decrypt the session key ({})",
            last_error()
        ));
    }
    buffer.truncate(len as usize);
    Ok(buffer)
}

/// Encrypts a session key with the container's key.
pub fn container_encrypt(spec: &ProviderSpec, oaep: bool, data: &[u8]) -> Result<Vec<u8>, String> {
    let container = Container::open(spec)?;
    let flags = if oaep { CRYPT_OAEP } else { 0 };
    let mut len = u32::try_from(data.len()).map_err(|_| "session key too large".to_owned())?;
    // SAFETY: a null buffer asks for the output size in `len`.
    if unsafe { CryptEncrypt(container.key, 0, 1, flags, ptr::null_mut(), &raw mut len, 0) } == 0 {
        return Err(format!("cannot size the encrypted key ({})", last_error()));
    }
    let capacity = len;
    let mut buffer = vec![0u8; capacity as usize];
    buffer[..data.len()].copy_from_slice(data);
    let mut len = u32::try_from(data.len()).map_err(|_| "session key too large".to_owned())?;
    // SAFETY: `buffer` has `capacity` bytes, the first `len` holding the input.
    if unsafe {
        CryptEncrypt(
            container.key,
            0,
            1,
            flags,
            buffer.as_mut_ptr(),
            &raw mut len,
            capacity,
        )
    } == 0
    {
        return Err(format!(
            "the container's key cannot encrypt ({})",
            last_error()
        ));
    }
    buffer.truncate(len as usize);
    buffer.reverse();
    Ok(buffer)
}

/// The container's public key (and its fingerprint).
pub fn container_public_key(spec: &ProviderSpec) -> Result<(rsa::PublicKey, String), String> {
    let container = Container::open(spec)?;
    let blob = container
        .export(PUBLICKEYBLOB)
        .map_err(|code| format!("cannot export the public key (Windows error 0x{code:08X})"))?;
    // PUBLICKEYBLOB: BLOBHEADER (8 bytes), RSAPUBKEY { magic "RSA1", bitlen, pubexp } (12
    // bytes), then the modulus, little-endian.
    let header = blob.get(8..20).ok_or("short public key blob")?;
    let bits = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let exponent = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let modulus: Vec<u8> = blob
        .get(20..20 + bits / 8)
        .ok_or("short public key blob")?
        .iter()
        .rev()
        .copied()
        .collect();
    let public = rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(&modulus),
        rsa::BoxedUint::from_be_slice_vartime(&exponent.to_be_bytes()),
    )
    .map_err(|e| format!("the container's public key is invalid: {e}"))?;
    let fingerprint = super::keys::fingerprint_of(&public);
    Ok((public, fingerprint))
}

/// DPAPI decryption; .NET's DPAPI provider stores UTF-16LE text.
pub fn dpapi_unprotect(spec: &ProviderSpec, blob: &[u8]) -> Result<Zeroizing<String>, String> {
    let bytes = dpapi(spec, blob, false)?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units)
        .map(Zeroizing::new)
        .map_err(|_| "the DPAPI data is not UTF-16 text".to_owned())
}

/// DPAPI encryption of UTF-16LE text.
pub fn dpapi_protect(spec: &ProviderSpec, plain: &str) -> Result<Vec<u8>, String> {
    let bytes: Zeroizing<Vec<u8>> =
        Zeroizing::new(plain.encode_utf16().flat_map(u16::to_le_bytes).collect());
    dpapi(spec, &bytes, true).map(|b| b.to_vec())
}

fn dpapi(spec: &ProviderSpec, data: &[u8], protect: bool) -> Result<Zeroizing<Vec<u8>>, String> {
    let entropy: Vec<u8> = spec
        .key_entropy
        .as_deref()
        .unwrap_or_default()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let input = CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(data.len()).map_err(|_| "data too large")?,
        pbData: data.as_ptr().cast_mut(),
    };
    let entropy_blob = CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(entropy.len()).map_err(|_| "entropy too large")?,
        pbData: entropy.as_ptr().cast_mut(),
    };
    let mut output = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: ptr::null_mut(),
    };
    let mut flags = CRYPTPROTECT_UI_FORBIDDEN;
    if spec.use_machine_protection {
        flags |= CRYPTPROTECT_LOCAL_MACHINE;
    }
    // SAFETY: the input blobs point at buffers alive for the call (DPAPI does not write to
    // them); `output` receives a LocalAlloc'd buffer freed below.
    let ok = unsafe {
        if protect {
            CryptProtectData(
                &raw const input,
                ptr::null(),
                &raw const entropy_blob,
                ptr::null(),
                ptr::null(),
                flags,
                &raw mut output,
            )
        } else {
            CryptUnprotectData(
                &raw const input,
                ptr::null_mut(),
                &raw const entropy_blob,
                ptr::null(),
                ptr::null(),
                flags,
                &raw mut output,
            )
        }
    };
    if ok == 0 {
        return Err(format!(
            "DPAPI {} failed ({}); DPAPI keys belong to the machine (or user) that encrypted the section: run k2cse there, as that account",
            if protect { "encryption" } else { "decryption" },
            last_error()
        ));
    }
    // SAFETY: DPAPI returned `cbData` bytes at `pbData`; they are copied, then freed once.
    let result = unsafe {
        Zeroizing::new(std::slice::from_raw_parts(output.pbData, output.cbData as usize).to_vec())
    };
    // SAFETY: `pbData` was allocated by DPAPI with LocalAlloc.
    unsafe { LocalFree(output.pbData.cast()) };
    Ok(result)
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn last_error_code() -> u32 {
    // SAFETY: GetLastError has no preconditions.
    unsafe { GetLastError() }
}

fn last_error() -> String {
    format!("Windows error 0x{:08X}", last_error_code())
}
