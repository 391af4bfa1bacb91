//! Server-to-client tokens (MS-TDS 2.2.7), written into one response message.
//!
//! Only what the simulator answers with: LOGINACK, ENVCHANGE, INFO/ERROR, COLMETADATA,
//! ROW/NBCROW, DONE/DONEPROC/DONEINPROC and RETURNSTATUS.

use crate::engine::{Column, ColumnType, Value};
use crate::wire::Writer;

/// The server name in INFO/ERROR tokens and `@@SERVERNAME`.
pub const SERVER_NAME: &str = "K2CSE-MSSQL-SIM";
/// TDS 7.4, as LOGINACK spells it (big-endian on the wire).
pub const TDS_74: u32 = 0x7400_0004;
/// `SQL_Latin1_General_CP1_CI_AS`: LCID 0x0409 with the case/accent-insensitive flags, sort id 52.
pub const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// DONE status bits.
pub mod done {
    /// More results follow in this response.
    pub const MORE: u16 = 0x0001;
    /// The statement failed.
    pub const ERROR: u16 = 0x0002;
    /// A transaction is open.
    pub const IN_XACT: u16 = 0x0004;
    /// The row count is valid.
    pub const COUNT: u16 = 0x0010;
    /// Acknowledges an ATTENTION.
    pub const ATTN: u16 = 0x0020;
}

/// ENVCHANGE types used here.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub enum EnvChange {
    /// Current database.
    Database = 1,
    /// Language.
    Language = 2,
    /// Packet size.
    PacketSize = 4,
    /// Collation.
    Collation = 7,
    /// Transaction began (new descriptor).
    Begin = 8,
    /// Transaction committed (old descriptor).
    Commit = 9,
    /// Transaction rolled back (old descriptor).
    Rollback = 10,
}

/// Token types.
mod token {
    pub const LOGINACK: u8 = 0xAD;
    pub const ENVCHANGE: u8 = 0xE3;
    pub const INFO: u8 = 0xAB;
    pub const ERROR: u8 = 0xAA;
    pub const COLMETADATA: u8 = 0x81;
    pub const ROW: u8 = 0xD1;
    pub const NBCROW: u8 = 0xD2;
    pub const RETURNSTATUS: u8 = 0x79;
    pub const DONE: u8 = 0xFD;
    pub const DONEPROC: u8 = 0xFE;
    pub const DONEINPROC: u8 = 0xFF;
}

/// A server message (INFO or ERROR token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    /// SQL Server's error number (18456, 15313, ...).
    pub number: i32,
    /// State.
    pub state: u8,
    /// Severity ("class"): 0–10 informational, 11+ errors.
    pub class: u8,
    /// Text.
    pub text: String,
}

impl ServerMessage {
    /// An error of severity 16 (a statement the user can fix), state 1.
    pub fn error(number: i32, text: impl Into<String>) -> Self {
        Self {
            number,
            state: 1,
            class: 16,
            text: text.into(),
        }
    }
}

/// One response message under construction.
#[derive(Debug, Default)]
pub struct Response {
    w: Writer,
}

