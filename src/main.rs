/// A request allocates and frees many small strings and rows across threads, which
/// mimalloc serves faster than the system allocator: the load run that measured it, with
/// and without, is in docs/operations.md ("Under load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The program itself is in the library: `perfblog::app::entry`.
fn main() -> std::process::ExitCode {
    perfblog::app::entry::main()
}
