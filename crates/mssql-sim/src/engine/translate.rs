//! The T-SQL the simulator understands, translated to SQLite.
//!
//! This is deliberately small: it covers the statements k2cse sends (see `k2cse-core`'s
//! `db::sql`) and simple queries from test clients, nothing more. Anything else reaches SQLite
//! unchanged and fails there with an error that says so. The rewrites:
//!
//! | T-SQL | SQLite |
//! |---|---|
//! | `N'text'` | `'text'` |
//! | `@@VERSION`, `@@SERVERNAME`, `DB_NAME()` | simulator functions |
//! | `CONVERT(type[(n)], x[, style])` | `k2sim_convert('type', 'n', x)`: SQL Server's explicit conversions |
//! | `CAST(NULL AS type)` | `NULL` |
//! | `0x0A` | `X'0A'` |
//! | `'a' + x` (next to a string literal) | `'a' \|\| x` |
//! | `(VALUES (...), ...) AS v(a, b)` | `(SELECT column1 AS a, ... FROM (VALUES ...)) AS v` |
//! | `WITH (UPDLOCK, HOLDLOCK)` table hints | removed (explicit transactions are `BEGIN IMMEDIATE`) |
//! | `OPENJSON(@p) WITH (col TYPE '$.path', ...) AS j` | a `json_each` subquery (`VARBINARY` columns base64-decoded) |
//! | `ISNULL(`, `LEN(` | `IFNULL(`, `length(` |
//! | `COLLATE ..._BIN2` / `_CI_` / `_CS_` | `COLLATE k2sim_bin2` / `k2sim_ci` / `k2sim_cs` (trailing spaces ignored) |
//! | `[dbo].x` | `main.x` |
//!
//! Statements handled by the session instead of SQLite: `SET ...` (only `XACT_ABORT` matters),
//! `BEGIN/COMMIT/ROLLBACK TRAN`, `OPEN/CLOSE MASTER KEY`, `OPEN/CLOSE SYMMETRIC KEY`,
//! `DECLARE`/`SET @variable`, and `EXEC (...)` with SQL Server's grammar: string literals and
//! variables joined by `+` (anything else is Msg 102), run as a batch of its own.
//! `OPENJSON`/`STRING_SPLIT` below compatibility level 130 are Msg 208 ([`requires_level`]).

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// One translated statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// SQL for SQLite.
    Sql(String),
    /// A `SET` option with no effect here.
    NoOp,
    /// `SET XACT_ABORT ON|OFF`.
    XactAbort(bool),
    /// `BEGIN TRAN[SACTION]`.
    Begin,
    /// `COMMIT [TRAN[SACTION]]`.
    Commit,
    /// `ROLLBACK [TRAN[SACTION]]`.
    Rollback,
    /// `OPEN MASTER KEY DECRYPTION BY PASSWORD = ...`.
    OpenMasterKey(String),
    /// `CLOSE MASTER KEY`.
    CloseMasterKey,
    /// `OPEN SYMMETRIC KEY k DECRYPTION BY CERTIFICATE c`.
    OpenSymmetricKey {
        /// Key name.
        key: String,
        /// Certificate name.
        certificate: String,
    },
    /// `CLOSE SYMMETRIC KEY k`.
    CloseSymmetricKey(String),
    /// `CLOSE ALL SYMMETRIC KEYS`.
    CloseAllSymmetricKeys,
    /// `DECLARE @name TYPE [= expression]` (the expression translated for SQLite).
    Declare {
        /// The variable, with its `@`.
        name: String,
        /// Its initial value, if any.
        value: Option<String>,
    },
    /// `SET @name = expression`.
    SetVariable {
        /// The variable, with its `@`.
        name: String,
        /// The value (translated).
        value: String,
    },
    /// `EXEC[UTE] (part + part ...)`: dynamic SQL, run in a scope of its own.
    Exec(Vec<ExecPart>),
    /// A statement SQL Server refuses to parse.
    SyntaxError {
        /// 102 (`Incorrect syntax near ...`) or 156 (`... near the keyword ...`).
        number: i32,
        /// The token it stopped at.
        near: String,
    },
}

/// One operand of `EXEC (...)`: SQL Server allows only string literals and variables,
/// joined by `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecPart {
    /// A string literal's value.
    Literal(String),
    /// A variable, with its `@`.
    Variable(String),
}

/// A statement's text with its string literals replaced by numbered placeholders, so that
/// rewrites never touch what is inside quotes.
struct Masked {
    text: String,
    literals: Vec<String>,
}

const MARK: char = '\u{1}';

fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the tests below.
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("bad built-in pattern {pattern}: {e}"))
}

static LITERAL: LazyLock<Regex> = LazyLock::new(|| re(r"'\x01(\d+)\x01'"));

impl Masked {
    fn new(statement: &str) -> Self {
        let mut text = String::with_capacity(statement.len());
        let mut literals = Vec::new();
        let mut chars = statement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    let mut literal = String::new();
                    while let Some(c) = chars.next() {
                        if c == '\'' {
                            if chars.peek() == Some(&'\'') {
                                chars.next();
                                literal.push_str("''");
                                continue;
                            }
                            break;
                        }
                        literal.push(c);
                    }
                    let _ = write!(text, "'{MARK}{}{MARK}'", literals.len());
                    literals.push(literal);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                    text.push(' ');
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut last = ' ';
                    for c in chars.by_ref() {
                        if last == '*' && c == '/' {
                            break;
                        }
                        last = c;
                    }
                    text.push(' ');
                }
                _ => text.push(c),
            }
        }
        Self {
            text: text.trim().to_owned(),
            literals,
        }
    }

    /// A literal's value (doubled quotes undone).
    fn literal(&self, index: &str) -> Option<String> {
        let i: usize = index.parse().ok()?;
        self.literals.get(i).map(|l| l.replace("''", "'"))
    }

    fn unmask(&self, text: &str) -> String {
        LITERAL
            .replace_all(text, |c: &Captures<'_>| {
                let i: usize = c[1].parse().unwrap_or(usize::MAX);
                format!("'{}'", self.literals.get(i).map_or("", String::as_str))
            })
            .into_owned()
    }
}

/// Splits a batch at top-level semicolons (not inside quotes, brackets or comments).
pub fn split(batch: &str) -> Vec<&str> {
    let bytes = batch.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' | b'[' => {
                let close = if bytes[i] == b'[' { b']' } else { bytes[i] };
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == close {
                        if bytes.get(i + 1) == Some(&close) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                out.push(&batch[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&batch[start.min(batch.len())..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// Translates one statement.
pub fn translate(statement: &str) -> Statement {
    static SET_XACT: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^SET\s+XACT_ABORT\s+(ON|OFF)$"));
    static SET: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^SET\s+\w+"));
    static BEGIN: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^BEGIN\s+TRAN(SACTION)?(\s+\w+)?$"));
    static COMMIT: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?is)^COMMIT(\s+TRAN(SACTION)?)?(\s+\w+)?$"));
    static ROLLBACK: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?is)^ROLLBACK(\s+TRAN(SACTION)?)?(\s+\w+)?$"));
    static OPEN_MASTER: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?is)^OPEN\s+MASTER\s+KEY\s+DECRYPTION\s+BY\s+PASSWORD\s*=\s*N?'\x01(\d+)\x01'$")
    });
    static CLOSE_MASTER: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^CLOSE\s+MASTER\s+KEY$"));
    static OPEN_KEY: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?is)^OPEN\s+SYMMETRIC\s+KEY\s+\[?(\w+)\]?\s+DECRYPTION\s+BY\s+CERTIFICATE\s+\[?(\w+)\]?$",
        )
    });
    static CLOSE_KEY: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?is)^CLOSE\s+SYMMETRIC\s+KEY\s+\[?(\w+)\]?$"));
    static CLOSE_ALL: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?is)^CLOSE\s+ALL\s+SYMMETRIC\s+KEYS$"));
    static DECLARE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?is)^DECLARE\s+(@\w+)\s+(?:AS\s+)?(\w+(?:\s*\(\s*(?:\d+|MAX)\s*\))?)(?:\s*=\s*(.+))?$",
        )
    });
    static SET_VARIABLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^SET\s+(@\w+)\s*=\s*(.+)$"));
    static EXEC: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)^EXEC(UTE)?\s*\((.*)\)$"));

    let masked = Masked::new(statement);
    let t = masked.text.as_str();
    if let Some(c) = SET_XACT.captures(t) {
        return Statement::XactAbort(c[1].eq_ignore_ascii_case("on"));
    }
    if SET.is_match(t) {
        return Statement::NoOp;
    }
    if BEGIN.is_match(t) {
        return Statement::Begin;
    }
    if COMMIT.is_match(t) {
        return Statement::Commit;
    }
    if ROLLBACK.is_match(t) {
        return Statement::Rollback;
    }
    if let Some(password) = OPEN_MASTER.captures(t).and_then(|c| masked.literal(&c[1])) {
        return Statement::OpenMasterKey(password);
    }
    if CLOSE_MASTER.is_match(t) {
        return Statement::CloseMasterKey;
    }
    if let Some(c) = OPEN_KEY.captures(t) {
        return Statement::OpenSymmetricKey {
            key: c[1].to_owned(),
            certificate: c[2].to_owned(),
        };
    }
    if let Some(c) = CLOSE_KEY.captures(t) {
        return Statement::CloseSymmetricKey(c[1].to_owned());
    }
    if CLOSE_ALL.is_match(t) {
        return Statement::CloseAllSymmetricKeys;
    }
    if let Some(c) = DECLARE.captures(t) {
        let value = c
            .get(3)
            .map(|v| masked.unmask(&rewrite_text(v.as_str(), &masked)));
        return Statement::Declare {
            name: c[1].to_owned(),
            value,
        };
    }
    if let Some(c) = SET_VARIABLE.captures(t) {
        return Statement::SetVariable {
            name: c[1].to_owned(),
            value: masked.unmask(&rewrite_text(&c[2], &masked)),
        };
    }
    if let Some(c) = EXEC.captures(t) {
        return exec(&c[2], &masked);
    }
    Statement::Sql(masked.unmask(&rewrite(&masked)))
}

