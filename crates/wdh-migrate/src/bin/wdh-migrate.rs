fn main() {
    wdh_migrate::run()
}
