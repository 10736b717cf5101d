import Crypto
import Foundation

/// SHA-256 of file contents, for identifying file versions by content.
///
/// swift-crypto's (BoringSSL's on Linux, which uses the CPU's SHA extensions where it has
/// them), streamed, with the digest as lowercase hex as `sha256sum` prints it.
public struct SHA256 {
    private var hasher = Crypto.SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    mutating func update(_ data: some Collection<UInt8>) {
        Array(data).withUnsafeBytes { update($0) }
    }

    /// The hex digest of everything added.
    func finish() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Hex digest of a file's contents, read in 1 MiB chunks.
    public static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finish()
    }
}
