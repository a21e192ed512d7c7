//! The report definition model: one 2016-shaped tree that every supported RDL version is
//! parsed into.
//!
//! Must not: parse XML or VB (the parser fills it, `crate::expr` compiles its expressions).

/// The RDL schema version a definition was written for (its root namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Schema {
    /// `.../reporting/2003/10/reportdefinition` (SQL Server 2000).
    V2003,
    /// `.../reporting/2005/01/reportdefinition`.
    V2005,
    /// `.../reporting/2008/01/reportdefinition`.
    V2008,
    /// `.../reporting/2010/01/reportdefinition`.
    V2010,
    /// `.../reporting/2016/01/reportdefinition`.
    V2016,
}

impl Schema {
    /// The schema of a root namespace URI, `None` for anything else.
    pub fn from_namespace(ns: &str) -> Option<Schema> {
        let rest = ns.strip_prefix("http://schemas.microsoft.com/sqlserver/reporting/")?;
        let version = rest.strip_suffix("/reportdefinition")?;
        Some(match version {
            "2003/10" => Schema::V2003,
            "2005/01" => Schema::V2005,
            "2008/01" => Schema::V2008,
            "2010/01" => Schema::V2010,
            "2016/01" => Schema::V2016,
            _ => return None,
        })
    }

    /// The namespace URI of this schema.
    pub fn namespace(self) -> &'static str {
        match self {
            Schema::V2003 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2003/10/reportdefinition"
            }
            Schema::V2005 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2005/01/reportdefinition"
            }
            Schema::V2008 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2008/01/reportdefinition"
            }
            Schema::V2010 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2010/01/reportdefinition"
            }
            Schema::V2016 => {
                "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"
            }
        }
    }
}
