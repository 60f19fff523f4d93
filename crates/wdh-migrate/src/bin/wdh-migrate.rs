fn main() -> std::process::ExitCode {
    wdh_migrate::run()
}
