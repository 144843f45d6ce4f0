//! A reload that keeps the old config is a failure: a site that passes `nginx -t` but cannot be
//! loaded (its `listen` is bound by another process) fails its step, the previous site file is
//! back (so nginx's next start is not broken by it), and every squad is still served. A site
//! nginx would ignore (a server name another site already answers for) is refused too.

use super::stage::Stage;

#[test]
fn a_site_nginx_cannot_load_is_put_back_and_fails_its_step() {
    let stage = Stage::new("n");
    stage.apply("v1.0.0").expect_code(0);
    let good_site = stage.site(0);
    assert!(good_site.contains("server_name api.digicam.recon_faults_n1.test;"));

    // Another process holds the port the new site wants to listen on. It is taken below the
    // kernel's ephemeral range, so that once it is released no other test's `free_port` (which
    // asks for an ephemeral one) can be handed it before nginx binds it.
    let start = 20_000 + u16::try_from(std::process::id() % 10_000).expect("small");
    let blocker = (start..32_000)
        .find_map(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok())
        .expect("a free port below the ephemeral range");
    let port = blocker.local_addr().expect("addr").port();
    stage.set_nginx_extra(0, &format!("listen 127.0.0.1:{port};"));
    let run = stage.apply("v1.0.0");
    run.expect_code(1);
    let out = super::unwrapped(&run.stdout);
    assert!(
        out.contains("nginx did not load the new configuration: it keeps running the previous one"),
        "{}",
        run.stdout
    );
    assert!(out.contains("Address already in use"), "{}", run.stdout);
    assert!(
        out.contains("the previous file was restored"),
        "{}",
        run.stdout
    );
    assert_eq!(
        stage.site(0),
        good_site,
        "the previous site is back on disk"
    );
    assert!(stage.nginx.error_log().contains("bind() to 127.0.0.1:"));
    for i in 0..2 {
        let (code, version, squad) = stage.through_nginx(i).expect("still served");
        assert_eq!((code, version.as_str()), (200, "1.0.0"));
        assert_eq!(squad, stage.squads[i]);
    }
    // The file on disk passes nginx -t and loads: a restart of nginx would work.
    stage.nginx.reload();

    // The port free again, the same apply loads the site and the next plan converges.
    drop(blocker);
    stage.apply("v1.0.0").expect_code(0);
    assert!(stage.site(0).contains(&format!("listen 127.0.0.1:{port};")));
    super::eventually(|| {
        crate::harness::web::Nginx::get(port, "api.digicam.recon_faults_n1.test", "/health")
            .is_some_and(|(code, body)| code == 200 && body.contains("recon_faults_n1"))
    });
    stage
        .recon("plan", &["-e", "version=v1.0.0", "--detailed-exitcode"])
        .expect_code(0);

    // A site nginx would ignore: another site (read first) already answers for squad 2's name.
    let other = format!(
        "server {{\n    listen 127.0.0.1:{};\n    server_name api.digicam.{}.test;\n    return 418;\n}}\n",
        stage.site_port, stage.squads[1]
    );
    stage.foreign_site(&other);
    let before = stage.site(1);
    stage.set_nginx_extra(1, "add_header X-Faults 1;");
    let run = stage.apply("v1.0.0");
    run.expect_code(1);
    let out = super::unwrapped(&run.stdout);
    assert!(
        out.contains("nginx would ignore a server block for api.digicam.recon_faults_n2.test (conflicting server name)"),
        "{}",
        run.stdout
    );
    assert_eq!(stage.site(1), before, "the previous site is back on disk");
    stage.drop_foreign_site();
    stage.apply("v1.0.0").expect_code(0);
    assert!(stage.site(1).contains("add_header X-Faults 1;"));
    stage
        .recon("plan", &["-e", "version=v1.0.0", "--detailed-exitcode"])
        .expect_code(0);
}
