//! The Ansible module with the real engine: `ansible-playbook` (`ansible-core` from `PyPI`) against
//! a farm of three hosts on this machine - `node1` over the local connection, `node2` over SSH
//! to an `sshd` this test starts on 127.0.0.1 (Ansible copies the module there, runs it and
//! reads its JSON), `node3` whose config file is missing. Fails, never skips, without
//! ansible-playbook or sshd (scripts/setup.sh installs both).
// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The sshd and the local connection are the Unix side of Ansible; Windows targets are covered
// by wine_ansible.rs.
#![cfg(unix)]

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k2cse_core::sample::K2_SAMPLE;

const PASSWORD: &str = "Relay-N3w-Secret!";
const ENTRY: &str = "SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com";

/// An `sshd` on a free port of 127.0.0.1, with its own host key and one user key, stopped on drop.
struct Sshd {
    child: Child,
    port: u16,
    user_key: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Self {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .expect("sshd is missing: run scripts/setup.sh (Debian's openssh-server)");
        std::fs::create_dir_all(dir).unwrap();
        for key in ["host_key", "user_key"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key))
                .status()
                .expect("ssh-keygen is missing: run scripts/setup.sh");
            assert!(status.success());
        }
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        // sshd refuses to start without its privilege-separation folder, which Debian creates
        // only when the service starts.
        if !Path::new("/run/sshd").exists() && is_root() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
                 AuthorizedKeysFile {auth}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n\
                 StrictModes no\nSubsystem sftp internal-sftp\n",
                host = dir.join("host_key").display(),
                pid = dir.join("sshd.pid").display(),
                auth = dir.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        let child = Command::new(&sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null())
            // A file, not a pipe: sshd logs every connection and must never block on a full pipe.
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .expect("starting sshd");
        let mut sshd = Self {
            child,
            port,
            user_key: dir.join("user_key"),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = sshd.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default();
                panic!("sshd exited ({status}): {log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "sshd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sshd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    user() == "root"
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Builds the collection tarball from ansible/ with the module program, as scripts/package.sh
/// does, and installs it with `ansible-galaxy` into `root`.
fn install_collection(root: &Path, work: &Path) {
    let module = k2cse_tests::fixtures::binary("k2cse_connection_string");
    let source = work.join("collection");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../ansible"),
        &source,
    );
    std::fs::copy(
        module,
        source.join("plugins/modules/k2cse_connection_string"),
    )
    .unwrap();
    let galaxy = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("ansible-galaxy")
            .args(args)
            .output()
            .expect("ansible-galaxy is missing: run scripts/setup.sh (ansible-core from PyPI)");
        assert!(
            out.status.success(),
            "ansible-galaxy {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dist = work.join("dist");
    galaxy(&[
        "collection".as_ref(),
        "build".as_ref(),
        "--output-path".as_ref(),
        dist.as_os_str(),
        source.as_os_str(),
    ]);
    let tarball = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    galaxy(&[
        "collection".as_ref(),
        "install".as_ref(),
        "-p".as_ref(),
        root.as_os_str(),
        tarball.as_os_str(),
    ]);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The farm: config files, inventory, the collection, the SSH server.
struct Farm {
    dir: tempfile::TempDir,
    _sshd: Sshd,
}

impl Farm {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sshd = Sshd::start(&dir.path().join("ssh"));
        install_collection(&dir.path().join("collections"), dir.path());
        for node in ["node1", "node2"] {
            std::fs::create_dir_all(dir.path().join(node)).unwrap();
            std::fs::write(Self::config_in(dir.path(), node), K2_SAMPLE).unwrap();
        }
        let config = |node: &str| Self::config_in(dir.path(), node).display().to_string();
        let inventory = format!(
            "[farm]\n\
             node1 ansible_connection=local k2_config='{node1}'\n\
             node2 ansible_host=127.0.0.1 ansible_port={port} ansible_user={user} \
             ansible_ssh_private_key_file={key} k2_config='{node2}'\n\
             node3 ansible_connection=local k2_config='{node3}'\n\
             [farm:vars]\n\
             ansible_python_interpreter={python}\n\
             ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n",
            node1 = config("node1"),
            node2 = config("node2"),
            node3 = config("node3"),
            port = sshd.port,
            user = user(),
            key = sshd.user_key.display(),
            python = which("python3"),
        );
        std::fs::write(dir.path().join("inventory.ini"), inventory).unwrap();
        Self { dir, _sshd: sshd }
    }

    fn config_in(dir: &Path, node: &str) -> PathBuf {
        dir.join(node).join("K2HostServer.exe.config")
    }

    fn config(&self, node: &str) -> PathBuf {
        Self::config_in(self.dir.path(), node)
    }

    fn backups(&self, node: &str) -> usize {
        std::fs::read_dir(self.dir.path().join(node).join("k2cse-backups"))
            .map_or(0, Iterator::count)
    }

    /// Writes `playbook` and runs `ansible-playbook` on the farm; returns its output.
    fn play(&self, playbook: &str, extra: &[&str]) -> String {
        let path = self.dir.path().join("play.yml");
        std::fs::write(&path, playbook).unwrap();
        let out = Command::new("ansible-playbook")
            .arg("-i")
            .arg(self.dir.path().join("inventory.ini"))
            .arg(&path)
            .args(extra)
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                self.dir.path().join("collections"),
            )
            .env("ANSIBLE_LOCAL_TEMP", self.dir.path().join("ansible-tmp"))
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env_remove("ANSIBLE_CONFIG")
            .current_dir(self.dir.path())
            .output()
            .expect("ansible-playbook is missing: run scripts/setup.sh (ansible-core from PyPI)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("PLAY RECAP"),
            "ansible-playbook did not run: {text}"
        );
        text
    }
}

fn which(program: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The PLAY RECAP: host -> (counter -> value).
fn recap(output: &str) -> HashMap<String, HashMap<String, u32>> {
    let tail = &output[output.rfind("PLAY RECAP").unwrap()..];
    tail.lines()
        .skip(1)
        .filter_map(|line| {
            let (host, counters) = line.split_once(" : ")?;
            let counters = counters
                .split_whitespace()
                .filter_map(|c| {
                    let (k, v) = c.split_once('=')?;
                    Some((k.to_owned(), v.parse().ok()?))
                })
                .collect();
            Some((host.trim().to_owned(), counters))
        })
        .collect()
}

fn counter(output: &str, host: &str, name: &str) -> u32 {
    recap(output)
        .get(host)
        .and_then(|c| c.get(name))
        .copied()
        .unwrap_or_else(|| panic!("no {name} for {host} in the recap: {output}"))
}

/// The SMTP change of docs/ansible.md, with a new secret so that masking can be checked.
fn smtp_play(extra_task_lines: &str) -> String {
    format!(
        "- hosts: farm\n  gather_facts: false\n  tasks:\n    - k2cse.k2cse.k2cse_connection_string:\n        \
         path: \"{{{{ k2_config }}}}\"\n        name: \"{ENTRY}\"\n        values:\n          \
         Host Name: denallix-com.mail.protection.outlook.com\n          Port: 25\n          \
         Password: \"{PASSWORD}\"\n{extra_task_lines}"
    )
}

fn stamp(path: &Path) -> (std::time::SystemTime, u64) {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).unwrap();
    (meta.modified().unwrap(), meta.ino())
}

#[test]
fn a_farm_is_changed_once_checked_and_diffed_masked_and_fails_per_host() {
    let farm = Farm::new();
    let play = smtp_play("");

    // ansible-doc finds the module's documentation beside the binary module.
    let doc = Command::new("ansible-doc")
        .arg("k2cse.k2cse.k2cse_connection_string")
        .env(
            "ANSIBLE_COLLECTIONS_PATH",
            farm.dir.path().join("collections"),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-doc is missing: run scripts/setup.sh");
    let doc = String::from_utf8_lossy(&doc.stdout);
    for option in [
        "connection_string",
        "key_file",
        "db_push",
        "backup_file",
        "check_mode",
    ] {
        assert!(doc.contains(option), "ansible-doc lacks {option}: {doc}");
    }

    // Check mode with --diff: both nodes would change, nothing is written, secrets masked.
    let out = farm.play(&play, &["--check", "--diff"]);
    for node in ["node1", "node2"] {
        assert_eq!(counter(&out, node, "changed"), 1, "{out}");
        assert_eq!(counter(&out, node, "failed"), 0, "{out}");
        assert_eq!(std::fs::read(farm.config(node)).unwrap(), K2_SAMPLE);
        assert_eq!(farm.backups(node), 0);
    }
    assert!(
        out.contains(
            "-    <add name=\"SourceCode.Net.Mail.SmtpConnection:notifications@denallix.com\""
        ),
        "{out}"
    );
    assert!(out.contains("Password=******** (changed)"), "{out}");
    for secret in [PASSWORD, "S3cret!Pass", "P@ss;w0rd"] {
        assert!(!out.contains(secret), "{secret} shown: {out}");
    }
    // The host without the file fails alone.
    assert_eq!(counter(&out, "node3", "failed"), 1, "{out}");

    // The real run: changed on both nodes, each with one backup.
    let out = farm.play(&play, &[]);
    for node in ["node1", "node2"] {
        assert_eq!(counter(&out, node, "changed"), 1, "{out}");
        assert_eq!(counter(&out, node, "failed"), 0, "{out}");
        let text = std::fs::read_to_string(farm.config(node)).unwrap();
        assert!(
            text.contains(&format!("Host Name=denallix-com.mail.protection.outlook.com;Port=25;TLS=StartTls;Authentication=Plain;User ID=notifications@denallix.com;Password={PASSWORD}")),
            "{text}"
        );
        assert_eq!(farm.backups(node), 1, "{node}");
    }
    assert_eq!(counter(&out, "node3", "failed"), 1, "{out}");
    assert!(!out.contains(PASSWORD), "{out}");

    // Again: changed=0, no file touched, no new backup.
    let before: Vec<_> = ["node1", "node2"].map(|n| stamp(&farm.config(n))).into();
    let out = farm.play(&play, &[]);
    for (node, before) in ["node1", "node2"].iter().zip(before) {
        assert_eq!(counter(&out, node, "changed"), 0, "{out}");
        assert_eq!(counter(&out, node, "ok"), 1, "{out}");
        assert_eq!(stamp(&farm.config(node)), before, "{node} touched");
        assert_eq!(farm.backups(node), 1, "{node}");
    }

    // A lint error (TLS=Ssl, K2C031) fails the task on every host and writes nothing.
    let bad = "- hosts: farm\n  gather_facts: false\n  tasks:\n    - k2cse.k2cse.k2cse_connection_string:\n        \
               path: \"{{ k2_config }}\"\n        name: SourceCode.Net.Mail.SmtpConnection\n        \
               values:\n          TLS: Ssl\n";
    let snapshot: Vec<Vec<u8>> = ["node1", "node2"]
        .map(|n| std::fs::read(farm.config(n)).unwrap())
        .into();
    let out = farm.play(bad, &[]);
    for (node, snapshot) in ["node1", "node2"].iter().zip(snapshot) {
        assert_eq!(counter(&out, node, "failed"), 1, "{out}");
        assert_eq!(std::fs::read(farm.config(node)).unwrap(), snapshot);
    }
    assert!(out.contains("K2C031"), "{out}");

    // no_log: the result is hidden by Ansible, even at -vvv, and never holds the secret.
    let quiet = smtp_play("      no_log: true\n").replace(PASSWORD, "Another-Secret-42");
    let out = farm.play(&quiet, &["--diff", "-vvv"]);
    assert_eq!(counter(&out, "node1", "changed"), 1, "{out}");
    assert_eq!(counter(&out, "node2", "changed"), 1, "{out}");
    assert!(out.contains("'no_log: true'"), "{out}");
    assert!(!out.contains("Another-Secret-42"), "{out}");
    assert!(!out.contains("(changed)"), "no diff under no_log: {out}");
}
