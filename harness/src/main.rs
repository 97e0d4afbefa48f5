//! `harness SPEC.toml [--out DIR] [--threads N] [--set KEY=VALUE]... [--profile NAME | --quick] [--resume]`

fn main() -> std::process::ExitCode {
    harness::cli::main()
}
