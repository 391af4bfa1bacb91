# -*- coding: utf-8 -*-
# The documentation of k2cse_connection_string. The module itself is a binary module (the
# program k2cse_connection_string, or k2cse_connection_string.exe on Windows targets, built
# from crates/ansible by scripts/package.sh); ansible-doc reads its documentation from this
# file beside it.
# SPDX-License-Identifier: MIT OR Apache-2.0

DOCUMENTATION = r"""
---
module: k2cse_connection_string
short_description: Edit a connection string of K2HostServer.exe.config, idempotently
description:
  - Sets, replaces or removes one entry of the C(connectionStrings) section of a K2 server's
    C(K2HostServer.exe.config) (or any .NET config file), with k2cse's core - the same parser,
    lint rules, atomic byte-minimal writes and backups as the C(k2cse) command line.
  - A change whose net result equals the file writes nothing and reports C(changed=false), so a
    playbook run twice changes each host once.
  - Lint errors the change would introduce (for example C(TLS=Ssl) on an SMTP entry) fail the
    task unless O(force=true); other findings are returned as warnings.
  - Secret values (passwords, keys, tokens) never appear in the result or the diff; the diff
    shows C(********) followed by the word "changed" where a secret changed.
  - A binary module; Linux targets run C(k2cse_connection_string), Windows targets
    C(k2cse_connection_string.exe) (WinRM, PSRP or SSH).
version_added: "0.1.0"
author:
  - k2cse developers
options:
  path:
    description:
      - The config file. By default, as C(k2cse) finds it - C(K2HostServer.exe.config) or
        C(K2HostServer.config) in the module's working folder, then (Windows) the folder of the
        installed K2 service and C(%ProgramFiles%\K2\Host Server\Bin).
    type: path
  name:
    description:
      - The entry's name, C(Type) or C(Type:Entity), for example
        C(SourceCode.Net.Mail.SmtpConnection).
    type: str
    required: true
  state:
    description:
      - V(present) sets the options given (adding the entry if it is missing); V(absent)
        removes every entry of that name.
    type: str
    choices: [present, absent]
    default: present
  values:
    description:
      - Keys to set, added when the entry lacks them. Numbers and booleans are written as .NET
        writes them (V(True)/V(False)). Key names match as .NET matches them (any case, synonyms).
    type: dict
  unset:
    description:
      - Keys to remove.
    type: list
    elements: str
  connection_string:
    description:
      - The entry's whole connection string, replacing what is there (applied before O(values)
        and O(unset)).
    type: str
  key_file:
    description:
      - An RSA key file (PEM, PKCS#8 or .NET XML) for a section encrypted with
        C(RsaProtectedConfigurationProvider). Windows targets use the machine's key container
        or DPAPI without it.
    type: path
  backup:
    description:
      - Keep a backup of the file before writing it (in C(k2cse-backups) beside the file); its
        path is returned as RV(backup_file).
    type: bool
    default: true
  db_push:
    description:
      - Also write the entry's value into its K2 database token (the vendor tool's
        "update database"), after backing up the rows; in check mode only planned. The
        database is shared by the farm - use it on a task with C(run_once).
      - Passwords come from the task's environment (C(K2CSE_SQL_PASSWORD),
        C(K2CSE_MASTER_KEY_PASSWORD)).
    type: bool
    default: false
  db_connection:
    description:
      - The K2 database for O(db_push), as an ADO.NET connection string; default the config's
        C(HostserverDB) entry.
    type: str
  force:
    description:
      - Write even when the change introduces lint errors.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: [posix, windows]
notes:
  - With C(no_log) the result carries no diff.
"""

EXAMPLES = r"""
- name: EWS to Exchange Online with OAuth instead of a password
  k2cse.k2cse.k2cse_connection_string:
    name: SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:k2service@denallix.com
    values:
      OAuth Resource: EWS
      OAuth Resource Audience: https://outlook.office365.com
    unset: [Password]

- name: SMTP through a relay connector (no SMTP AUTH Basic)
  k2cse.k2cse.k2cse_connection_string:
    name: SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com
    values:
      Host Name: denallix-com.mail.protection.outlook.com
      Port: 25
      Authentication: Anonymous
    unset: [User ID, Password]

- name: Remove a mailbox no longer polled
  k2cse.k2cse.k2cse_connection_string:
    path: 'C:\Program Files\K2\Host Server\Bin\K2HostServer.exe.config'
    name: SourceCode.MessageBus.Ews.ExchangeWebServicesConnection:old@denallix.com
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the file or, with O(db_push), the database was (or, in check mode,
    would be) written.
  type: bool
  returned: always
db_changed:
  description: Whether the database token was (or would be) written.
  type: bool
  returned: with O(db_push)
db_backup_file:
  description: The backup of the database rows taken before writing them.
  type: str
  returned: when O(db_push) wrote with O(backup=true)
path:
  description: The config file used.
  type: str
  returned: success
backup_file:
  description: The backup taken before the write.
  type: str
  returned: when the file was written with O(backup=true)
diff:
  description: V(before) and V(after) of the file with secrets masked (a list when the section
    lives in a C(configSource) file).
  type: dict
  returned: when Ansible asks for diffs (--diff), something changes and no_log is off
warnings:
  description: Lint findings the change introduces (errors too, with O(force=true)).
  type: list
  elements: str
  returned: when there are any
msg:
  description: What happened, or why the task failed.
  type: str
  returned: always
"""
