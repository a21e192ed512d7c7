//! Report parameters: typed values from the request, defaults (static, expression, data set),
//! valid values (static, data set), MultiValue, Nullable, AllowBlank, internal parameters,
//! cascading (a parameter's data set may use the parameters before it).
//!
//! Owns: [`Compiled::resolve_parameters`] and the SSRS error codes
//! (`rsReportParameterValueNotSet`, `rsInvalidReportParameter`, `rsParameterTypeMismatch`,
//! `rsReadOnlyReportParameter`). Must not: run queries — a parameter that needs a data set
//! not yet fetched answers [`ParamError::NeedsData`] with the query to run.

use std::collections::HashMap;
use std::sync::Arc;

use rdl::Value;
use rdl::expr::{self, EvalError, ParamProp};
use rdl::model::{DataSetReference, DefaultValue, ParameterType, ReportParameter, ValidValues};

use crate::compile::{Compiled, ParamContext, QueryRequest};
use crate::{DataTable, EngineError};

/// One resolved parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValue {
    /// The parameter's name.
    pub name: String,
    /// Its values (one unless multi-value; `Value::Null` for NULL).
    pub values: Vec<Value>,
    /// The labels (from valid values, else the values' text).
    pub labels: Vec<String>,
    /// `MultiValue`.
    pub multi: bool,
}

/// The resolved parameters of one execution, in definition order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedParams {
    /// The parameters.
    pub list: Vec<ParamValue>,
}

impl ResolvedParams {
    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.list.iter().find(|p| p.name == name)
    }

    /// `Parameters!name.<prop>[(index)]`.
    pub fn property(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<usize>,
    ) -> Result<Value, EvalError> {
        let p = self.get(name).ok_or_else(|| EvalError::NotFound {
            what: "parameter",
            name: name.into(),
        })?;
        let pick = |items: Vec<Value>| -> Result<Value, EvalError> {
            match index {
                Some(i) => items.get(i).cloned().ok_or_else(|| EvalError::Argument {
                    func: format!("Parameters!{name}"),
                    message: format!("index {i} is outside the {} value(s)", items.len()),
                }),
                None if p.multi => Ok(Value::Array(items.into())),
                None => Ok(items.into_iter().next().unwrap_or(Value::Null)),
            }
        };
        match prop {
            ParamProp::Value => pick(p.values.clone()),
            ParamProp::Label => pick(p.labels.iter().map(|l| Value::str(l.as_str())).collect()),
            ParamProp::Count => Ok(Value::Int(p.values.len() as i64)),
            ParamProp::IsMultiValue => Ok(Value::Bool(p.multi)),
        }
    }

    /// The values as the query string a drillthrough or the viewer would send.
    pub fn to_pairs(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for p in &self.list {
            for v in &p.values {
                if v.is_null() {
                    out.push((p.name.clone(), None));
                } else {
                    out.push((p.name.clone(), Some(value_text(v))));
                }
            }
        }
        out
    }
}

/// Invariant text of a parameter value (round-trips through [`parse_value`]).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::DateTime(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => expr::convert::to_string(other, "en-US"),
    }
}