/// `EXEC (...)`'s operands: string literals and variables joined by `+`, nothing else (a
/// function call or a parenthesis there is a syntax error on SQL Server, Msg 102).
fn exec(inner: &str, masked: &Masked) -> Statement {
    static PART: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)^\s*(?:N?'\x01(\d+)\x01'|(@\w+))\s*(\+|$)"));
    let mut parts = Vec::new();
    let mut rest = inner;
    loop {
        let Some(c) = PART.captures(rest) else {
            let near = rest
                .trim_start()
                .split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '@'))
                .next()
                .filter(|w| !w.is_empty())
                .map_or_else(
                    || rest.trim_start().chars().next().unwrap_or(')').to_string(),
                    |w| {
                        // SQL Server reports the token after a function name: its '('.
                        if rest.trim_start()[w.len()..].trim_start().starts_with('(') {
                            "(".to_owned()
                        } else {
                            w.to_owned()
                        }
                    },
                );
            return Statement::SyntaxError { number: 102, near };
        };
        parts.push(match (c.get(1), c.get(2)) {
            (Some(i), _) => ExecPart::Literal(masked.literal(i.as_str()).unwrap_or_default()),
            (None, Some(v)) => ExecPart::Variable(v.as_str().to_owned()),
            (None, None) => unreachable!("the pattern has one of the two groups"),
        });
        let end = c.get(0).map_or(rest.len(), |m| m.end());
        let last = c.get(3).is_none_or(|m| m.as_str().is_empty());
        rest = &rest[end..];
        if last {
            return if rest.trim().is_empty() && !parts.is_empty() {
                Statement::Exec(parts)
            } else {
                Statement::SyntaxError {
                    number: 102,
                    near: ")".into(),
                }
            };
        }
    }
}

/// The functions that exist only from a database compatibility level on: `(name, level)`
/// of the first one `statement` uses, so the session can answer as SQL Server does below
/// it ("Invalid object name", Msg 208).
pub fn requires_level(statement: &str) -> Option<(&'static str, u16)> {
    static OPENJSON: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bOPENJSON\s*\("));
    static STRING_SPLIT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bSTRING_SPLIT\s*\("));
    let masked = Masked::new(statement);
    if OPENJSON.is_match(&masked.text) {
        return Some(("OPENJSON", 130));
    }
    if STRING_SPLIT.is_match(&masked.text) {
        return Some(("STRING_SPLIT", 130));
    }
    None
}

/// The expression rewrites, on masked text.
fn rewrite(masked: &Masked) -> String {
    rewrite_text(&masked.text, masked)
}

/// The expression rewrites on a piece of masked text.
fn rewrite_text(text: &str, masked: &Masked) -> String {
    static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        vec![
            (re(r"(?i)\bN'\x01"), "'\u{1}"),
            // `+` next to a string literal concatenates (SQLite's `+` only adds numbers).
            (re(r"('\x01\d+\x01')\s*\+"), "$1 ||"),
            (re(r"\+\s*('\x01\d+\x01')"), "|| $1"),
            (re(r"(?i)@@VERSION\b"), "k2sim_version()"),
            // Binary literals (SQLite reads 0x41 as the integer 65).
            (re(r"\b0[xX]((?:[0-9A-Fa-f]{2})*)\b"), "X'$1'"),
            (re(r"(?i)@@SERVERNAME\b"), "k2sim_servername()"),
            // CONVERT(type[(n|MAX)], expr[, style]) -> k2sim_convert('type', 'n', expr[, style]).
            (
                re(r"(?i)\bCONVERT\s*\(\s*(\w+)\s*(?:\(\s*(\d+|MAX)\s*\))?\s*,"),
                "k2sim_convert('$1', '$2',",
            ),
            (
                re(r"(?i)\bCAST\s*\(\s*NULL\s+AS\s+\w+\s*(?:\(\s*(?:\d+|MAX)\s*\))?\s*\)"),
                "NULL",
            ),
            (
                re(
                    r"(?i)\bWITH\s*\(\s*(UPDLOCK|HOLDLOCK|ROWLOCK|NOLOCK)(\s*,\s*(UPDLOCK|HOLDLOCK|ROWLOCK|NOLOCK))*\s*\)",
                ),
                "",
            ),
            (re(r"(?i)\bCOLLATE\s+\w+_BIN2?\b"), "COLLATE k2sim_bin2"),
            (re(r"(?i)\bCOLLATE\s+\w+_CI_\w+\b"), "COLLATE k2sim_ci"),
            (re(r"(?i)\bCOLLATE\s+\w+_CS_\w+\b"), "COLLATE k2sim_cs"),
            (re(r"(?i)\bISNULL\s*\("), "IFNULL("),
            (re(r"(?i)\bLEN\s*\("), "length("),
            (re(r"(?i)(^|[^\w.\]])(\[dbo\]|dbo)\."), "${1}main."),
        ]
    });
    let mut text = values_constructors(&openjson(text, masked));
    for (pattern, replacement) in RULES.iter() {
        text = pattern.replace_all(&text, *replacement).into_owned();
    }
    text
}

