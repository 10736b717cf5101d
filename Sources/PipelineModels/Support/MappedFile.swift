import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A regular file mapped read-only for as long as this object lives: the one place the model
/// readers (GGUF, safetensors, CTranslate2) open, map and unmap their files. An empty file
/// maps nothing (`size` 0), so each reader reports its own "truncated" error for it.
final class MappedFile: @unchecked Sendable {
    /// Why the file could not be opened or mapped (the reader wraps it in its own error).
    struct OpenError: Error {
        let reason: String
    }

    let base: UnsafeRawPointer
    let size: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OpenError(reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw OpenError(reason: "not a regular file") }
        size = Int(st.st_size)
        guard size > 0 else {
            base = UnsafeRawPointer(bitPattern: 1)!  // never read: every reader checks `size` first
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw OpenError(reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    /// Gives the pages wholly inside `range` back to the kernel (they read back from the file
    /// if touched again): for data a reader has copied elsewhere, so it stops counting twice.
    func release(_ range: UnsafeRawBufferPointer) {
        guard let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + range.count) / page * page
        guard hi > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_DONTNEED)
    }

    deinit {
        if size > 0 { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}
