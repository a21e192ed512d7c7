//! The two applications of a report server and what the listener tells them about a request.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A report server application: each has its own virtual directory and URL reservations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Application {
    /// The Web Service (`/ReportServer`): folder pages and URL-access rendering.
    #[serde(rename = "webservice")]
    WebService,
    /// The Web Portal (`/Reports`): browse, view, upload, manage; the REST API.
    #[serde(rename = "portal")]
    Portal,
}

impl Application {
    pub const ALL: [Application; 2] = [Application::WebService, Application::Portal];

    /// The short name used by reportctl (`webservice`, `portal`).
    pub fn short_name(self) -> &'static str {
        match self {
            Application::WebService => "webservice",
            Application::Portal => "portal",
        }
    }

    /// The SSRS name (`ReportServerWebService`, `ReportServerWebApp`).
    pub fn ssrs_name(self) -> &'static str {
        match self {
            Application::WebService => "ReportServerWebService",
            Application::Portal => "ReportServerWebApp",
        }
    }

    /// The virtual directory a new instance uses.
    pub fn default_vdir(self) -> &'static str {
        match self {
            Application::WebService => "ReportServer",
            Application::Portal => "Reports",
        }
    }
}

impl fmt::Display for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// An application name that is none of the accepted spellings.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown application {0:?}; use webservice (ReportServerWebService) or portal (ReportServerWebApp, ReportManager)"
)]
pub struct UnknownApplication(pub String);

impl FromStr for Application {
    type Err = UnknownApplication;
    /// Accepts the short names and the SSRS spellings, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.trim().to_ascii_lowercase();
        match l.as_str() {
            "webservice" | "reportserverwebservice" | "reportserver" | "ws" => {
                Ok(Application::WebService)
            }
            "portal" | "reportserverwebapp" | "reportmanager" | "webapp" | "reports" => {
                Ok(Application::Portal)
            }
            _ => Err(UnknownApplication(s.to_owned())),
        }
    }
}

/// What the listener knows about a request, inserted into its extensions before the
/// application sees it. The request's URI path has the virtual directory stripped:
/// `/ReportServer/x?y` reaches the Web Service as `/x?y`, `/ReportServer` as `/`.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// Which application the reservation routed to.
    pub app: Application,
    /// The application's virtual directory as configured (e.g. `ReportServer`), for links:
    /// the application's base path is `/{vdir}`.
    pub vdir: String,
    /// True when the request arrived over TLS.
    pub secure: bool,
    /// The Host the client asked for (header or :authority), without port, as sent.
    pub host: String,
    /// The peer's address (for logs; never echoed in a header).
    pub peer: SocketAddr,
    /// The local address the connection arrived on.
    pub local: SocketAddr,
    /// Base URL (`https://host:port/vdir`) of an https reservation of this application,
    /// when one exists: where SecureConnectionLevel >= 1 redirects plain-http requests.
    /// Always None for a request that arrived over TLS.
    pub https_base: Option<String>,
}
