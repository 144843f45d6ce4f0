//! The `recon` binary: everything lives in the library.

fn main() {
    std::process::exit(recon::run(std::env::args_os()));
}