/// Why parameters could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// A required parameter has no value and no default (`rsReportParameterValueNotSet`).
    #[error(
        "rsReportParameterValueNotSet: This report requires a default or user-defined value \
         for the report parameter '{name}'. To run or subscribe to this report, you must \
         provide a parameter value."
    )]
    ValueNotSet {
        /// The parameter.
        name: String,
    },
    /// A value outside the valid values, NULL or blank where not allowed
    /// (`rsInvalidReportParameter`).
    #[error(
        "rsInvalidReportParameter: The value provided for the report parameter '{name}' is not valid: {reason}"
    )]
    Invalid {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A value that does not parse as the parameter's type (`rsParameterTypeMismatch`).
    #[error(
        "rsParameterTypeMismatch: The value '{value}' provided for the report parameter \
         '{name}' is not valid for its type ({expected})."
    )]
    TypeMismatch {
        /// The parameter.
        name: String,
        /// The value as given.
        value: String,
        /// The expected type.
        expected: &'static str,
    },
    /// A value was given for an internal parameter (`rsReadOnlyReportParameter`).
    #[error(
        "rsReadOnlyReportParameter: The report parameter '{name}' is read-only and cannot be modified."
    )]
    ReadOnly {
        /// The parameter.
        name: String,
    },
    /// A parameter named in the request does not exist (`rsUnknownReportParameter`).
    #[error(
        "rsUnknownReportParameter: The report parameter '{name}' is not declared in the report."
    )]
    Unknown {
        /// The name as given.
        name: String,
    },
    /// A default or valid-values data set must be fetched first (cascading parameters):
    /// run these queries, add the tables and call again.
    #[error("the data sets {} are needed to resolve the parameters", .requests.iter().map(|r| r.dataset.as_str()).collect::<Vec<_>>().join(", "))]
    NeedsData {
        /// The queries to run.
        requests: Vec<QueryRequest>,
    },
    /// An expression or data set problem while resolving.
    #[error("the parameter '{name}': {message}")]
    Other {
        /// The parameter.
        name: String,
        /// What failed.
        message: String,
    },
}

impl ParamError {
    /// The SSRS error code (for the 400 page and the viewer).
    pub fn code(&self) -> &'static str {
        match self {
            ParamError::ValueNotSet { .. } => "rsReportParameterValueNotSet",
            ParamError::Invalid { .. } => "rsInvalidReportParameter",
            ParamError::TypeMismatch { .. } => "rsParameterTypeMismatch",
            ParamError::ReadOnly { .. } => "rsReadOnlyReportParameter",
            ParamError::Unknown { .. } => "rsUnknownReportParameter",
            ParamError::NeedsData { .. } => "rsNeedsData",
            ParamError::Other { .. } => "rsReportParameterProcessingError",
        }
    }
}

/// Parses a request value as the parameter's type.
pub fn parse_value(name: &str, t: ParameterType, s: &str) -> Result<Value, ParamError> {
    let mismatch = |expected| ParamError::TypeMismatch {
        name: name.to_owned(),
        value: s.to_owned(),
        expected,
    };
    Ok(match t {
        ParameterType::String => Value::str(s),
        ParameterType::Integer => Value::Int(s.trim().parse().map_err(|_| mismatch("Integer"))?),
        ParameterType::Float => {
            let x: f64 = s.trim().parse().map_err(|_| mismatch("Float"))?;
            if !x.is_finite() {
                return Err(mismatch("Float"));
            }
            Value::Float(x)
        }
        ParameterType::Boolean => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(mismatch("Boolean")),
        },
        ParameterType::DateTime => Value::DateTime(
            expr::convert::parse_date(s.trim()).ok_or_else(|| mismatch("DateTime"))?,
        ),
    })
}

fn coerce(p: &ReportParameter, v: Value) -> Result<Value, ParamError> {
    if v.is_null() {
        return Ok(v);
    }
    let text = match &v {
        Value::Str(s) => s.to_string(),
        other => value_text(other),
    };
    match (p.data_type, &v) {
        (ParameterType::String, Value::Str(_))
        | (ParameterType::Integer, Value::Int(_))
        | (ParameterType::Float, Value::Float(_))
        | (ParameterType::Boolean, Value::Bool(_))
        | (ParameterType::DateTime, Value::DateTime(_)) => Ok(v),
        (ParameterType::Float, Value::Int(i)) => Ok(Value::Float(*i as f64)),
        (ParameterType::Float, Value::Decimal(d)) => Ok(Value::Float(
            expr::convert::to_f64(&Value::Decimal(*d)).unwrap_or(0.0),
        )),
        (ParameterType::String, _) => Ok(Value::str(expr::convert::to_string(&v, "en-US"))),
        _ => parse_value(&p.name, p.data_type, &text),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Int(y)) | (Value::Int(y), Value::Float(x)) => *x == *y as f64,
        _ => a == b,
    }
}

