//! Client requests after login: `SQLBatch`, RPC (`sp_executesql`) and Transaction Manager.

use crate::engine::Value;
use crate::wire::{Malformed, Reader, utf16};

/// `sp_executesql`'s well-known procedure id.
pub const SP_EXECUTESQL: u16 = 10;

/// A named parameter of an `sp_executesql` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name with its `@`, as the client sent it (may be empty: positional).
    pub name: String,
    /// Value.
    pub value: Value,
}

/// A request the session executes.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// T-SQL text.
    Batch(String),
    /// `sp_executesql @stmt, @params, @P1...`.
    ExecuteSql {
        /// Statement text.
        sql: String,
        /// Values (after the declarations string).
        params: Vec<Param>,
    },
    /// A procedure this server does not have (by id or name).
    UnknownProcedure(String),
    /// `TM_BEGIN_XACT`.
    Begin,
    /// `TM_COMMIT_XACT`.
    Commit,
    /// `TM_ROLLBACK_XACT`.
    Rollback,
    /// A Transaction Manager request this server does not implement.
    UnknownTransactionRequest(u16),
}

/// Skips `ALL_HEADERS` (MS-TDS 2.2.5.3): a total length that includes itself.
fn skip_all_headers(r: &mut Reader<'_>) -> Result<(), Malformed> {
    let start = r.pos();
    let total = r.u32()? as usize;
    if total < 4 {
        return Err(Malformed(format!("ALL_HEADERS length {total}")));
    }
    r.seek(start + total)
}

/// `SQLBatch`: headers, then the UTF-16LE text.
pub fn parse_batch(data: &[u8]) -> Result<Request, Malformed> {
    let mut r = Reader::new(data);
    skip_all_headers(&mut r)?;
    let rest = r.bytes(r.remaining())?;
    Ok(Request::Batch(utf16(rest)?))
}

/// Transaction Manager request.
pub fn parse_transaction(data: &[u8]) -> Result<Request, Malformed> {
    let mut r = Reader::new(data);
    skip_all_headers(&mut r)?;
    Ok(match r.u16()? {
        5 => Request::Begin,
        7 => Request::Commit,
        8 => Request::Rollback,
        other => Request::UnknownTransactionRequest(other),
    })
}

/// RPC request: one procedure call (batched calls are not used by k2cse or the test clients).
pub fn parse_rpc(data: &[u8]) -> Result<Request, Malformed> {
    let mut r = Reader::new(data);
    skip_all_headers(&mut r)?;
    let name_len = r.u16()?;
    let proc_name = if name_len == 0xFFFF {
        let id = r.u16()?;
        if id != SP_EXECUTESQL {
            return Ok(Request::UnknownProcedure(format!("procedure id {id}")));
        }
        None
    } else {
        Some(r.utf16(usize::from(name_len))?)
    };
    if let Some(name) = &proc_name
        && !name.eq_ignore_ascii_case("sp_executesql")
        && !name.eq_ignore_ascii_case("sys.sp_executesql")
    {
        return Ok(Request::UnknownProcedure(name.clone()));
    }
    let _options = r.u16()?;
    let mut params = Vec::new();
    while r.remaining() > 0 {
        let name = r.b_varchar()?;
        let _status = r.u8()?;
        let value = read_typed_value(&mut r)?;
        params.push(Param { name, value });
    }
    let mut params = params.into_iter();
    let Some(Value::Text(sql)) = params.next().map(|p| p.value) else {
        return Err(Malformed("sp_executesql without a statement".into()));
    };
    // The declarations string (`@P1 nvarchar(4000),...`) is implied by the values' types.
    let _declarations = params.next();
    Ok(Request::ExecuteSql {
        sql,
        params: params.collect(),
    })
}

