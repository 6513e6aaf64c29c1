//! Real S3-compatible stores on 127.0.0.1 for the S3 client's tests: SeaweedFS (`weed mini`)
//! and moto (`moto_server`), from the virtualenv named by `EXHIBIT_S3_VENV` (which also has
//! boto3). Without it the tests skip with a message, or fail under `EXHIBIT_REQUIRE_TOOLS`,
//! like every other external tool ([`super::venv_tool`]).
//!
//! Each server gets free ports, a temporary directory for its data and logs, and its own
//! process group, killed whole when the [`S3Server`] is dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the virtualenv with `weed`, `moto_server` and boto3.
pub const VENV_VAR: &str = "EXHIBIT_S3_VENV";

/// What [`S3Server::boto3`] runs before each script: imports, `s3` (a boto3 client for the
/// server: path-style, checksums only when asked for) and `error_code(e)` (a `ClientError`'s
/// S3 code).
pub const BOTO3_PRELUDE: &str = r#"
import os, sys, hashlib, base64, datetime
import boto3, botocore
from botocore.config import Config
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    config=Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 2, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    ),
)
def error_code(e):
    return e.response.get("Error", {}).get("Code", "?")
"#;

/// Which store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SeaweedFS's all-in-one `weed mini`.
    SeaweedFs,
    /// moto's standalone server.
    Moto,
}

/// A store running on loopback; killed (with its whole process group) on drop.
pub struct S3Server {
    /// Which store.
    pub kind: Kind,
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    access_key: String,
    secret_key: String,
    python: PathBuf,
    /// Files the server leaves outside its directory, removed after it stops.
    litter: Vec<PathBuf>,
}

