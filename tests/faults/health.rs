//! The health gate blames only the release: nginx stopped, or another app answering for the
//! squad's domain, is the infrastructure's fault; the release is neither marked failed (and
//! rolled back) nor marked good on another app's word. A broken release is still rolled back.

use super::stage::Stage;

fn has(releases: &[(String, String, bool)], version: &str, status: &str, current: bool) -> bool {
    releases.contains(&(version.to_owned(), status.to_owned(), current))
}

#[test]
fn the_health_gate_blames_only_the_release() {
    let mut stage = Stage::new("h");
    stage.apply("v1.0.0").expect_code(0);
    for i in 0..2 {
        let (code, version, squad) = stage.through_nginx(i).expect("answers");
        assert_eq!((code, version.as_str()), (200, "1.0.0"));
        assert_eq!(squad, stage.squads[i]);
    }

    // Another squad's app answers for squad 0's domain (a site nginx reads first): v1.0.1 is
    // not marked good on the other app's word, nor failed; squad 1 is unaffected.
    let other = format!(
        "server {{\n    listen 127.0.0.1:{};\n    server_name api.digicam.{}.test;\n    location / {{ proxy_pass http://127.0.0.1:{}; }}\n}}\n",
        stage.site_port, stage.squads[0], stage.app_ports[1]
    );
    stage.foreign_site(&other);
    // A reload's new workers take over within moments.
    super::eventually(|| {
        stage
            .through_nginx(0)
            .is_some_and(|a| a.2 == stage.squads[1])
    });
    let run = stage.apply("v1.0.1");
    run.expect_code(1);
    let out = super::unwrapped(&run.stdout);
    assert!(out.contains("without the app's identity"), "{}", run.stdout);
    assert!(
        out.contains("infrastructure, not the release"),
        "{}",
        run.stdout
    );
    assert!(!out.contains("rolled back to"), "{}", run.stdout);
    assert!(has(&stage.releases(0), "v1.0.1", "deployed", true));
    assert!(has(&stage.releases(1), "v1.0.1", "good", true));

    // The foreign site gone, the pending gate (the release is not marked good; the reaction is
    // also kept pending by the engine) runs again and marks it good; then converged.
    stage.drop_foreign_site();
    stage
        .recon("plan", &["-e", "version=v1.0.1"])
        .expect_code(0)
        .stdout_has("! http_check");
    stage.apply("v1.0.1").expect_code(0);
    assert!(has(&stage.releases(0), "v1.0.1", "good", true));
    stage
        .apply("v1.0.1")
        .expect_code(0)
        .stdout_has("No changes. 2 hosts converged.");

    // nginx stopped while switching back to v1.0.0 (healthy, marked good): it is not marked
    // failed, nothing is rolled back, the app runs v1.0.0.
    stage.nginx.stop();
    let run = stage.apply("v1.0.0");
    run.expect_code(1);
    let out = super::unwrapped(&run.stdout);
    assert!(
        out.contains("nothing answered (connection refused or timed out)"),
        "{}",
        run.stdout
    );
    assert!(
        out.contains("infrastructure, not the release"),
        "{}",
        run.stdout
    );
    assert!(!out.contains("rolled back to"), "{}", run.stdout);
    assert!(!out.contains("000000"), "{}", run.stdout);
    for i in 0..2 {
        assert_eq!(stage.direct(i).expect("the app answers").1, "1.0.0");
        let releases = stage.releases(i);
        assert!(has(&releases, "v1.0.0", "good", true), "{releases:?}");
        assert!(has(&releases, "v1.0.1", "good", false), "{releases:?}");
    }

    // nginx back: everything answers; the check the outage interrupted runs (the engine kept
    // it pending) and passes; the run after that converges.
    stage.nginx.start_again();
    for i in 0..2 {
        super::eventually(|| stage.through_nginx(i).is_some_and(|a| a.1 == "1.0.0"));
    }
    stage.apply("v1.0.0").expect_code(0);
    stage
        .apply("v1.0.0")
        .expect_code(0)
        .stdout_has("No changes. 2 hosts converged.");

    // A broken release is still the release's fault: marked failed and rolled back.
    let run = stage.apply("v1.0.2");
    run.expect_code(1);
    let out = super::unwrapped(&run.stdout);
    assert!(out.contains("release v1.0.2 is to blame"), "{}", run.stdout);
    assert!(
        out.contains("rolled back to v1.0.0, which answers"),
        "{}",
        run.stdout
    );
    for i in 0..2 {
        assert!(has(&stage.releases(i), "v1.0.2", "failed", false));
        assert!(has(&stage.releases(i), "v1.0.0", "good", true));
    }
}