/// `TYPE_INFO` followed by the value (MS-TDS 2.2.5.4–2.2.5.5), for the types clients send for
/// text, integers, booleans and binary data.
fn read_typed_value(r: &mut Reader<'_>) -> Result<Value, Malformed> {
    let type_id = r.u8()?;
    match type_id {
        // NULLTYPE.
        0x1F => Ok(Value::Null),
        // INT1/INT2/INT4/INT8 (fixed length).
        0x30 => Ok(Value::Int(i64::from(r.u8()?))),
        0x34 => Ok(Value::Int(i64::from(r.u16()?.cast_signed()))),
        0x38 => Ok(Value::Int(i64::from(r.u32()?.cast_signed()))),
        0x7F => Ok(Value::Int(r.u64()?.cast_signed())),
        0x32 => Ok(Value::Int(i64::from(r.u8()? != 0))),
        // INTN / BITN.
        0x26 | 0x68 => {
            let _max = r.u8()?;
            let len = r.u8()?;
            let bytes = r.bytes(usize::from(len))?;
            Ok(match (type_id, len) {
                (_, 0) => Value::Null,
                (0x68, _) => Value::Int(i64::from(bytes[0] != 0)),
                (_, 1) => Value::Int(i64::from(bytes[0])),
                (_, 2) => Value::Int(i64::from(i16::from_le_bytes([bytes[0], bytes[1]]))),
                (_, 4) => Value::Int(i64::from(i32::from_le_bytes([
                    bytes[0], bytes[1], bytes[2], bytes[3],
                ]))),
                (_, 8) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(bytes);
                    Value::Int(i64::from_le_bytes(a))
                }
                _ => return Err(Malformed(format!("integer of {len} bytes"))),
            })
        }
        // NVARCHAR / NCHAR.
        0xE7 | 0xEF => {
            let max = r.u16()?;
            r.bytes(5)?; // collation
            match read_var(r, max)? {
                Some(bytes) => Ok(Value::Text(utf16(&bytes)?)),
                None => Ok(Value::Null),
            }
        }
        // VARCHAR / CHAR: single-byte text; Latin-1 is close enough for the ASCII clients send.
        0xA7 | 0xAF => {
            let max = r.u16()?;
            r.bytes(5)?;
            match read_var(r, max)? {
                Some(bytes) => Ok(Value::Text(bytes.iter().map(|&b| char::from(b)).collect())),
                None => Ok(Value::Null),
            }
        }
        // VARBINARY / BINARY.
        0xA5 | 0xAD => {
            let max = r.u16()?;
            match read_var(r, max)? {
                Some(bytes) => Ok(Value::Bytes(bytes)),
                None => Ok(Value::Null),
            }
        }
        other => Err(Malformed(format!(
            "parameter type {other:#04x} is not supported by the simulator"
        ))),
    }
}

/// A USHORTLEN value (0xFFFF = NULL), or a PLP value when the declared maximum is 0xFFFF (MAX).
fn read_var(r: &mut Reader<'_>, max: u16) -> Result<Option<Vec<u8>>, Malformed> {
    if max != 0xFFFF {
        let len = r.u16()?;
        return (len != 0xFFFF)
            .then(|| r.bytes(usize::from(len)).map(<[u8]>::to_vec))
            .transpose();
    }
    let total = r.u64()?;
    if total == u64::MAX {
        return Ok(None);
    }
    let mut out = Vec::new();
    loop {
        let chunk = r.u32()? as usize;
        if chunk == 0 {
            return Ok(Some(out));
        }
        out.extend_from_slice(r.bytes(chunk)?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Writer;

    fn headers(w: &mut Writer) {
        // Total 22: one transaction-descriptor header of 18 bytes.
        w.u32(22).u32(18).u16(2).u64(0).u32(1);
    }

    #[test]
    fn rpc_with_text_int_null_and_plp_parameters() {
        let mut w = Writer::default();
        headers(&mut w);
        w.u16(0xFFFF).u16(SP_EXECUTESQL).u16(0);
        let text = |w: &mut Writer, name: &str, s: &str| {
            let mut v = Writer::default();
            v.utf16(s);
            w.b_varchar(name)
                .u8(0)
                .u8(0xE7)
                .u16(8000)
                .bytes(&[0; 5])
                .u16(u16::try_from(v.len()).unwrap())
                .bytes(&v.buf);
        };
        text(&mut w, "", "SELECT @P1, @P2");
        text(&mut w, "", "@P1 nvarchar(max), @P2 int");
        let mut v = Writer::default();
        v.utf16("héllo");
        w.b_varchar("@P1")
            .u8(0)
            .u8(0xE7)
            .u16(0xFFFF)
            .bytes(&[0; 5])
            .u64(v.len() as u64)
            .u32(4)
            .bytes(&v.buf[..4])
            .u32(u32::try_from(v.len() - 4).unwrap())
            .bytes(&v.buf[4..])
            .u32(0);
        w.b_varchar("@P2").u8(0).u8(0x26).u8(4).u8(4).i32(-7);
        w.b_varchar("@P3").u8(0).u8(0x26).u8(4).u8(0);
        let Request::ExecuteSql { sql, params } = parse_rpc(&w.buf).unwrap() else {
            panic!("not sp_executesql")
        };
        assert_eq!(sql, "SELECT @P1, @P2");
        let values: Vec<_> = params
            .iter()
            .map(|p| (p.name.as_str(), p.value.clone()))
            .collect();
        assert_eq!(
            values,
            [
                ("@P1", Value::Text("héllo".into())),
                ("@P2", Value::Int(-7)),
                ("@P3", Value::Null)
            ]
        );
    }

    #[test]
    fn truncated_requests_are_malformed_not_panics() {
        let mut w = Writer::default();
        headers(&mut w);
        w.u16(0xFFFF)
            .u16(SP_EXECUTESQL)
            .u16(0)
            .b_varchar("")
            .u8(0)
            .u8(0xE7)
            .u16(8000);
        assert!(parse_rpc(&w.buf).is_err());
        assert!(parse_batch(&[1, 0]).is_err());
    }
}
