//! Whether a Windows folder's security lets someone else plant a backup in it: the decision,
//! over the folder's owner and access-control entries as SDDL text, apart from the Win32 calls
//! that read them (`windows.rs`), so that it is tested on every OS.
//!
//! The rule is ssh's `StrictModes` in Windows terms: the owner is the current user,
//! `BUILTIN\Administrators` or `SYSTEM` (root's counterparts), and no entry allows Everyone,
//! `BUILTIN\Users` or Authenticated Users to write (add a file, a folder, delete children,
//! change the ACL or owner). A missing (NULL) DACL lets everyone in and is refused.
#![cfg_attr(
    not(windows),
    allow(
        dead_code,
        reason = "used by the Windows check, unit-tested on every OS"
    )
)]

/// SDDL's two-letter names of the SIDs the rule looks at.
const ALIASES: &[(&str, &str)] = &[
    ("BA", "S-1-5-32-544"),
    ("BU", "S-1-5-32-545"),
    ("WD", "S-1-1-0"),
    ("AU", "S-1-5-11"),
    ("SY", "S-1-5-18"),
    ("OW", "S-1-3-4"),
    ("CO", "S-1-3-0"),
];

const ADMINISTRATORS: &str = "S-1-5-32-544";
const SYSTEM: &str = "S-1-5-18";

/// The groups that must not be able to write, with the names Windows shows for them.
const OTHERS: &[(&str, &str)] = &[
    ("S-1-1-0", "Everyone"),
    ("S-1-5-32-545", "BUILTIN\\Users"),
    ("S-1-5-11", "Authenticated Users"),
];

/// Rights that let a holder plant or replace what is in a folder: `FILE_ADD_FILE` (0x2),
/// `FILE_ADD_SUBDIRECTORY` (0x4), `FILE_DELETE_CHILD` (0x40), `DELETE`, `WRITE_DAC`,
/// `WRITE_OWNER`, `GENERIC_WRITE`, `GENERIC_ALL`.
const WRITE_RIGHTS: u32 =
    0x2 | 0x4 | 0x40 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x4000_0000 | 0x1000_0000;

/// One access-control entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// An allow entry (deny entries only take rights away and are not needed for the rule).
    pub allow: bool,
    /// Applies only to what is created inside (`IO`), not to the folder itself.
    pub inherit_only: bool,
    /// The access mask.
    pub rights: u32,
    /// The trustee, as a SID string (`S-1-...`).
    pub sid: String,
}

/// A folder's owner and DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// The owner's SID.
    pub owner: String,
    /// The DACL's entries; `None`: a NULL DACL (everyone has every right).
    pub aces: Option<Vec<Ace>>,
}

fn sid(text: &str) -> String {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == text)
        .map_or_else(|| text.to_owned(), |(_, sid)| (*sid).to_owned())
}

/// The access mask of an SDDL rights field: hex (`0x1200a9`) or two-letter codes.
fn rights(text: &str) -> Option<u32> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    let mut mask = 0;
    for code in text.as_bytes().chunks(2) {
        mask |= match code {
            b"GA" => 0x1000_0000,
            b"GR" => 0x8000_0000,
            b"GW" => 0x4000_0000,
            b"GX" => 0x2000_0000,
            b"RC" => 0x2_0000,
            b"SD" => 0x1_0000,
            b"WD" => 0x4_0000,
            b"WO" => 0x8_0000,
            b"FA" => 0x1F_01FF,
            b"FR" => 0x12_0089,
            b"FW" => 0x12_0116,
            b"FX" => 0x12_00A0,
            b"CC" => 0x1,
            b"DC" => 0x2,
            b"LC" => 0x4,
            b"SW" => 0x8,
            b"RP" => 0x10,
            b"WP" => 0x20,
            b"DT" => 0x40,
            b"LO" => 0x80,
            b"CR" => 0x100,
            _ => return None,
        };
    }
    Some(mask)
}

