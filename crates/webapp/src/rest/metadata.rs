//! `GET api/v2.0/$metadata`: a CSDL (OData v4 EDMX) document of the entity sets,
//! singletons and types reportd serves. The entity sets come from [`super::Set`] and the
//! catalog item properties from [`ITEM_PROPERTIES`], which a test holds equal to what
//! [`super::odata::SELECTABLE`] (the JSON of an item) carries. Pure: builds text, no I/O.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use super::Set;

/// The properties of `Model.CatalogItem` and their EDM types.
pub(super) const ITEM_PROPERTIES: [(&str, &str); 15] = [
    ("Id", "Edm.Guid"),
    ("Name", "Edm.String"),
    ("Description", "Edm.String"),
    ("Path", "Edm.String"),
    ("Type", "Model.CatalogItemType"),
    ("Hidden", "Edm.Boolean"),
    ("Size", "Edm.Int64"),
    ("ModifiedBy", "Edm.String"),
    ("ModifiedDate", "Edm.DateTimeOffset"),
    ("CreatedBy", "Edm.String"),
    ("CreatedDate", "Edm.DateTimeOffset"),
    ("ParentFolderId", "Edm.Guid"),
    ("ContentType", "Edm.String"),
    ("Content", "Edm.Binary"),
    ("IsFavorite", "Edm.Boolean"),
];

/// Complex types of the operations' bodies: name, properties.
const COMPLEX: [(&str, &[(&str, &str)]); 7] = [
    (
        "Property",
        &[("Name", "Edm.String"), ("Value", "Edm.String")],
    ),
    (
        "Role",
        &[("Name", "Edm.String"), ("Description", "Edm.String")],
    ),
    (
        "Policy",
        &[
            ("GroupUserName", "Edm.String"),
            ("Roles", "Collection(Model.Role)"),
        ],
    ),
    (
        "ItemPolicy",
        &[
            ("Id", "Edm.Guid"),
            ("InheritParentPolicy", "Edm.Boolean"),
            ("Policies", "Collection(Model.Policy)"),
        ],
    ),
    ("AllowedAction", &[("Action", "Edm.String")]),
    (
        "ReportParameterDefinition",
        &[
            ("Name", "Edm.String"),
            ("ParameterType", "Edm.String"),
            ("ParameterVisibility", "Edm.String"),
            ("ParameterState", "Edm.String"),
            ("Prompt", "Edm.String"),
            ("PromptUser", "Edm.Boolean"),
            ("AllowBlank", "Edm.Boolean"),
            ("MultiValue", "Edm.Boolean"),
            ("Nullable", "Edm.Boolean"),
            ("QueryParameter", "Edm.Boolean"),
            ("DefaultValues", "Collection(Edm.String)"),
            ("DefaultValuesIsNull", "Edm.Boolean"),
            ("DefaultValuesQueryBased", "Edm.Boolean"),
            ("ValidValuesIsNull", "Edm.Boolean"),
            ("ValidValuesQueryBased", "Edm.Boolean"),
            ("Dependencies", "Collection(Edm.String)"),
        ],
    ),
    (
        "SystemInfo",
        &[
            ("ReportServerAbsoluteUrl", "Edm.String"),
            ("ReportServerRelativeUrl", "Edm.String"),
            ("WebPortalRelativeUrl", "Edm.String"),
            ("ProductName", "Edm.String"),
            ("ProductVersion", "Edm.String"),
            ("ProductType", "Edm.String"),
            ("TimeZone", "Edm.String"),
        ],
    ),
];

/// The document.
pub(super) fn document() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n<edmx:DataServices>\n<Schema Namespace=\"Model\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    s.push_str("<EnumType Name=\"CatalogItemType\">");
    for t in super::Kind::ALL {
        s.push_str(&format!("<Member Name=\"{t}\"/>"));
    }
    s.push_str(
        "</EnumType>\n<EntityType Name=\"CatalogItem\"><Key><PropertyRef Name=\"Id\"/></Key>",
    );
    for (name, ty) in ITEM_PROPERTIES {
        let nullable = if name == "Id" {
            " Nullable=\"false\""
        } else {
            ""
        };
        s.push_str(&format!(
            "<Property Name=\"{name}\" Type=\"{ty}\"{nullable}/>"
        ));
    }
    s.push_str("<NavigationProperty Name=\"Properties\" Type=\"Collection(Model.Property)\"/></EntityType>\n");
    for set in Set::ALL {
        if let Some(t) = set.kind() {
            s.push_str(&format!(
                "<EntityType Name=\"{t}\" BaseType=\"Model.CatalogItem\"/>\n"
            ));
        }
    }
    s.push_str("<EntityType Name=\"User\"><Key><PropertyRef Name=\"Id\"/></Key><Property Name=\"Id\" Type=\"Edm.Guid\" Nullable=\"false\"/><Property Name=\"Username\" Type=\"Edm.String\"/><Property Name=\"DisplayName\" Type=\"Edm.String\"/><Property Name=\"HasFavoriteItems\" Type=\"Edm.Boolean\"/><Property Name=\"MyReportsPath\" Type=\"Edm.String\"/></EntityType>\n");
    for (name, props) in COMPLEX {
        s.push_str(&format!("<ComplexType Name=\"{name}\">"));
        for (p, ty) in props {
            s.push_str(&format!("<Property Name=\"{p}\" Type=\"{ty}\"/>"));
        }
        s.push_str("</ComplexType>\n");
    }
    s.push_str("<EntityContainer Name=\"Container\">\n");
    for set in Set::ALL {
        let ty = match set {
            Set::CatalogItems => "CatalogItem".to_owned(),
            Set::Me => {
                s.push_str("<Singleton Name=\"Me\" Type=\"Model.User\"/>\n");
                continue;
            }
            other => match other.kind() {
                Some(t) => t.to_string(),
                None => continue,
            },
        };
        s.push_str(&format!(
            "<EntitySet Name=\"{}\" EntityType=\"Model.{ty}\"/>\n",
            set.name()
        ));
    }
    s.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    s
}

pub(super) fn response() -> Response {
    let mut r = document().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_type_matches_the_json_of_an_item() {
        let names: Vec<&str> = ITEM_PROPERTIES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, super::super::odata::SELECTABLE);
        let doc = document();
        for set in [
            "CatalogItems",
            "Folders",
            "Reports",
            "DataSources",
            "DataSets",
            "Resources",
        ] {
            assert!(doc.contains(&format!("<EntitySet Name=\"{set}\"")), "{set}");
        }
        assert!(doc.contains("<Singleton Name=\"Me\""));
        // Well formed: the XML reader reads it to the end.
        let mut r = quick_xml::Reader::from_str(&doc);
        loop {
            match r.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                _ => continue,
            }
        }
    }
}