impl S3Server {
    /// SeaweedFS (`weed mini`, master, volume, filer and S3 in one process) with one admin
    /// identity; None (skip) without the virtualenv.
    pub fn seaweedfs() -> Option<S3Server> {
        let weed = super::venv_tool(VENV_VAR, "weed")?;
        let python = python_beside(&weed)?;
        let mut last_log = String::new();
        // A port taken between choosing and binding it is retried with others.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::create_dir_all(&logs).unwrap();
            let (access_key, secret_key) = ("exhibit-test-key", "exhibit-test-secret");
            let config = dir.path().join("s3.json");
            let identities = serde_json::json!({"identities": [{
                "name": "exhibit",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }]});
            std::fs::write(&config, identities.to_string()).unwrap();
            let p = free_ports(10);
            let mut cmd = Command::new(&weed);
            cmd.arg(format!("-logdir={}", logs.display()))
                .arg("mini")
                .args(seaweedfs_args(&data, &config, &p, dir.path()));
            let log = dir.path().join("weed.out");
            let mut server = start(
                cmd,
                &log,
                Kind::SeaweedFs,
                dir,
                p[0],
                access_key,
                secret_key,
                &python,
            );
            // Each gRPC server also listens on a Unix socket in /tmp, whatever TMPDIR says.
            server.litter = [("s3", p[1]), ("master", p[3]), ("volume", p[5])]
                .into_iter()
                .chain([("filer", p[7]), ("admin", p[9])])
                .map(|(name, port)| {
                    PathBuf::from(format!("/tmp/seaweedfs-{name}-grpc-{port}.sock"))
                })
                .collect();
            if let Some(server) = server.wait_ready() {
                return Some(server);
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("weed mini did not start three times; its last output:\n{last_log}");
    }

    /// moto's server (anything is accepted as credentials; it checks no signatures); None
    /// (skip) without the virtualenv.
    pub fn moto() -> Option<S3Server> {
        let moto = super::venv_tool(VENV_VAR, "moto_server")?;
        let python = python_beside(&moto)?;
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_ports(1)[0];
            let mut cmd = Command::new(&moto);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            let log = dir.path().join("moto.out");
            let server = start(
                cmd,
                &log,
                Kind::Moto,
                dir,
                port,
                "testing",
                "testing",
                &python,
            );
            if let Some(server) = server.wait_ready() {
                return Some(server);
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("moto_server did not start three times; its last output:\n{last_log}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The credentials the server accepts.
    pub fn credentials(&self) -> exhibit_s3::Credentials {
        exhibit_s3::Credentials {
            access_key_id: self.access_key.clone(),
            secret_access_key: self.secret_key.clone(),
            session_token: None,
        }
    }

    /// An `exhibit-s3` client for `location` (`s3://bucket/prefix`) on this server.
    pub fn client(&self, location: &str) -> exhibit_s3::Client {
        let location = exhibit_s3::Location::parse(location).expect("location");
        let config =
            exhibit_s3::Config::new(&self.endpoint(), "us-east-1", location).expect("config");
        exhibit_s3::Client::new(config, self.credentials())
    }

    /// Creates a bucket (with Object Lock, hence versioning, when `object_lock`).
    pub fn create_bucket(&self, name: &str, object_lock: bool) {
        self.client(&format!("s3://{name}"))
            .create_bucket(object_lock)
            .unwrap_or_else(|e| panic!("create bucket {name}: {e}"));
    }

    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (with AWS_DEFAULT_REGION) for
    /// this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
        ]
    }

    /// Runs a Python script in the virtualenv after [`BOTO3_PRELUDE`] (which defines `s3`),
    /// with [`S3Server::env`], `S3_ENDPOINT`, and no AWS configuration from the machine.
    pub fn boto3(&self, script: &str) -> Output {
        Command::new(&self.python)
            .arg("-c")
            .arg(format!("{BOTO3_PRELUDE}\n{script}"))
            .envs(self.env())
            .env("S3_ENDPOINT", self.endpoint())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null())
            .output()
            .expect("run python")
    }

    /// [`S3Server::boto3`], asserting success; its stdout, trimmed.
    pub fn boto3_ok(&self, script: &str) -> String {
        let out = self.boto3(script);
        assert!(
            out.status.success(),
            "boto3 script failed on {:?}:\n{script}\nstdout: {}\nstderr: {}",
            self.kind,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The server's output so far (for failure messages).
    pub fn log(&self) -> String {
        let name = match self.kind {
            Kind::SeaweedFs => "weed.out",
            Kind::Moto => "moto.out",
        };
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Waits until the store answers signed S3 requests (a HEAD in a missing bucket is a
    /// clean 404): Some(self), or None when it exited or stayed silent for 60 s.
    fn wait_ready(mut self) -> Option<S3Server> {
        let location = exhibit_s3::Location::parse("s3://exhibit-probe").unwrap();
        let mut config = exhibit_s3::Config::new(&self.endpoint(), "us-east-1", location).unwrap();
        config.max_attempts = 1;
        config.timeout = Duration::from_secs(2);
        let probe = exhibit_s3::Client::new(config, self.credentials());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return None;
            }
            if let Ok(None) = probe.head("probe") {
                return Some(self);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // The whole process group: the server and anything it started.
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        for path in &self.litter {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The `weed mini` arguments: every listener on 127.0.0.1 at a free port from `p` (10 of
/// them), the optional services (WebDAV, Iceberg, Lance, admin UI, telemetry) off, data,
/// sockets and the S3 identities file in `dir`.
fn seaweedfs_args(data: &Path, config: &Path, p: &[u16], dir: &Path) -> Vec<String> {
    vec![
        format!("-dir={}", data.display()),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        format!("-s3.port={}", p[0]),
        format!("-s3.port.grpc={}", p[1]),
        format!("-master.port={}", p[2]),
        format!("-master.port.grpc={}", p[3]),
        format!("-volume.port={}", p[4]),
        format!("-volume.port.grpc={}", p[5]),
        format!("-filer.port={}", p[6]),
        format!("-filer.port.grpc={}", p[7]),
        format!("-admin.port={}", p[8]),
        format!("-admin.port.grpc={}", p[9]),
        "-admin.ui=false".into(),
        "-webdav=false".into(),
        "-s3.port.iceberg=0".into(),
        "-s3.port.lance=0".into(),
        "-master.telemetry=false".into(),
        format!("-s3.config={}", config.display()),
        format!("-filer.localSocket={}", dir.join("filer.sock").display()),
        format!("-s3.localSocket={}", dir.join("s3.sock").display()),
    ]
}

/// Starts `cmd` in its own process group, its output in `log`.
#[allow(clippy::too_many_arguments)]
fn start(
    mut cmd: Command,
    log: &Path,
    kind: Kind,
    dir: tempfile::TempDir,
    port: u16,
    access_key: &str,
    secret_key: &str,
    python: &Path,
) -> S3Server {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let child = cmd
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    S3Server {
        kind,
        child,
        dir,
        port,
        access_key: access_key.into(),
        secret_key: secret_key.into(),
        python: python.to_owned(),
        litter: Vec::new(),
    }
}

/// `n` distinct free ports on 127.0.0.1 (all bound at once, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// The virtualenv's Python, beside its `tool` (boto3 is installed there).
fn python_beside(tool: &Path) -> Option<PathBuf> {
    let beside = tool.with_file_name("python3");
    if beside.is_file() {
        return Some(beside);
    }
    super::venv_tool(VENV_VAR, "python3")
}
