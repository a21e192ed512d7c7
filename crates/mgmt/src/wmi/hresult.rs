//! The HRESULTs the API answers with: SSRS's own where SSRS has one, else the Windows code
//! a WMI client would see for the same condition, and how operation errors map to them.

use crate::protocol::Response;
use crate::{CertProblem, Error};

pub const S_OK: i32 = 0;
pub const E_NOTIMPL: i32 = 0x8000_4001_u32 as i32;
pub const E_FAIL: i32 = 0x8000_4005_u32 as i32;
/// "The parameter is incorrect" (a malformed URL, application, IP, number).
pub const E_INVALIDARG: i32 = 0x8007_0057_u32 as i32;
/// SSRS: "The Url has already been reserved".
pub const URL_ALREADY_RESERVED: i32 = 0x8004_023C_u32 as i32;
/// ERROR_ALREADY_EXISTS (183): the endpoint is already bound to another certificate.
pub const ALREADY_EXISTS: i32 = 0x8007_00B7_u32 as i32;
/// ERROR_NOT_FOUND (1168): the reservation or binding to remove does not exist.
pub const NOT_FOUND: i32 = 0x8007_0490_u32 as i32;
/// CRYPT_E_NOT_FOUND: no certificate with that hash in store My.
pub const CRYPT_E_NOT_FOUND: i32 = 0x8009_2004_u32 as i32;
/// ERROR_NO_SUCH_LOGON_SESSION (1312): what HTTP.sys answers for a certificate without
/// its private key.
pub const NO_PRIVATE_KEY: i32 = 0x8007_0520_u32 as i32;
/// CERT_E_WRONG_USAGE: not a server-authentication certificate.
pub const CERT_E_WRONG_USAGE: i32 = 0x800B_0110_u32 as i32;
/// CERT_E_CN_NO_MATCH: the certificate's names do not cover the host.
pub const CERT_E_CN_NO_MATCH: i32 = 0x800B_010F_u32 as i32;
/// WSAEADDRINUSE: another program listens on the port.
pub const ADDRESS_IN_USE: i32 = 0x8007_2740_u32 as i32;
/// NTE_BAD_DATA: the key file does not open with that password.
pub const NTE_BAD_DATA: i32 = 0x8009_0005_u32 as i32;
/// WBEM_E_METHOD_NOT_IMPLEMENTED: no such method in the class.
pub const WBEM_E_METHOD_NOT_IMPLEMENTED: i32 = 0x8004_1055_u32 as i32;

/// A failed call: `HRESULT` and `Error`; key methods also get `ExtendedErrors` (what
/// ReportingServicesTools prints for them).
pub fn failure(hresult: i32, error: impl Into<String>) -> Response {
    let error = error.into();
    Response {
        hresult,
        extended_errors: vec![error.clone()],
        error: Some(error),
        ..Response::default()
    }
}

/// What kind of call failed, where the same library error means different SSRS codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Reserve,
    Bind,
    Other,
}

/// The HRESULT of an operation error.
pub fn of(e: &Error, ctx: Context) -> i32 {
    match e {
        Error::Certificate { problem, .. } => match problem {
            CertProblem::NotFound | CertProblem::InRootStore => CRYPT_E_NOT_FOUND,
            CertProblem::NoPrivateKey => NO_PRIVATE_KEY,
            CertProblem::NotServerAuth => CERT_E_WRONG_USAGE,
            CertProblem::NameMismatch => CERT_E_CN_NO_MATCH,
        },
        Error::Bindings(b) => match b {
            httpsys::Error::InvalidUrl(_)
            | httpsys::Error::InvalidVdir(_)
            | httpsys::Error::InvalidEndpoint(_)
            | httpsys::Error::InvalidPolicy(_) => E_INVALIDARG,
            httpsys::Error::NotFound(_)
            | httpsys::Error::NothingToUpdate { .. }
            | httpsys::Error::NotBoundFor { .. }
            | httpsys::Error::AppNotBound { .. }
            | httpsys::Error::NoBinding { .. }
            | httpsys::Error::NoReservation { .. } => NOT_FOUND,
            httpsys::Error::PortInUse(_) => ADDRESS_IN_USE,
            httpsys::Error::AlreadyBound { .. } => ALREADY_EXISTS,
            httpsys::Error::NotReservedFor { .. } => E_INVALIDARG,
            httpsys::Error::Conflict(_) => match ctx {
                Context::Reserve => URL_ALREADY_RESERVED,
                Context::Bind => E_INVALIDARG,
                Context::Other => E_FAIL,
            },
            _ => E_FAIL,
        },
        Error::DataDir(datadir::Error::Setting(_)) => E_INVALIDARG,
        _ => E_FAIL,
    }
}