/// The index of the `)` that closes the `(` just before `from` in `text`.
fn closing_paren(text: &str, from: usize) -> Option<usize> {
    let mut depth = 1;
    for (i, ch) in text[from..].char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(from + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `(VALUES (...), ...) AS v(a, b)` → `(SELECT column1 AS a, column2 AS b FROM (VALUES (...), ...)) AS v`:
/// SQLite has table-value constructors but no column list after the alias.
fn values_constructors(text: &str) -> String {
    static START: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\(\s*VALUES\b"));
    static ALIAS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^\s*AS\s+(\w+)\s*\(([^()]*)\)"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(m) = START.find(rest) {
        let Some(end) = closing_paren(rest, m.start() + 1) else {
            break;
        };
        let Some(alias) = ALIAS.captures(&rest[end + 1..]) else {
            out.push_str(&rest[..=end]);
            rest = &rest[end + 1..];
            continue;
        };
        let columns: Vec<String> = alias[2]
            .split(',')
            .enumerate()
            .map(|(i, name)| format!("column{} AS {}", i + 1, name.trim()))
            .collect();
        out.push_str(&rest[..m.start()]);
        let _ = write!(
            out,
            "(SELECT {} FROM {}) AS {}",
            columns.join(", "),
            &rest[m.start()..=end],
            &alias[1]
        );
        rest = &rest[end + 1 + alias.get(0).map_or(0, |a| a.end())..];
    }
    out.push_str(rest);
    out
}

/// `OPENJSON(@p) WITH (name TYPE '$.path', ...)` → `(SELECT json_extract(value, '$.path') AS name, ... FROM json_each(@p))`.
fn openjson(text: &str, masked: &Masked) -> String {
    static START: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\bOPENJSON\s*\(\s*(@\w+)\s*\)\s*WITH\s*\("));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = START.captures(rest) {
        let (Some(whole), param) = (c.get(0), c[1].to_owned()) else {
            break;
        };
        let body_start = whole.end();
        let mut depth = 1;
        let mut end = None;
        for (i, ch) in rest[body_start..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(body_start + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let mut columns = Vec::new();
        let mut depth = 0;
        let mut from = body_start;
        for (i, ch) in rest[body_start..end].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    columns.push(&rest[from..body_start + i]);
                    from = body_start + i + 1;
                }
                _ => {}
            }
        }
        columns.push(&rest[from..end]);
        let selected: Vec<String> = columns
            .iter()
            .filter_map(|def| {
                let name = def.split_whitespace().next()?;
                let path = LITERAL
                    .captures(def)
                    .and_then(|c| masked.literal(&c[1]))
                    .unwrap_or_else(|| format!("$.{}", name.trim_matches(['[', ']'])));
                // The path goes back in as a new literal: literals are restored after rewriting.
                let extract = format!("json_extract(value, '{}')", path.replace('\'', "''"));
                let binary = def
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|t| t.to_ascii_uppercase().starts_with("VARBINARY"));
                Some(if binary {
                    format!("k2sim_base64({extract}) AS {name}")
                } else {
                    format!("{extract} AS {name}")
                })
            })
            .collect();
        out.push_str(&rest[..whole.start()]);
        let _ = write!(
            out,
            "(SELECT {} FROM json_each({param}))",
            selected.join(", ")
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> String {
        match translate(s) {
            Statement::Sql(s) => s,
            other => panic!("not SQL: {other:?}"),
        }
    }

    #[test]
    fn batches_split_outside_quotes_and_comments() {
        assert_eq!(
            split("SELECT 'a;b'; SELECT [x;y] -- c;d\n; /* e;f */ SELECT 2;"),
            [
                "SELECT 'a;b'",
                " SELECT [x;y] -- c;d\n",
                " /* e;f */ SELECT 2"
            ]
        );
    }

    #[test]
    fn control_statements() {
        assert_eq!(translate("SET XACT_ABORT ON"), Statement::XactAbort(true));
        assert_eq!(translate(" set nocount on "), Statement::NoOp);
        assert_eq!(translate("BEGIN TRANSACTION"), Statement::Begin);
        assert_eq!(translate("commit tran"), Statement::Commit);
        assert_eq!(
            translate("OPEN MASTER KEY DECRYPTION BY PASSWORD = N'it''s'"),
            Statement::OpenMasterKey("it's".into())
        );
        assert!(matches!(
            translate(
                "EXEC (N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N'''')"
            ),
            Statement::SyntaxError { number: 102, .. }
        ));
        assert_eq!(
            translate("EXEC (N'SELECT ' + @v)"),
            Statement::Exec(vec![
                ExecPart::Literal("SELECT ".into()),
                ExecPart::Variable("@v".into())
            ])
        );
        assert_eq!(
            translate("DECLARE @v NVARCHAR(MAX) = N'a' + REPLACE(@P1, N'x', N'y')"),
            Statement::Declare {
                name: "@v".into(),
                value: Some("'a' || REPLACE(@P1, 'x', 'y')".into())
            }
        );
        assert_eq!(
            translate("OPEN SYMMETRIC KEY [SCSSOKey] DECRYPTION BY CERTIFICATE SCHostServerCert"),
            Statement::OpenSymmetricKey {
                key: "SCSSOKey".into(),
                certificate: "SCHostServerCert".into()
            }
        );
        assert_eq!(
            translate("CLOSE ALL SYMMETRIC KEYS"),
            Statement::CloseAllSymmetricKeys
        );
    }

    #[test]
    fn expressions_are_rewritten_but_literals_are_not() {
        assert_eq!(
            sql("SELECT N'CONVERT(NVARCHAR(MAX), x)', @@VERSION"),
            "SELECT 'CONVERT(NVARCHAR(MAX), x)', k2sim_version()"
        );
        assert_eq!(
            sql(
                "SELECT CONVERT(NVARCHAR(MAX), c.VariableValue) FROM [HostServer].[Configuration] AS c WITH (UPDLOCK, HOLDLOCK)"
            ),
            "SELECT k2sim_convert('NVARCHAR', 'MAX', c.VariableValue) FROM [HostServer].[Configuration] AS c "
        );
        assert_eq!(
            sql("SELECT * FROM dbo.T JOIN [dbo].[U] ON 1 = 1"),
            "SELECT * FROM main.T JOIN main.[U] ON 1 = 1"
        );
    }

    #[test]
    fn values_constructors_get_their_column_names() {
        assert_eq!(
            sql("SELECT v.a FROM (VALUES (@P1, @P2), (@P3, @P4)) AS v(a, b) WHERE v.b = 0x0A"),
            "SELECT v.a FROM (SELECT column1 AS a, column2 AS b FROM (VALUES (@P1, @P2), (@P3, @P4))) AS v WHERE v.b = X'0A'"
        );
    }

    #[test]
    fn openjson_becomes_json_each() {
        assert_eq!(
            sql(
                "SELECT j.token FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token', old NVARCHAR(MAX) '$.old') AS j"
            ),
            "SELECT j.token FROM (SELECT json_extract(value, '$.token') AS token, json_extract(value, '$.old') AS old FROM json_each(@P1)) AS j"
        );
        assert_eq!(
            sql("SELECT j.v FROM OPENJSON(@P1) WITH (v VARBINARY(MAX) '$.value') AS j"),
            "SELECT j.v FROM (SELECT k2sim_base64(json_extract(value, '$.value')) AS v FROM json_each(@P1)) AS j"
        );
    }
}
