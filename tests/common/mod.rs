//! Test support: a real `moto_server` (the AWS emulator) on a free 127.0.0.1 port, one per test.
//!
//! Each test that calls [`Moto::start`] gets its own server process, so state never leaks between
//! tests; the server is killed when the handle drops. The server comes from the project's `.venv`
//! (`make test` installs it), or from `$MOTO_SERVER`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, retry::RetryConfig};

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Start a fresh emulator and wait until it answers.
    pub fn start() -> Moto {
        let server = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
            });
        assert!(
            server.exists(),
            "{} not found: run `make test` (it installs moto into .venv)",
            server.display()
        );
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn moto_server");
            let mut moto = Moto { child, port };
            if moto.wait_ready(Duration::from_secs(30)) {
                return moto;
            }
            // Lost the port to another process between probe and bind: try another.
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start");
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && http_status(self.port, "GET", "/moto-api/") == Some(200)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// An SDK config pointing at this emulator, with test credentials and no retries (moto answers
    /// unimplemented calls with a 500 that would otherwise be retried).
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                Credentials::new("testing", "testing", None, None, "tests"),
            ))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A minimal HTTP/1.0 request to the emulator's control API, returning the status code.
pub fn http_status(port: u16, method: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}
