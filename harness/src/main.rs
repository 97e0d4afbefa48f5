//! `harness SPEC.toml [--out DIR] [--threads N] [--set KEY=VALUE]... [--quick] [--resume]`

fn main() -> std::process::ExitCode {
    harness::cli::main()
}
