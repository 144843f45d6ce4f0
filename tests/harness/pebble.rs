//! A real ACME CA for the certbot role: Debian's `pebble`, started by the test on two free
//! loopback ports (ACME directory and management API) with a listener certificate made here by
//! `openssl` (its own little CA, which certbot trusts through `REQUESTS_CA_BUNDLE`).
//! Challenges are validated for real: `pebble-challtestsrv` is pebble's DNS server (it answers
//! every A query with 127.0.0.1), and pebble fetches each http-01 challenge from
//! `http://DOMAIN:HTTP_PORT/.well-known/acme-challenge/TOKEN`, i.e. from the test's nginx serving
//! the webroot certbot wrote the token into.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// How long pebble may take to listen (it generates its CA keys at start).
const STARTUP: Duration = Duration::from_secs(30);

/// One pebble process, killed when dropped.
pub(crate) struct Pebble {
    /// `https://127.0.0.1:PORT/dir`: certbot's `--server`.
    pub(crate) directory: String,
    /// The CA that signed pebble's own listener certificate (for certbot and curl talking to it).
    pub(crate) listener_ca: PathBuf,
    management_port: u16,
    dir: tempfile::TempDir,
    child: Child,
    dns: Child,
}

impl Pebble {
    /// Makes the listener certificate, writes the config and starts pebble and its DNS server;
    /// waits until pebble listens. `http_port`: where pebble fetches http-01 challenges.
    pub(crate) fn start(http_port: u16) -> Self {
        let dir = tempfile::tempdir().expect("pebble dir");
        let certs = "set -e; cd \"$1\"; \
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=recon-test-pebble-listener-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; \
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out leaf.csr -subj /CN=127.0.0.1 2>/dev/null; \
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\nbasicConstraints=CA:FALSE\\n' > leaf.ext; \
            openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 -extfile leaf.ext 2>/dev/null; \
            chmod 0644 ca.pem";
        let made = Command::new("sh")
            .args(["-c", certs, "sh"])
            .arg(dir.path())
            .status()
            .expect("openssl");
        assert!(
            made.success(),
            "openssl could not make pebble's certificate"
        );
        // Readable by certbot running on the target (root here, but keep it world-traversable).
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let port = free_port();
        let management_port = free_port();
        let config = dir.path().join("pebble.json");
        let text = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management_port}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        std::fs::write(&config, text.to_string()).expect("pebble.json");
        let log = std::fs::File::create(dir.path().join("pebble.log")).expect("log");
        let dns_port = free_port();
        let dns = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .arg("-dns01")
            .arg(format!("127.0.0.1:{dns_port}"))
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .arg("-management")
            .arg(format!("127.0.0.1:{}", free_port()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log.try_clone().expect("log"))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn pebble-challtestsrv: {e}"));
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config)
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{dns_port}"))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "100")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn pebble (run scripts/install-deps.sh?): {e}"));
        let pebble = Self {
            directory: format!("https://127.0.0.1:{port}/dir"),
            listener_ca: dir.path().join("ca.pem"),
            management_port,
            dir,
            child,
            dns,
        };
        let deadline = Instant::now() + STARTUP;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", management_port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "pebble did not listen\n{}",
                pebble.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pebble
    }

    /// pebble's log (stdout and stderr).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// Writes pebble's issuing root (from its management API) to a file and returns the path:
    /// what a client verifying a certificate pebble issued must trust. The root is made anew at
    /// every pebble start, so it is fetched, never stored.
    pub(crate) fn issuing_root(&self) -> PathBuf {
        let path = self.dir.path().join("issuing-root.pem");
        let out = Command::new("curl")
            .args(["-sSf", "--cacert"])
            .arg(&self.listener_ca)
            .arg(format!(
                "https://127.0.0.1:{}/roots/0",
                self.management_port
            ))
            .arg("-o")
            .arg(&path)
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "fetching pebble's root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.child, &mut self.dns] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
