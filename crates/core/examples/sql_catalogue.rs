//! Prints every statement k2cse can send (`db::sql::catalogue`) as JSON, for
//! `scripts/check-tsql.py`, which parses each one with independent T-SQL parsers.

#[allow(
    clippy::print_stdout,
    reason = "the catalogue is this program's output"
)]
fn main() {
    let statements: Vec<serde_json::Value> = k2cse_core::db::sql::catalogue()
        .into_iter()
        .map(|(name, sql)| serde_json::json!({ "name": name, "sql": sql }))
        .collect();
    println!("{}", serde_json::Value::Array(statements));
}