/// [`failure`] for an operation error, with this front end's fix: the WMI method that
/// changes what the operation refused.
pub fn from_error(e: &Error, ctx: Context) -> Response {
    let text = match wmi_fix(e) {
        Some(fix) => format!("{e} ({fix})"),
        None => e.to_string(),
    };
    failure(of(e, ctx), text)
}

fn wmi_fix(e: &Error) -> Option<&'static str> {
    Some(match e {
        Error::Bindings(httpsys::Error::AlreadyBound { .. }) | Error::CertificateInUse { .. } => {
            "call RemoveSSLCertificateBindings for that binding first"
        }
        Error::Bindings(httpsys::Error::NotReservedFor { .. }) => {
            "call ReserveURL with an https URL of that port first"
        }
        Error::Bindings(httpsys::Error::NoReservation { .. }) => "ListReservedUrls lists them",
        Error::Bindings(httpsys::Error::AppNotBound { .. } | httpsys::Error::NoBinding { .. }) => {
            "ListSSLCertificateBindings lists them"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssrs_codes_have_their_documented_values() {
        assert_eq!(URL_ALREADY_RESERVED, -2147220932);
        assert_eq!(E_INVALIDARG, -2147024809);
        assert_eq!(ALREADY_EXISTS, -2147024713);
        assert_eq!(E_NOTIMPL as u32, 0x80004001);
    }

    #[test]
    fn errors_map_by_kind_and_context() {
        let conflict = |m: &str| Error::Bindings(httpsys::Error::Conflict(m.into()));
        assert_eq!(
            of(&conflict("x is already reserved"), Context::Reserve),
            URL_ALREADY_RESERVED
        );
        let ep = httpsys::Endpoint::IpPort([0, 0, 0, 0].into(), 443);
        let app = httpsys::Application::WebService;
        let bound = Error::Bindings(httpsys::Error::AlreadyBound {
            app,
            endpoint: ep.clone(),
            bound: "A".into(),
            wanted: "B".into(),
        });
        // By kind, not by words: the text may change, the code may not.
        assert_eq!(of(&bound, Context::Bind), ALREADY_EXISTS);
        let unreserved = Error::Bindings(httpsys::Error::NotReservedFor { app, endpoint: ep });
        assert_eq!(of(&unreserved, Context::Bind), E_INVALIDARG);
        let cert = Error::Certificate {
            problem: CertProblem::NotFound,
            message: "m".into(),
        };
        assert_eq!(of(&cert, Context::Bind), CRYPT_E_NOT_FOUND);
        assert_eq!(
            of(
                &Error::Bindings(httpsys::Error::PortInUse(80)),
                Context::Reserve
            ),
            ADDRESS_IN_USE
        );
        let f = from_error(&bound, Context::Bind);
        let text = f.error.unwrap();
        assert!(
            text.contains("already bound") && text.contains("RemoveSSLCertificateBindings"),
            "the WMI fix, not a command line's: {text}"
        );
        assert!(!text.contains("reportctl"), "{text}");
        let f = from_error(&Error::Refused("why".into()), Context::Other);
        assert_eq!((f.hresult, f.error.as_deref()), (E_FAIL, Some("why")));
        assert_eq!(f.extended_errors, vec!["why".to_string()]);
    }
}