impl Response {
    /// The bytes to send.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.buf
    }

    /// LOGINACK for a SQL Server 2019 (15.0.2000) that speaks TDS 7.4.
    pub fn login_ack(&mut self) -> &mut Self {
        let mut body = Writer::default();
        body.u8(1)
            .bytes(&TDS_74.to_be_bytes())
            .b_varchar("Microsoft SQL Server")
            .bytes(&[15, 0, 0x07, 0xD0]);
        self.with_length(token::LOGINACK, &body.buf)
    }

    /// ENVCHANGE with text values (database, language, packet size).
    pub fn env_text(&mut self, kind: EnvChange, new: &str, old: &str) -> &mut Self {
        let mut body = Writer::default();
        body.u8(kind as u8).b_varchar(new).b_varchar(old);
        self.with_length(token::ENVCHANGE, &body.buf)
    }

    /// ENVCHANGE with binary values (collation, transaction descriptors).
    pub fn env_bytes(&mut self, kind: EnvChange, new: &[u8], old: &[u8]) -> &mut Self {
        let mut body = Writer::default();
        body.u8(kind as u8);
        for value in [new, old] {
            body.u8(u8::try_from(value.len()).unwrap_or(u8::MAX))
                .bytes(value);
        }
        self.with_length(token::ENVCHANGE, &body.buf)
    }

    /// INFO token.
    pub fn info(&mut self, message: &ServerMessage) -> &mut Self {
        self.message(token::INFO, message)
    }

    /// ERROR token.
    pub fn error(&mut self, message: &ServerMessage) -> &mut Self {
        self.message(token::ERROR, message)
    }

    fn message(&mut self, kind: u8, m: &ServerMessage) -> &mut Self {
        let mut body = Writer::default();
        body.i32(m.number)
            .u8(m.state)
            .u8(m.class)
            .us_varchar(&m.text)
            .b_varchar(SERVER_NAME)
            .b_varchar("")
            .u32(1);
        self.with_length(kind, &body.buf)
    }

    /// COLMETADATA for a result set.
    pub fn columns(&mut self, columns: &[Column]) -> &mut Self {
        self.w
            .u8(token::COLMETADATA)
            .u16(u16::try_from(columns.len()).unwrap_or(u16::MAX));
        for column in columns {
            // User type 0; flags: nullable.
            self.w.u32(0).u16(0x0001);
            match column.kind {
                ColumnType::Int => self.w.u8(0x26).u8(4),
                ColumnType::BigInt => self.w.u8(0x26).u8(8),
                ColumnType::Bit => self.w.u8(0x68).u8(1),
                ColumnType::NVarCharMax => self.w.u8(0xE7).u16(0xFFFF).bytes(&COLLATION),
                ColumnType::VarBinaryMax => self.w.u8(0xA5).u16(0xFFFF),
            };
            self.w.b_varchar(&column.name);
        }
        self
    }

    /// One row: NBCROW when it holds a NULL (as SQL Server does), ROW otherwise.
    pub fn row(&mut self, columns: &[Column], values: &[Value]) -> &mut Self {
        let has_null = values.iter().any(|v| matches!(v, Value::Null));
        if has_null {
            self.w.u8(token::NBCROW);
            let mut bitmap = vec![0u8; columns.len().div_ceil(8)];
            for (i, v) in values.iter().enumerate() {
                if matches!(v, Value::Null) {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            self.w.bytes(&bitmap);
        } else {
            self.w.u8(token::ROW);
        }
        for (column, value) in columns.iter().zip(values) {
            if has_null && matches!(value, Value::Null) {
                continue;
            }
            self.value(column.kind, value);
        }
        self
    }

    fn value(&mut self, kind: ColumnType, value: &Value) {
        match (kind, value) {
            (ColumnType::Int | ColumnType::BigInt | ColumnType::Bit, Value::Null) => {
                self.w.u8(0);
            }
            (ColumnType::NVarCharMax | ColumnType::VarBinaryMax, Value::Null) => {
                self.w.u64(u64::MAX);
            }
            (ColumnType::Int, v) => {
                let n = i32::try_from(v.as_i64()).unwrap_or(i32::MAX);
                self.w.u8(4).i32(n);
            }
            (ColumnType::BigInt, v) => {
                self.w.u8(8).u64(v.as_i64().cast_unsigned());
            }
            (ColumnType::Bit, v) => {
                self.w.u8(1).u8(u8::from(v.as_i64() != 0));
            }
            (ColumnType::NVarCharMax, v) => {
                let mut text = Writer::default();
                text.utf16(&v.to_text());
                self.plp(&text.buf);
            }
            (ColumnType::VarBinaryMax, v) => self.plp(&v.to_bytes()),
        }
    }

    /// A partially length-prefixed value: total length, chunks, a zero terminator.
    fn plp(&mut self, data: &[u8]) {
        self.w.u64(data.len() as u64);
        for chunk in data.chunks(8000) {
            self.w
                .u32(u32::try_from(chunk.len()).unwrap_or(0))
                .bytes(chunk);
        }
        self.w.u32(0);
    }

    /// RETURNSTATUS.
    pub fn return_status(&mut self, status: i32) -> &mut Self {
        self.w.u8(token::RETURNSTATUS).i32(status);
        self
    }

    /// DONE (end of a batch statement).
    pub fn done(&mut self, status: u16, rows: u64) -> &mut Self {
        self.done_token(token::DONE, status, rows)
    }

    /// DONEINPROC (a statement inside `sp_executesql`).
    pub fn done_in_proc(&mut self, status: u16, rows: u64) -> &mut Self {
        self.done_token(token::DONEINPROC, status, rows)
    }

    /// DONEPROC (end of the procedure call).
    pub fn done_proc(&mut self, status: u16, rows: u64) -> &mut Self {
        self.done_token(token::DONEPROC, status, rows)
    }

    fn done_token(&mut self, kind: u8, status: u16, rows: u64) -> &mut Self {
        // CurCmd 0xC1 is SELECT; clients do not interpret it.
        self.w.u8(kind).u16(status).u16(0xC1).u64(rows);
        self
    }

    fn with_length(&mut self, kind: u8, body: &[u8]) -> &mut Self {
        self.w
            .u8(kind)
            .u16(u16::try_from(body.len()).unwrap_or(u16::MAX))
            .bytes(body);
        self
    }
}
