//! Trust under faults (issue 8, classes 4–8): each test puts recon in a hostile or broken world
//! (revoked host keys, hostile tarballs, a port already bound, nginx stopped, `--limit` with a
//! conflict) and asserts what is on the host afterwards and that the next run converges.

mod known_hosts;
