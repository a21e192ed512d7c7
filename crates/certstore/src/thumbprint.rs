//! Names: [`Thumbprint`] (which certificate) and [`StoreName`] (which store).
//!
//! Both are parsed once at the edge (command line, management API) and carried as values
//! that cannot be malformed; this module does no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha1::{Digest, Sha1};

use crate::Error;

/// The SHA-1 of a certificate's DER encoding: how Windows, and reportd, name a certificate.
///
/// Displays as 40 upper-case hex digits. Parses from any case, with or without spaces and
/// colons (`ab:cd...`, `AB CD ...` as the Windows certificate dialog shows it, including
/// the invisible left-to-right mark that dialog puts in front when copied).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Thumbprint([u8; 20]);

impl Thumbprint {
    /// The thumbprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Thumbprint(Sha1::digest(der).into())
    }

    /// The 20 bytes of the SHA-1.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

impl FromStr for Thumbprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | ':' | '\t' | '\u{200e}' | '\u{200f}'))
            .collect();
        let mut out = [0u8; 20];
        if digits.len() != 40 || hex::decode_to_slice(&digits, &mut out).is_err() {
            return Err(Error::InvalidThumbprint(s.to_owned()));
        }
        Ok(Thumbprint(out))
    }
}

impl Serialize for Thumbprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Thumbprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One of the stores: `My` (server certificates, usually with keys) or `Root` (trusted roots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreName {
    /// Personal store: certificates a server presents.
    My,
    /// Trusted root certification authorities.
    Root,
}

impl StoreName {
    /// Both stores, in search order.
    pub const ALL: [StoreName; 2] = [StoreName::My, StoreName::Root];

    /// The store's directory name below `certs/`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreName::My => "My",
            StoreName::Root => "Root",
        }
    }
}

impl fmt::Display for StoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StoreName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "my" => Ok(StoreName::My),
            "root" => Ok(StoreName::Root),
            _ => Err(Error::InvalidStoreName(s.to_owned())),
        }
    }
}

impl Serialize for StoreName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StoreName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_accepts_case_spaces_and_colons() {
        let canonical = "0123456789ABCDEF0123456789ABCDEF01234567";
        let t: Thumbprint = canonical.parse().unwrap();
        assert_eq!(t.to_string(), canonical);
        for input in [
            "0123456789abcdef0123456789abcdef01234567",
            "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67",
            "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
            "\u{200e}0123456789abcdef0123456789abcdef01234567",
        ] {
            assert_eq!(input.parse::<Thumbprint>().unwrap(), t, "{input}");
        }
    }

    #[test]
    fn thumbprint_rejects_wrong_length_and_non_hex() {
        for bad in [
            "",
            "0123",
            &"0".repeat(41),
            &"g".repeat(40),
            &"0".repeat(64),
        ] {
            let e = bad.parse::<Thumbprint>().unwrap_err().to_string();
            assert!(e.contains("40 hex digits"), "{e}");
        }
    }

    #[test]
    fn thumbprint_is_sha1_of_der() {
        // SHA-1("abc") from FIPS 180-2.
        assert_eq!(
            Thumbprint::of_der(b"abc").to_string(),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    fn store_names_parse_case_insensitively() {
        assert_eq!("my".parse::<StoreName>().unwrap(), StoreName::My);
        assert_eq!("ROOT".parse::<StoreName>().unwrap(), StoreName::Root);
        let e = "CA".parse::<StoreName>().unwrap_err().to_string();
        assert!(e.contains("My") && e.contains("Root"), "{e}");
    }
}