impl Compiled {
    /// Resolves the request's parameter values (`input`: name → values, `None` = NULL) in
    /// definition order. `data` holds the tables fetched so far; when a parameter needs a
    /// data set that is not there the answer is [`ParamError::NeedsData`].
    pub fn resolve_parameters(
        &self,
        input: &HashMap<String, Vec<Option<String>>>,
        data: &HashMap<String, Arc<DataTable>>,
    ) -> Result<ResolvedParams, ParamError> {
        for name in input.keys() {
            if self.report.parameter(name).is_none() {
                return Err(ParamError::Unknown { name: name.clone() });
            }
        }
        let mut resolved = ResolvedParams::default();
        for p in &self.report.parameters {
            let given = input.get(&p.name);
            if given.is_some() && p.is_internal() {
                return Err(ParamError::ReadOnly {
                    name: p.name.clone(),
                });
            }
            let mut values: Vec<Value> = match given {
                Some(vs) => {
                    let mut out = Vec::with_capacity(vs.len());
                    for v in vs {
                        out.push(match v {
                            None => Value::Null,
                            Some(s) => parse_value(&p.name, p.data_type, s)?,
                        });
                    }
                    out
                }
                None => self.default_values(p, &resolved, data)?,
            };
            if values.is_empty() {
                return Err(ParamError::ValueNotSet {
                    name: p.name.clone(),
                });
            }
            if !p.multi_value && values.len() > 1 {
                return Err(ParamError::Invalid {
                    name: p.name.clone(),
                    reason: format!("{} values were given; it takes one", values.len()),
                });
            }
            for v in &mut values {
                *v = coerce(p, std::mem::take(v))?;
                if v.is_null() && !p.nullable {
                    return Err(ParamError::Invalid {
                        name: p.name.clone(),
                        reason: "it cannot be NULL (Nullable is false)".into(),
                    });
                }
                if matches!(v, Value::Str(s) if s.is_empty())
                    && !p.allow_blank
                    && p.valid_values.is_none()
                {
                    return Err(ParamError::Invalid {
                        name: p.name.clone(),
                        reason: "it cannot be blank (AllowBlank is false)".into(),
                    });
                }
            }
            let mut labels: Vec<String> = values.iter().map(value_text).collect();
            if let Some(valid) = self.valid_values(p, &resolved, data)? {
                for (i, v) in values.iter().enumerate() {
                    match valid.iter().find(|(x, _)| same(x, v)) {
                        Some((_, label)) => labels[i] = label.clone(),
                        None if v.is_null() => {}
                        // SSRS: a default that is not a valid value leaves the parameter
                        // without a value (the viewer shows it unselected)
                        None if given.is_none() => {
                            return Err(ParamError::ValueNotSet {
                                name: p.name.clone(),
                            });
                        }
                        None => {
                            return Err(ParamError::Invalid {
                                name: p.name.clone(),
                                reason: format!(
                                    "'{}' is not one of its valid values",
                                    value_text(v)
                                ),
                            });
                        }
                    }
                }
            }
            resolved.list.push(ParamValue {
                name: p.name.clone(),
                values,
                labels,
                multi: p.multi_value,
            });
        }
        Ok(resolved)
    }

    fn table(
        &self,
        p: &ReportParameter,
        r: &DataSetReference,
        resolved: &ResolvedParams,
        data: &HashMap<String, Arc<DataTable>>,
    ) -> Result<Arc<DataTable>, ParamError> {
        match data.get(&r.data_set_name) {
            Some(t) => Ok(t.clone()),
            None => {
                let q = self
                    .query(&r.data_set_name, resolved)
                    .map_err(|e| ParamError::Other {
                        name: p.name.clone(),
                        message: e.to_string(),
                    })?;
                Err(ParamError::NeedsData { requests: vec![q] })
            }
        }
    }

    fn column(
        &self,
        p: &ReportParameter,
        dataset: &str,
        t: &DataTable,
        field: &str,
    ) -> Result<usize, ParamError> {
        // a report field name maps onto its DataField column
        let ds = self.report.data_set(dataset);
        let col = ds
            .and_then(|d| d.field(field))
            .and_then(|f| match &f.source {
                rdl::model::FieldSource::DataField(c) => Some(c.as_str()),
                rdl::model::FieldSource::Value(_) => None,
            })
            .unwrap_or(field);
        t.fields
            .iter()
            .position(|f| f == col)
            .ok_or_else(|| ParamError::Other {
                name: p.name.clone(),
                message: format!("the data set {dataset} has no field {field}"),
            })
    }

