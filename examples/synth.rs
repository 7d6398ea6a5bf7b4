//! Writes a synthetic policy: `cargo run --release --example synth -- --spaces 20 --locations
//! 10000 --roles 50 --members 20000 --seed 1 --out target/synth`.

use std::path::PathBuf;

fn main() {
    let mut p = charter::synth::Params {
        spaces: 2,
        locations: 1000,
        roles: 10,
        members: 1000,
        seed: 1,
    };
    let mut out = PathBuf::from("target/synth");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        let n = || {
            value
                .parse::<usize>()
                .unwrap_or_else(|_| panic!("{flag} takes a number, not `{value}`"))
        };
        match flag.as_str() {
            "--spaces" => p.spaces = n(),
            "--locations" => p.locations = n(),
            "--roles" => p.roles = n(),
            "--members" => p.members = n(),
            "--seed" => p.seed = n() as u64,
            "--out" => out = PathBuf::from(&value),
            _ => {
                eprintln!(
                    "usage: synth [--spaces N] [--locations N] [--roles N] [--members N] [--seed S] [--out DIR]"
                );
                std::process::exit(2);
            }
        }
    }
    std::fs::create_dir_all(&out).expect("create output directory");
    let mut bytes = 0;
    for (name, text) in charter::synth::generate(&p) {
        bytes += text.len();
        std::fs::write(out.join(name), text).expect("write policy file");
    }
    println!(
        "wrote {} spaces, {:.1} MB to {}",
        p.spaces,
        bytes as f64 / 1e6,
        out.display()
    );
}
