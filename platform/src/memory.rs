//! How the services' memory is paged.

/// Turns transparent huge pages off for this process (Linux; elsewhere it does
/// nothing). Call first in `main`.
///
/// mimalloc, the services' allocator, reserves a 1 GiB arena and, unless built
/// with its `no_thp` feature (as here), advises the kernel to back it with
/// 2 MiB pages; where THP is `always`, the kernel does so unadvised. Every
/// 2 MiB region the heap touches then becomes resident whole.
/// The storefront cache's bodies (tens of KB, evicted in no order) leave
/// regions sparsely used: with 10,000 stores and a full 16 MiB cache a replica
/// held 101–112 MB with huge pages and 74–90 MB without, and warm reads served
/// the same (BENCHMARKS.md, round eleven). The kernel reads the flag when it
/// faults a page in, so what the process touches after this call is backed by
/// 4 KiB pages, the allocator's advice notwithstanding.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` takes integers only and
    // changes nothing but this process's paging policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