/// Reads the owner and DACL out of SDDL text (`O:...G:...D:...`). `None` when it does not
/// hold an owner or cannot be read (refused by the caller: unknown is not trusted).
pub fn parse_sddl(sddl: &str) -> Option<Security> {
    // Sections start at `O:`, `G:`, `D:`, `S:`; SIDs never hold a `:`.
    let mut sections: Vec<(char, &str)> = Vec::new();
    let bytes = sddl.as_bytes();
    let mut starts = Vec::new();
    let mut depth = 0;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b':' if depth == 0 && i > 0 && matches!(bytes[i - 1], b'O' | b'G' | b'D' | b'S') => {
                starts.push(i - 1);
            }
            _ => {}
        }
    }
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(sddl.len());
        sections.push((char::from(bytes[*start]), &sddl[start + 2..end]));
    }
    let owner = sections
        .iter()
        .find(|(k, _)| *k == 'O')
        .map(|(_, v)| sid(v))?;
    let aces = match sections.iter().find(|(k, _)| *k == 'D') {
        None => None,
        Some((_, dacl)) if dacl.starts_with("NO_ACCESS_CONTROL") => None,
        Some((_, dacl)) => {
            let mut aces = Vec::new();
            for ace in dacl.split('(').skip(1) {
                let fields: Vec<&str> = ace.trim_end_matches(')').split(';').collect();
                let [kind, flags, mask, _, _, trustee, ..] = fields.as_slice() else {
                    return None;
                };
                aces.push(Ace {
                    allow: matches!(*kind, "A" | "OA" | "XA" | "ZA"),
                    inherit_only: flags.as_bytes().chunks(2).any(|f| f == b"IO"),
                    rights: rights(mask)?,
                    sid: sid(trustee),
                });
            }
            Some(aces)
        }
    };
    Some(Security { owner, aces })
}

/// Why a folder with this security is not trusted by user `me` (a SID string), or `None`.
pub fn untrusted_reason(security: &Security, me: &str, what: &str) -> Option<String> {
    if security.owner != me && security.owner != ADMINISTRATORS && security.owner != SYSTEM {
        return Some(format!(
            "{what} is owned by {}, not by you ({me}), Administrators or SYSTEM",
            security.owner
        ));
    }
    let Some(aces) = &security.aces else {
        return Some(format!(
            "{what} has no access control list: everyone may write to it"
        ));
    };
    for ace in aces {
        if !ace.allow || ace.inherit_only || ace.rights & WRITE_RIGHTS == 0 {
            continue;
        }
        if let Some((_, name)) = OTHERS.iter().find(|(sid, _)| *sid == ace.sid) {
            return Some(format!(
                "{what} lets {name} write to it (access mask {:#x})",
                ace.rights
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

    fn reason(sddl: &str) -> Option<String> {
        untrusted_reason(&parse_sddl(sddl).expect("parses"), ME, "the backup folder")
    }

    #[test]
    fn owner_only_folders_are_trusted() {
        // What k2cse sets on the folders it creates, owned by the user.
        assert_eq!(
            reason(&format!(
                "O:{ME}G:{ME}D:P(A;OICI;FA;;;OW)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
            )),
            None
        );
        // Owned by Administrators; Users may read and list; CREATOR OWNER gets full control
        // of what it creates (inherit-only, not of the folder).
        assert_eq!(
            reason("O:BAG:SYD:AI(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)(A;OICIIOID;GA;;;CO)"),
            None
        );
        assert_eq!(reason(&format!("O:SYD:(A;;FA;;;{ME})")), None);
    }

    #[test]
    fn other_owners_and_writable_acls_are_refused() {
        let other = "S-1-5-21-1004336348-1177238915-682003330-1002";
        let why = reason(&format!("O:{other}D:P(A;OICI;FA;;;{other})")).unwrap();
        assert!(why.contains(other) && why.contains("owned by"), "{why}");
        for (ace, name) in [
            ("(A;OICI;FA;;;WD)", "Everyone"),
            ("(A;OICIID;0x1301bf;;;AU)", "Authenticated Users"),
            ("(A;CIID;DC;;;BU)", "BUILTIN\\Users"),
            ("(A;;GW;;;BU)", "BUILTIN\\Users"),
            ("(A;;WD;;;WD)", "Everyone"),
        ] {
            let why = reason(&format!("O:{ME}D:(A;OICI;FA;;;{ME}){ace}")).unwrap();
            assert!(why.contains(name), "{ace}: {why}");
        }
        // A NULL DACL.
        assert!(
            reason(&format!("O:{ME}G:{ME}"))
                .unwrap()
                .contains("no access control")
        );
        assert!(reason(&format!("O:{ME}D:NO_ACCESS_CONTROL")).is_some());
        // Deny entries and read-only grants do not make it untrusted.
        assert_eq!(
            reason(&format!("O:{ME}D:(D;;FA;;;WD)(A;;FR;;;WD)(A;;FA;;;{ME})")),
            None
        );
    }

    #[test]
    fn unreadable_sddl_is_not_trusted() {
        assert!(parse_sddl("D:(A;;FA;;;WD)").is_none(), "no owner");
        assert!(
            parse_sddl(&format!("O:{ME}D:(A;;ZZ;;;WD)")).is_none(),
            "unknown right"
        );
        assert!(
            parse_sddl(&format!("O:{ME}D:(A;;FA)")).is_none(),
            "short entry"
        );
    }
}
