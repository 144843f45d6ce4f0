//! A health check that no task notifies runs on every apply (as Ansible's `uri` does), and the
//! plan says it will.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::harness::Project;

/// A one-route HTTP server on a free loopback port answering `200 ok` to every request, counting
/// the requests it served; it stops when the test ends.
fn serve() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&served);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, served)
}

#[test]
fn a_standalone_health_check_runs_on_every_apply_and_the_plan_says_so() {
    let (port, served) = serve();
    let p = Project::new();
    p.file(
        "site.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - name: up\n      http_check: {{ url: \"http://127.0.0.1:{port}/health\", contains: ok, timeout: 5 }}\n"
        ),
    );
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("checks on every apply (no task notifies it)");
    for _ in 0..2 {
        let before = served.load(std::sync::atomic::Ordering::SeqCst);
        p.recon(&["apply", "site.yml"]).expect_code(0);
        assert!(
            served.load(std::sync::atomic::Ordering::SeqCst) > before,
            "the check asked the server"
        );
    }
}
