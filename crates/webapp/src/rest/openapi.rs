//! `GET api/v2.0/openapi.json`: an OpenAPI 3.0 document generated from [`super::routes`],
//! the table the dispatcher matches requests against, so it describes exactly what is
//! served. Pure: builds JSON, no I/O.

use serde_json::{Map, Value, json};

use super::{Op, Route, Set, routes};

/// The document, with `api_base` (`/Reports/api/v2.0`) as its server URL.
pub(super) fn document(api_base: &str) -> Value {
    let mut paths = Map::new();
    for r in routes() {
        let entry = paths
            .entry(r.path())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(r.method.as_str().to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "reportd REST API (SSRS REST API v2.0 subset)",
            "version": "2.0",
            "description": "The operations of the SSRS REST API v2.0 that reportd serves. Names match any case; keys are GUIDs or (Path='/Folder/Item'). Writes from browsers, with the XSRF header or authenticated by the Session cookie must send X-XSRF-TOKEN (the XSRF-TOKEN cookie set by every GET). Query options too long for a URL: POST the collection's URL + /$query with them as a text/plain body.",
        },
        "servers": [{"url": api_base}],
        "security": [{"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": schemas(),
        },
    })
}

fn operation(r: &Route) -> Value {
    let tag = match r.set {
        Set::OpenApi => "OpenApi",
        Set::Metadata => "Metadata",
        s => s.name(),
    };
    let mut params = Vec::new();
    if r.keyed {
        params.push(json!({
            "name": "Id", "in": "path", "required": true,
            "description": "A GUID, or Path='/Folder/Item' (quotes doubled inside).",
            "schema": {"type": "string"},
        }));
    }
    if r.op == Op::Search {
        params.push(json!({"name": "searchText", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    if matches!(r.op, Op::List | Op::Children | Op::Search) {
        for (name, schema, what) in [
            (
                "$filter",
                json!({"type": "string"}),
                "eq ne gt ge lt le and or not, contains startswith endswith tolower toupper; on Id Name Path Type Hidden Description CreatedDate ModifiedDate CreatedBy ModifiedBy Size ContentType",
            ),
            (
                "$orderby",
                json!({"type": "string"}),
                "Property [asc|desc], comma-separated",
            ),
            (
                "$top",
                json!({"type": "integer", "minimum": 0}),
                "At most this many items",
            ),
            (
                "$skip",
                json!({"type": "integer", "minimum": 0}),
                "Skip this many items",
            ),
            ("$count", json!({"type": "boolean"}), "Add @odata.count"),
            (
                "$select",
                json!({"type": "string"}),
                "Properties to return, comma-separated",
            ),
            (
                "$expand",
                json!({"type": "string"}),
                "Properties, Policies, DataSources, comma-separated",
            ),
        ] {
            params.push(json!({"name": name, "in": "query", "required": false, "description": what, "schema": schema}));
        }
    } else if matches!(r.op, Op::Get) {
        params.push(json!({"name": "$select", "in": "query", "required": false, "schema": {"type": "string"}}));
        params.push(json!({"name": "$expand", "in": "query", "required": false, "description": "Properties, Policies, DataSources, comma-separated", "schema": {"type": "string"}}));
    } else if matches!(r.op, Op::Properties) {
        params.push(json!({"name": "properties", "in": "query", "required": false, "description": "Names of the properties to return, comma-separated", "schema": {"type": "string"}}));
    }
    let ok = |code: &str, schema: Value| json!({code: {"description": "OK", "content": {"application/json": {"schema": schema}}}});
    let item_ref = json!({"$ref": "#/components/schemas/CatalogItem"});
    let mut responses = match r.op {
        Op::Me => ok("200", json!({"$ref": "#/components/schemas/User"})),
        Op::SignIn => json!({"201": {"description": "Signed in: the session cookie is set"}}),
        Op::SignOut => json!({"200": {"description": "Signed out: the session cookie is cleared"}}),
        Op::SetParameterDefinitions => json!({"204": {"description": "Done"}}),
        Op::CheckConnection | Op::CheckNewConnection | Op::CheckReportDataSource => ok(
            "200",
            json!({"$ref": "#/components/schemas/DataSourceCheckResult"}),
        ),
        Op::System => ok("200", json!({"$ref": "#/components/schemas/SystemInfo"})),
        Op::OpenApi => ok("200", json!({"type": "object"})),
        Op::List | Op::Children | Op::Search => ok(
            "200",
            json!({"$ref": "#/components/schemas/CatalogItemList"}),
        ),
        Op::Get | Op::Replace => ok("200", item_ref.clone()),
        Op::Create => ok("201", item_ref.clone()),
        Op::Update | Op::Delete => json!({"204": {"description": "Done"}}),
        Op::Content => {
            json!({"200": {"description": "The bytes", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
        }
        Op::DeleteItems | Op::MoveItems => ok(
            "200",
            json!({"type": "object", "properties": {"value": {"type": "boolean"}}}),
        ),
        Op::Metadata => {
            json!({"200": {"description": "The CSDL document", "content": {"application/xml": {"schema": {"type": "string"}}}}})
        }
        Op::Policies | Op::SetPolicies | Op::SystemPolicies | Op::SetSystemPolicies => {
            ok("200", json!({"$ref": "#/components/schemas/ItemPolicy"}))
        }
        Op::Properties | Op::SystemProperties => {
            ok("200", list_of("#/components/schemas/Property"))
        }
        Op::SetProperties => json!({"204": {"description": "Done"}}),
        Op::Roles => ok(
            "200",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Role"}}),
        ),
        Op::AllowedActions | Op::SystemAllowedActions => {
            ok("200", list_of("#/components/schemas/AllowedAction"))
        }
        Op::ParameterDefinitions => ok(
            "200",
            list_of("#/components/schemas/ReportParameterDefinition"),
        ),
        Op::ReportDataSources | Op::SetReportDataSources => {
            ok("200", list_of("#/components/schemas/DataSource"))
        }
    };
    if let Value::Object(m) = &mut responses {
        m.insert(
            "default".into(),
            json!({"description": "An OData error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}}),
        );
    }
    let mut op = json!({
        "tags": [tag],
        "summary": r.summary,
        "operationId": format!("{}{}{}", r.method.as_str().to_ascii_lowercase(), r.set.name().replace('.', ""), op_suffix(r)),
        "parameters": params,
        "responses": responses,
    });
    let body = match r.op {
        Op::Create | Op::Replace | Op::Update => {
            Some(json!({"$ref": "#/components/schemas/CatalogItem"}))
        }
        Op::MoveItems => Some(
            json!({"type": "object", "required": ["CatalogItemPaths", "TargetPath"], "properties": {"CatalogItemPaths": {"type": "array", "items": {"type": "string"}}, "TargetPath": {"type": "string"}}}),
        ),
        Op::DeleteItems => Some(
            json!({"type": "object", "required": ["CatalogItemPaths"], "properties": {"CatalogItemPaths": {"type": "array", "items": {"type": "string"}}}}),
        ),
        Op::SetPolicies | Op::SetSystemPolicies => {
            Some(json!({"$ref": "#/components/schemas/ItemPolicy"}))
        }
        Op::SetProperties => {
            Some(json!({"type": "array", "items": {"$ref": "#/components/schemas/Property"}}))
        }
        Op::SetReportDataSources => {
            Some(json!({"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}}))
        }
        Op::SetParameterDefinitions => Some(
            json!({"type": "array", "items": {"$ref": "#/components/schemas/ReportParameterDefinitionPatch"}}),
        ),
        Op::CheckNewConnection => Some(json!({"$ref": "#/components/schemas/DataSource"})),
        Op::CheckReportDataSource => Some(
            json!({"type": "object", "required": ["DataSourceName"], "properties": {"DataSourceName": {"type": "string"}}}),
        ),
        Op::SignIn => Some(json!({"$ref": "#/components/schemas/UserCredentials"})),
        _ => None,
    };
    if let Some(schema) = body {
        let mut content = json!({"application/json": {"schema": schema}});
        if r.op == Op::SignIn {
            content["application/x-www-form-urlencoded"] =
                json!({"schema": {"$ref": "#/components/schemas/UserCredentials"}});
        }
        op["requestBody"] = json!({"required": true, "content": content});
    }
    if r.op == Op::SignIn {
        // Signing in is what a client without credentials does.
        op["security"] = json!([{}]);
    }
    op
}

fn op_suffix(r: &Route) -> String {
    let mut s = String::new();
    if r.keyed {
        s.push_str("ByKey");
    }
    for c in r.nav.chars().filter(|c| c.is_ascii_alphanumeric()) {
        s.push(c);
    }
    s
}

fn list_of(item: &str) -> Value {
    json!({"type": "object", "properties": {"@odata.context": {"type": "string"}, "@odata.count": {"type": "integer"}, "value": {"type": "array", "items": {"$ref": item}}}})
}

fn schemas() -> Value {
    let s = json!({"type": "string"});
    let ns = json!({"type": "string", "nullable": true});
    json!({
        "CatalogItem": {
            "type": "object",
            "properties": {
                "@odata.type": {"type": "string", "enum": ["#Model.Folder", "#Model.Report", "#Model.DataSource", "#Model.DataSet", "#Model.Resource"]},
                "Id": {"type": "string", "format": "uuid"},
                "Name": s, "Description": ns, "Path": s,
                "Type": {"type": "string", "enum": ["Folder", "Report", "DataSource", "DataSet", "Resource"]},
                "Hidden": {"type": "boolean"}, "Size": {"type": "integer", "format": "int64"},
                "ModifiedBy": s, "ModifiedDate": {"type": "string", "format": "date-time"},
                "CreatedBy": s, "CreatedDate": {"type": "string", "format": "date-time"},
                "ParentFolderId": {"type": "string", "format": "uuid", "nullable": true},
                "ContentType": ns, "Content": {"type": "string", "format": "byte"},
                "IsFavorite": {"type": "boolean"},
                "Properties": {"type": "array", "items": {"$ref": "#/components/schemas/Property"}},
                "Policies": {"type": "array", "nullable": true, "items": {"$ref": "#/components/schemas/Policy"}},
                "DataSources": {"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}},
            },
        },
        "CatalogItemList": {
            "type": "object",
            "properties": {
                "@odata.context": s,
                "@odata.count": {"type": "integer"},
                "value": {"type": "array", "items": {"$ref": "#/components/schemas/CatalogItem"}},
            },
        },
        "User": {
            "type": "object",
            "properties": {"Id": {"type": "string", "format": "uuid"}, "Username": s, "DisplayName": s, "HasFavoriteItems": {"type": "boolean"}, "MyReportsPath": ns},
        },
        "SystemInfo": {
            "type": "object",
            "properties": {"ReportServerAbsoluteUrl": s, "ReportServerRelativeUrl": s, "WebPortalRelativeUrl": s, "ProductName": s, "ProductVersion": s, "ProductType": s, "TimeZone": s},
        },
        "Property": {"type": "object", "properties": {"Name": s, "Value": s}},
        "Role": {"type": "object", "properties": {"Name": s, "Description": s}},
        "Policy": {
            "type": "object",
            "properties": {"GroupUserName": s, "Roles": {"type": "array", "items": {"$ref": "#/components/schemas/Role"}}},
        },
        "ItemPolicy": {
            "type": "object",
            "properties": {
                "@odata.context": s,
                "Id": {"type": "string", "format": "uuid"},
                "InheritParentPolicy": {"type": "boolean"},
                "Policies": {"type": "array", "items": {"$ref": "#/components/schemas/Policy"}},
            },
        },
        "AllowedAction": {"type": "object", "properties": {"Action": s}},
        "ReportParameterDefinition": {
            "type": "object",
            "properties": {
                "Name": s,
                "ParameterType": {"type": "string", "enum": ["Boolean", "DateTime", "Integer", "Float", "String"]},
                "ParameterVisibility": {"type": "string", "enum": ["Visible", "Hidden", "Internal"]},
                "ParameterState": {"type": "string", "enum": ["HasValidValue", "MissingValidValue", "HasOutstandingDependencies", "DynamicValuesUnavailable"]},
                "ValidValues": {"type": "array", "items": {"type": "object", "properties": {"Label": s, "Value": s}}},
                "ValidValuesIsNull": {"type": "boolean"}, "ValidValuesQueryBased": {"type": "boolean"},
                "AllowBlank": {"type": "boolean"}, "MultiValue": {"type": "boolean"}, "Nullable": {"type": "boolean"},
                "Prompt": s, "PromptUser": {"type": "boolean"}, "QueryParameter": {"type": "boolean"},
                "DefaultValues": {"type": "array", "items": s},
                "DefaultValuesIsNull": {"type": "boolean"}, "DefaultValuesQueryBased": {"type": "boolean"},
                "Dependencies": {"type": "array", "items": s},
            },
        },
        "DataSource": {
            "type": "object",
            "properties": {
                "Id": {"type": "string", "format": "uuid"},
                "Name": s, "Type": s, "Path": s,
                "IsReference": {"type": "boolean"}, "IsEnabled": {"type": "boolean"},
                "DataSourceType": s, "ConnectionString": s, "CredentialRetrieval": s,
                "CredentialsInServer": {"type": "object", "nullable": true, "properties": {"UserName": s, "Password": s}},
                "CredentialsByUser": {"type": "object", "nullable": true, "properties": {"DisplayText": s}},
                "IsOriginalConnectionStringExpressionBased": {"type": "boolean"},
                "IsConnectionStringOverridden": {"type": "boolean"},
            },
        },
        "UserCredentials": {
            "type": "object",
            "required": ["UserName", "Password"],
            "properties": {"UserName": s, "Password": s, "Domain": s},
        },
        "DataSourceCheckResult": {
            "type": "object",
            "properties": {"IsSuccessful": {"type": "boolean"}, "ErrorMessage": ns, "@odata.context": s},
        },
        "ReportParameterDefinitionPatch": {
            "type": "object",
            "properties": {
                "Name": s,
                "DefaultValues": {"type": "array", "items": s},
                "Prompt": s,
                "ParameterVisibility": {"type": "string", "enum": ["Visible", "Hidden", "Internal"]},
            },
        },
        "ODataError": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {"code": s, "message": s, "details": {"type": "array", "items": {}}}}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once() {
        let doc = document("/Reports/api/v2.0");
        let paths = doc["paths"].as_object().unwrap();
        let ops: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(ops, routes().len());
        assert!(paths["/Folders({Id})/CatalogItems"]["get"].is_object());
        assert!(paths["/CatalogItems({Id})/Content/$value"]["get"].is_object());
        assert!(paths.get("/Kpis").is_none());
    }
}
