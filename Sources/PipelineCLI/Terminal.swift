import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writing to the terminal: stderr lines that do not interleave, and TTY detection.
enum Terminal {
    private static let lock = NSLock()
    nonisolated(unsafe) static var statusLineShown = false

    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes a line to stderr, clearing a live status line first.
    static func line(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if statusLineShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            statusLineShown = false
        }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) { line(text.hasPrefix("/") || text.contains(": error: ") ? text : "error: \(text)") }

    /// Replaces the live status line (TTY only).
    static func status(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        statusLineShown = true
    }
}
