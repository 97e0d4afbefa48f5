//! [`Config`]: one point of a sweep, with the swept values that name it.

use super::sections::Spec;
use toml::Value;

/// One point of the sweep: its swept values and the resolved spec.
#[derive(Clone, Debug)]
pub struct Config {
    /// Each swept dotted key and its value here, in sweep order.
    pub params: Vec<(String, Value)>,
    /// The resolved configuration.
    pub spec: Spec,
}

impl Config {
    /// `key=value` pairs joined by spaces, or `base` when nothing is swept.
    pub fn label(&self) -> String {
        label(&self.params)
    }
}

/// The label of a sweep point: `key=value` pairs joined by spaces, or `base` when nothing is swept.
pub fn label(params: &[(String, Value)]) -> String {
    if params.is_empty() {
        return "base".into();
    }
    params.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect::<Vec<_>>().join(" ")
}

/// A TOML value as a short text (strings without quotes).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
