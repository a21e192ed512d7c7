//! URL reservations: `scheme://host:port`, parsed once into a [`UrlReservation`].
//!
//! As in SSRS, a reservation names scheme, host and port; the application's virtual
//! directory completes it (`https://+:443` + `ReportServer` = `https://+:443/ReportServer/`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// `http` or `https`. A port serves one scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The host part of a reservation, in HTTP.sys's four categories.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostSpec {
    /// `+`: every host name, tried first.
    StrongWildcard,
    /// A host name, matched case-insensitively against Host (stored lower-case).
    Name(String),
    /// An IP address: any Host arriving on that local address. `0.0.0.0` and `::` mean any
    /// local address (dual stack).
    Ip(IpAddr),
    /// `*`: only what nothing else matched.
    WeakWildcard,
}

impl HostSpec {
    /// Routing order of HTTP.sys: strong wildcard, explicit host, IP-bound, weak wildcard.
    pub fn category(&self) -> u8 {
        match self {
            HostSpec::StrongWildcard => 0,
            HostSpec::Name(_) => 1,
            HostSpec::Ip(_) => 2,
            HostSpec::WeakWildcard => 3,
        }
    }

    /// True for `+`, `*` and the unspecified addresses: listens on every address.
    pub fn is_any(&self) -> bool {
        match self {
            HostSpec::StrongWildcard | HostSpec::WeakWildcard => true,
            HostSpec::Ip(ip) => ip.is_unspecified(),
            HostSpec::Name(_) => false,
        }
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostSpec::StrongWildcard => f.write_str("+"),
            HostSpec::WeakWildcard => f.write_str("*"),
            HostSpec::Name(n) => f.write_str(n),
            HostSpec::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            HostSpec::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

/// A URL reservation: scheme, host and port, without the virtual directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlReservation {
    pub scheme: Scheme,
    pub host: HostSpec,
    pub port: u16,
}

impl fmt::Display for UrlReservation {
    /// The literal `scheme://host:port` form, port always shown (as SSRS shows it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

fn invalid(input: &str, why: &str) -> Error {
    Error::InvalidUrl(format!(
        "invalid URL reservation {input:?}: {why}; write it as scheme://host:port, e.g. https://+:443 or http://reports.example.com:8080"
    ))
}

impl FromStr for UrlReservation {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| invalid(input, "missing scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(invalid(input, "the scheme must be http or https")),
        };
        // A single trailing slash is tolerated; a path is the virtual directory's job.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(Error::InvalidUrl(format!(
                "invalid URL reservation {input:?}: a reservation has no path; leave the path out and set the application's virtual directory instead"
            )));
        }
        if rest.contains('@') {
            return Err(invalid(input, "user information is not allowed"));
        }
        let (host, port) =
            split_host_port(rest).ok_or_else(|| invalid(input, "bad host or port"))?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n != 0 => n,
                _ => return Err(invalid(input, "the port must be a number from 1 to 65535")),
            },
        };
        let host = parse_host(host).ok_or_else(|| invalid(input, "bad host name"))?;
        Ok(UrlReservation { scheme, host, port })
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `[v6]`.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        return match after {
            "" => Some((h, None)),
            a => Some((h, Some(a.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p))),
        Some(_) => None, // bare IPv6 without brackets is ambiguous
        None => Some((s, None)),
    }
}

/// Parses the host of a reservation or endpoint: `+`, `*`, an IP, or a DNS name.
pub fn parse_host(h: &str) -> Option<HostSpec> {
    match h {
        "" => None,
        "+" => Some(HostSpec::StrongWildcard),
        "*" => Some(HostSpec::WeakWildcard),
        _ => {
            if let Ok(ip) = h.parse::<IpAddr>() {
                return Some(HostSpec::Ip(ip));
            }
            valid_dns_name(h).then(|| HostSpec::Name(h.to_ascii_lowercase()))
        }
    }
}

/// A host name as RFC 1123 allows: labels of letters, digits and hyphens, not starting or
/// ending with a hyphen, at most 63 bytes each and 253 in all. A trailing dot is refused.
pub fn valid_dns_name(h: &str) -> bool {
    h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Serialize for UrlReservation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UrlReservation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A virtual directory: one path segment of letters, digits, `_`, `-` and `.`, as SSRS
/// allows (`ReportServer`, `Reports`, `ReportServer_SQL2022`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VirtualDirectory(String);

impl VirtualDirectory {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VirtualDirectory {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        let t = s.trim().trim_matches('/');
        let ok = !t.is_empty()
            && t.len() <= 100
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
            && t != "."
            && t != "..";
        if ok {
            Ok(VirtualDirectory(t.to_owned()))
        } else {
            Err(Error::InvalidVdir(s))
        }
    }
}

impl FromStr for VirtualDirectory {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        VirtualDirectory::try_from(s.to_owned())
    }
}

impl From<VirtualDirectory> for String {
    fn from(v: VirtualDirectory) -> String {
        v.0
    }
}

impl fmt::Display for VirtualDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> UrlReservation {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_four_host_kinds() {
        assert_eq!(p("https://+:443").host, HostSpec::StrongWildcard);
        assert_eq!(p("http://*:80").host, HostSpec::WeakWildcard);
        assert_eq!(
            p("http://Reports.Example.com:8080").host,
            HostSpec::Name("reports.example.com".into())
        );
        assert_eq!(
            p("http://10.1.2.3:80").host,
            HostSpec::Ip("10.1.2.3".parse().unwrap())
        );
        assert_eq!(
            p("http://[::1]:80").host,
            HostSpec::Ip("::1".parse().unwrap())
        );
        assert!(p("http://0.0.0.0:80").host.is_any());
    }

    #[test]
    fn display_is_the_literal_reservation() {
        assert_eq!(p("HTTPS://+").to_string(), "https://+:443");
        assert_eq!(p("http://[::1]:8080/").to_string(), "http://[::1]:8080");
    }

    #[test]
    fn refuses_paths_and_garbage_with_a_fix() {
        let e = "http://+:80/ReportServer"
            .parse::<UrlReservation>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("virtual directory"), "{e}");
        for bad in [
            "ftp://+:21",
            "+:80",
            "http://+:0",
            "http://+:99999",
            "http://bad_host:80",
            "http://::1:80",
            "http://a@b:80",
        ] {
            let e = bad.parse::<UrlReservation>().unwrap_err().to_string();
            assert!(
                e.contains("scheme://host:port") || e.contains("reservation"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn vdir_rules() {
        assert_eq!(
            "/ReportServer/"
                .parse::<VirtualDirectory>()
                .unwrap()
                .as_str(),
            "ReportServer"
        );
        assert!("a/b".parse::<VirtualDirectory>().is_err());
        assert!("..".parse::<VirtualDirectory>().is_err());
        assert!("".parse::<VirtualDirectory>().is_err());
    }
}
