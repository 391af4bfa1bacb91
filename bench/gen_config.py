#!/usr/bin/env python3
"""Writes a K2-shaped K2HostServer.exe.config with N connection-string entries.

Usage: gen_config.py N OUT

The file looks like a large real one: UTF-8 with BOM, CRLF, the usual K2 entries, then N EWS
connection entries (OAuth and basic mixed) and the commented template at the bottom.
"""
import sys

def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<configuration>",
        "  <appSettings>",
        '    <add key="port" value="5555" />',
        "  </appSettings>",
        "  <!-- Host Server DB Connection Settings -->",
        "  <connectionStrings>",
        '    <add name="HostserverDB" connectionString="Data Source=SQL01;Initial Catalog=K2;Integrated Security=True;Pooling=True" />',
    ]
    for i in range(n):
        mailbox = f"user{i:05d}@denallix.com"
        if i % 2:
            value = f"Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID={mailbox}"
        else:
            value = f"Autodiscover=False;URL=https://mail.denallix.com/EWS/Exchange.asmx;User ID=DENALLIX\\svc{i:05d};Password=Pw{i:05d}!;Poll Interval=1M"
        lines.append(f'    <add name="SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:{mailbox}" connectionString="{value}" />')
    lines += [
        "  </connectionStrings>",
        "  <!--",
        "  **** USE THE SETTINGS BELOW TO REPLACE ENCRYPTED SECTION.",
        "  <connectionStrings>",
        '    <add name="HostserverDB" connectionString="Data Source=SERVERNAME;Initial Catalog=K2HostServer;integrated security=sspi;Pooling=True" />',
        "  </connectionStrings>",
        "  -->",
        "</configuration>",
        "",
    ]
    with open(out, "wb") as f:
        f.write(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())

if __name__ == "__main__":
    main()
