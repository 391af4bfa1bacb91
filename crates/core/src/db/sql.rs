//! Every statement k2cse sends to SQL Server, in one place so that it can be reviewed (and
//! so the simulator's translation layer has a known, finite input).
//!
//! All values travel as `sp_executesql` parameters (`@P1`, ...); batches of values travel as
//! one JSON document read with `OPENJSON` (SQL Server 2016+), so a write of N tokens is the
//! same number of round trips as a write of one. Reads that precede a write take update locks
//! (`UPDLOCK, HOLDLOCK`) inside the transaction, so nothing can change between the check and
//! the write. Comparisons use a binary collation: a case-only change is a change.
//!
//! The shape of `[HostServer].[Configuration]` is an assumption (docs/database.md): text
//! values stored as `varbinary` holding `nvarchar` bytes, encrypted ones as `EncryptByKey`
//! output under `SCSSOKey`, flagged by `Encrypted = 1`.

/// Session setup, sent as a batch: `SET` options inside `sp_executesql` would end with it.
pub const SESSION_SETUP: &str = "SET XACT_ABORT ON; SET NOCOUNT OFF";

/// What `db status` and every connection start with.
pub const PROBE: &str = "SELECT DB_NAME() AS database_name, @@VERSION AS version, \
(SELECT COUNT(*) FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE s.name = N'HostServer' AND t.name = N'Configuration') AS has_table, \
(SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') AS has_master_key, \
(SELECT COUNT(*) FROM sys.certificates WHERE name = N'SCHostServerCert') AS has_certificate, \
(SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'SCSSOKey') AS has_symmetric_key";

/// Opens the database master key with the password in `@P1`. `OPEN MASTER KEY` takes no
/// variables, so the password is quoted into dynamic SQL (quotes doubled by `REPLACE`).
pub const OPEN_MASTER_KEY: &str =
    "EXEC (N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N'''')";

/// Opens K2's symmetric key; the key stays open for the session.
pub const OPEN_SYMMETRIC_KEY: &str =
    "OPEN SYMMETRIC KEY SCSSOKey DECRYPTION BY CERTIFICATE SCHostServerCert";

/// Every token with its value decrypted (NULL when it cannot be), and whether the stored
/// value itself is NULL (to tell "empty" from "cannot decrypt").
pub const READ_ALL: &str = "SELECT c.VariableToken AS token, c.Encrypted AS encrypted, \
CASE WHEN c.Encrypted = 1 THEN CONVERT(NVARCHAR(MAX), DecryptByKey(c.VariableValue)) ELSE CONVERT(NVARCHAR(MAX), c.VariableValue) END AS value, \
CASE WHEN c.VariableValue IS NULL THEN 1 ELSE 0 END AS stored_null \
FROM [HostServer].[Configuration] AS c ORDER BY c.VariableToken";

/// The tokens named in the JSON array `@P1` (`[{"token": ...}]`), locked until the
/// transaction ends.
pub const READ_LOCKED: &str = "SELECT c.VariableToken AS token, c.Encrypted AS encrypted, \
CASE WHEN c.Encrypted = 1 THEN CONVERT(NVARCHAR(MAX), DecryptByKey(c.VariableValue)) ELSE CONVERT(NVARCHAR(MAX), c.VariableValue) END AS value, \
CASE WHEN c.VariableValue IS NULL THEN 1 ELSE 0 END AS stored_null \
FROM [HostServer].[Configuration] AS c WITH (UPDLOCK, HOLDLOCK) \
WHERE c.VariableToken IN (SELECT j.token FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token') AS j)";

/// Writes `new` into every token of `@P1` (`[{"token","old","new"}]`) whose current value
/// is still `old`, encrypting where the row is encrypted. The row count tells whether all
/// rows matched.
pub const UPDATE: &str = "UPDATE [HostServer].[Configuration] \
SET VariableValue = CASE WHEN Encrypted = 1 THEN EncryptByKey(Key_GUID(N'SCSSOKey'), j.new_value) ELSE CONVERT(VARBINARY(MAX), j.new_value) END \
FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token', old_value NVARCHAR(MAX) '$.old', new_value NVARCHAR(MAX) '$.new') AS j \
WHERE VariableToken = j.token \
AND ((CASE WHEN Encrypted = 1 THEN CONVERT(NVARCHAR(MAX), DecryptByKey(VariableValue)) ELSE CONVERT(NVARCHAR(MAX), VariableValue) END) COLLATE Latin1_General_BIN2 = j.old_value \
OR ((CASE WHEN Encrypted = 1 THEN CONVERT(NVARCHAR(MAX), DecryptByKey(VariableValue)) ELSE CONVERT(NVARCHAR(MAX), VariableValue) END) IS NULL AND j.old_value IS NULL))";

/// Adds the tokens of `@P1` (`[{"token","new"}]`) that do not exist yet, encrypted when
/// `@P2` is 1.
pub const INSERT: &str = "INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) \
SELECT j.token, CASE WHEN @P2 = 1 THEN EncryptByKey(Key_GUID(N'SCSSOKey'), j.new_value) ELSE CONVERT(VARBINARY(MAX), j.new_value) END, @P2 \
FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token', new_value NVARCHAR(MAX) '$.new') AS j \
WHERE NOT EXISTS (SELECT 1 FROM [HostServer].[Configuration] AS c WHERE c.VariableToken = j.token)";

/// Every row exactly as stored, for a backup: `VariableValue` as bytes (ciphertext for
/// encrypted rows), nothing decrypted.
pub const READ_RAW: &str = "SELECT c.VariableToken AS token, c.VariableValue AS value, c.Encrypted AS encrypted \
FROM [HostServer].[Configuration] AS c ORDER BY c.VariableToken";

/// [`READ_RAW`] inside a restore's transaction: every row, and the key range, locked until it
/// ends, so nothing can be added or changed between the check and the write.
pub const READ_RAW_LOCKED: &str = "SELECT c.VariableToken AS token, c.VariableValue AS value, c.Encrypted AS encrypted \
FROM [HostServer].[Configuration] AS c WITH (UPDLOCK, HOLDLOCK) ORDER BY c.VariableToken";

/// Restore, step 1: removes the rows whose token is not in `@P1`
/// (`[{"token","value","encrypted"}]`, values base64 as `OPENJSON` reads `VARBINARY`).
pub const RESTORE_DELETE: &str = "DELETE FROM [HostServer].[Configuration] \
WHERE VariableToken NOT IN (SELECT j.token FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token') AS j)";

/// Restore, step 2: gives every existing row of `@P1` its stored bytes and flag (and the
/// token's exact spelling), without decrypting or encrypting anything.
pub const RESTORE_UPDATE: &str = "UPDATE [HostServer].[Configuration] \
SET VariableToken = j.token, VariableValue = j.value, Encrypted = j.encrypted \
FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token', value VARBINARY(MAX) '$.value', encrypted BIT '$.encrypted') AS j \
WHERE VariableToken = j.token";

/// Restore, step 3: adds the rows of `@P1` that do not exist.
pub const RESTORE_INSERT: &str = "INSERT INTO [HostServer].[Configuration] (VariableToken, VariableValue, Encrypted) \
SELECT j.token, j.value, j.encrypted \
FROM OPENJSON(@P1) WITH (token NVARCHAR(256) '$.token', value VARBINARY(MAX) '$.value', encrypted BIT '$.encrypted') AS j \
WHERE NOT EXISTS (SELECT 1 FROM [HostServer].[Configuration] AS c WHERE c.VariableToken = j.token)";
