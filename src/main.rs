fn main() -> std::process::ExitCode {
    drkit::cli::run(std::env::args_os())
}
