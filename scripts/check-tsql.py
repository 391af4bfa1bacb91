#!/usr/bin/env python3
"""Parses every statement k2cse can send to SQL Server with two independent T-SQL parsers
(sqlglot and sqlfluff, `tsql` dialect). A CI step, and run by tests/tests/tsql_parsers.rs.

    scripts/check-tsql.py                 # builds and runs the core's sql_catalogue example
    scripts/check-tsql.py --catalogue F   # reads the statements from F (JSON from that example)

Exits 1 when a statement does not parse (outside the allow-list below) or when a parser
accepts the statement k2cse used to send, which SQL Server rejects (a function call inside
EXEC (...)): that would mean the parser is not strict enough to be an oracle. Exits 2 when a
parser is not installed (scripts/setup.sh installs both).
"""
import json
import subprocess
import sys

try:
    import sqlfluff
    import sqlglot
except ImportError as e:  # never pass silently without the oracle
    print(f"check-tsql: {e}; install with `pip install sqlglot sqlfluff` (scripts/setup.sh)", file=sys.stderr)
    sys.exit(2)

# Statement kinds a parser does not know, each checked by hand against Microsoft's grammar.
ALLOW = {
    # sqlglot has no grammar for OPEN SYMMETRIC KEY. sqlfluff parses it, and it matches
    # https://learn.microsoft.com/sql/t-sql/statements/open-symmetric-key-transact-sql :
    # OPEN SYMMETRIC KEY Key_name DECRYPTION BY CERTIFICATE certificate_name
    ("sqlglot", "open symmetric key"),
}

# SQL Server refuses this (Msg 102: only literals and variables inside EXEC (...)).
REJECTED = "EXEC (N'OPEN MASTER KEY DECRYPTION BY PASSWORD = N''' + REPLACE(@P1, N'''', N'''''') + N'''')"


def parse_sqlglot(sql):
    statements = sqlglot.parse(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    # An unknown statement becomes a generic Command: that is not a parse.
    commands = [s for s in statements if isinstance(s, sqlglot.exp.Command)]
    if commands:
        raise ValueError(f"not understood, kept as a command: {commands[0].sql()[:80]}")


def parse_sqlfluff(sql):
    sqlfluff.parse(sql, dialect="tsql")


PARSERS = {"sqlglot": parse_sqlglot, "sqlfluff": parse_sqlfluff}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--catalogue":
        with open(sys.argv[2], encoding="utf-8") as f:
            catalogue = json.load(f)
    else:
        out = subprocess.run(
            ["cargo", "run", "--quiet", "--example", "sql_catalogue"],
            check=True, capture_output=True, text=True,
        ).stdout
        catalogue = json.loads(out)
    failures = 0
    for parser, parse in PARSERS.items():
        try:
            parse(REJECTED)
            print(f"check-tsql: {parser} accepts a function call inside EXEC (...); it cannot judge", file=sys.stderr)
            failures += 1
        except Exception:
            pass
        for item in catalogue:
            if (parser, item["name"]) in ALLOW:
                continue
            try:
                parse(item["sql"])
            except Exception as e:
                failures += 1
                print(f"check-tsql: {parser} rejects {item['name']!r}: {str(e).splitlines()[0][:300]}\n  {item['sql']}", file=sys.stderr)
    print(f"check-tsql: {len(catalogue)} statements, parsers {', '.join(PARSERS)}, allow-listed {len(ALLOW)}: {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