    fn default_values(
        &self,
        p: &ReportParameter,
        resolved: &ResolvedParams,
        data: &HashMap<String, Arc<DataTable>>,
    ) -> Result<Vec<Value>, ParamError> {
        match &p.default_value {
            None => Ok(Vec::new()),
            Some(DefaultValue::Values(vs)) => {
                let ctx = ParamContext {
                    params: resolved,
                    culture: "en-US",
                };
                let mut out = Vec::new();
                for v in vs {
                    match v {
                        None => out.push(Value::Null),
                        Some(e) => {
                            let x = self.expr(e).map_err(|e| ParamError::Other {
                                name: p.name.clone(),
                                message: e.to_string(),
                            })?;
                            let val = expr::eval(&x, &ctx).map_err(|e| ParamError::Other {
                                name: p.name.clone(),
                                message: format!("its default value: {e}"),
                            })?;
                            match val {
                                Value::Array(a) => out.extend(a.iter().cloned()),
                                v => out.push(v),
                            }
                        }
                    }
                }
                Ok(out)
            }
            Some(DefaultValue::DataSet(r)) => {
                let t = self.table(p, r, resolved, data)?;
                let c = self.column(p, &r.data_set_name, &t, &r.value_field)?;
                let mut vals = (0..t.len()).map(|r| t.value(r, c));
                Ok(if p.multi_value {
                    vals.collect()
                } else {
                    vals.next().into_iter().collect()
                })
            }
        }
    }

    fn valid_values(
        &self,
        p: &ReportParameter,
        resolved: &ResolvedParams,
        data: &HashMap<String, Arc<DataTable>>,
    ) -> Result<Option<Vec<(Value, String)>>, ParamError> {
        match &p.valid_values {
            None => Ok(None),
            Some(ValidValues::Values(vs)) => {
                let ctx = ParamContext {
                    params: resolved,
                    culture: "en-US",
                };
                let mut out = Vec::new();
                for v in vs {
                    let eval = |e: &rdl::Expression| -> Result<Value, ParamError> {
                        let x = self.expr(e).map_err(|e| ParamError::Other {
                            name: p.name.clone(),
                            message: e.to_string(),
                        })?;
                        expr::eval(&x, &ctx).map_err(|e| ParamError::Other {
                            name: p.name.clone(),
                            message: format!("its valid values: {e}"),
                        })
                    };
                    let value = match &v.value {
                        Some(e) => coerce(p, eval(e)?)?,
                        None => Value::Null,
                    };
                    let label = match &v.label {
                        Some(e) => expr::convert::to_string(&eval(e)?, "en-US"),
                        None => value_text(&value),
                    };
                    out.push((value, label));
                }
                Ok(Some(out))
            }
            Some(ValidValues::DataSet(r)) => {
                let t = self.table(p, r, resolved, data)?;
                let c = self.column(p, &r.data_set_name, &t, &r.value_field)?;
                let lc = match &r.label_field {
                    Some(l) => self.column(p, &r.data_set_name, &t, l)?,
                    None => c,
                };
                let mut out = Vec::with_capacity(t.len());
                for r in 0..t.len() {
                    let v = coerce(p, t.value(r, c))?;
                    out.push((v, expr::convert::to_string(&t.value(r, lc), "en-US")));
                }
                Ok(Some(out))
            }
        }
    }

    /// The valid values of a parameter for the viewer's drop-down (after the parameters
    /// before it are resolved): `None` when it has none.
    pub fn parameter_choices(
        &self,
        name: &str,
        resolved: &ResolvedParams,
        data: &HashMap<String, Arc<DataTable>>,
    ) -> Result<Option<Vec<(Value, String)>>, ParamError> {
        let p = self
            .report
            .parameter(name)
            .ok_or_else(|| ParamError::Unknown {
                name: name.to_owned(),
            })?;
        self.valid_values(p, resolved, data)
    }
}

impl From<ParamError> for EngineError {
    fn from(e: ParamError) -> Self {
        EngineError::Parameter(e)
    }
}
