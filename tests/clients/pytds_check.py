"""Reads and writes the simulator's K2 tokens with python-tds, a TDS client no one here wrote.

Usage: pytds_check.py PORT PASSWORD. Prints one JSON object; the Rust test checks it.
"""
import json
import sys

import pytds

port, password = int(sys.argv[1]), sys.argv[2]
out = {}
with pytds.connect(server="127.0.0.1", port=port, database="K2", user="sa", password=password, autocommit=False) as conn:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT VariableToken, Encrypted, CONVERT(NVARCHAR(MAX), VariableValue) AS v "
            "FROM [HostServer].[Configuration] WHERE VariableToken = %s",
            ("[K2SERVER]",),
        )
        out["k2server"] = [list(r) for r in cur.fetchall()]
        cur.execute("SELECT COUNT(*) FROM [HostServer].[Configuration]")
        out["count"] = cur.fetchone()[0]
        cur.execute(
            "UPDATE [HostServer].[Configuration] SET VariableValue = CONVERT(VARBINARY(MAX), %s) WHERE VariableToken = %s",
            ("rolled back", "[K2SERVER]"),
        )
        out["updated"] = cur.rowcount
        conn.rollback()
        cur.execute("SELECT CONVERT(NVARCHAR(MAX), VariableValue) FROM [HostServer].[Configuration] WHERE VariableToken = %s", ("[K2SERVER]",))
        out["after_rollback"] = cur.fetchone()[0]
        cur.execute("SELECT CONVERT(NVARCHAR(MAX), DecryptByKey(VariableValue)) FROM [HostServer].[Configuration] WHERE VariableToken = %s", ("[ConnectionString:HostserverDB]",))
        out["encrypted_with_key_closed"] = cur.fetchone()[0]
print(json.dumps(out))
