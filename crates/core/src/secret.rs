//! A value that must not leak into logs, debug output or terminals by accident.

use std::fmt;

/// What k2cse prints instead of a secret.
pub const MASK: &str = "********";

/// A password or other secret. `Debug` and `Display` print [`MASK`]; the value is reachable
/// only through [`Secret::expose`], so every place that reveals it is explicit and greppable.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only to use it or when the user asked to see it (`--reveal`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Drop for Secret {
    /// Overwrites the bytes before the memory is freed, so the secret does not linger there.
    fn drop(&mut self) {
        // Safe code cannot write a `String`'s bytes in place except through `as_mut_vec`
        // (unsafe); taking the buffer and filling it with zeros through `Vec` is equivalent.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// A value shown to a user: the value itself, or [`MASK`] when it is secret and not revealed.
pub fn shown(value: &str, secret: bool, reveal: bool) -> &str {
    if secret && !reveal && !value.is_empty() {
        MASK
    } else {
        value
    }
}

/// Like [`shown`], and a value that is not secret itself has the passwords of any URL user-info
/// in it (`https://user:password@host`) masked unless `reveal`.
pub fn shown_value(value: &str, secret: bool, reveal: bool) -> std::borrow::Cow<'_, str> {
    if reveal || secret {
        return std::borrow::Cow::Borrowed(shown(value, secret, reveal));
    }
    if crate::entry::schema::url_userinfo_secrets(value).is_empty() {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(crate::entry::mask_url_userinfo(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?} {s:#?}"), "******** ******** ********");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(shown("hunter2", true, false), MASK);
        assert_eq!(shown("hunter2", true, true), "hunter2");
        assert_eq!(shown("", true, false), "");
    }
}
