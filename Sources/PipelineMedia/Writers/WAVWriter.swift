import Foundation

/// Streams interleaved float PCM into a WAV file, atomically.
///
/// Samples go to a temporary file beside the target; `finish()` patches the
/// RIFF sizes and renames it into place, so a crash never leaves a truncated
/// WAV at `path`. `float32` writes IEEE float (format tag 3, with a `fact`
/// chunk); `pcm16` clips to [-1, 1] and rounds to 16-bit integers.
public final class WAVWriter {
    /// Sample encodings.
    public enum Encoding: Sendable {
        case float32
        case pcm16
    }

    /// Target path.
    public let path: String
    /// Frames per second.
    public let sampleRate: Int
    /// Channels per frame.
    public let channels: Int
    /// Sample encoding.
    public let encoding: Encoding
    private let tempPath: String
    private let handle: FileHandle
    private var dataBytes = 0
    private var finished = false

    /// Creates the temporary file and writes a provisional header.
    public init(path: String, sampleRate: Int, channels: Int, encoding: Encoding = .float32) throws {
        guard sampleRate > 0, channels > 0 else {
            throw MediaError.invalidArgument("WAV \(sampleRate) Hz \(channels) channels")
        }
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        self.encoding = encoding
        tempPath = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: tempPath, contents: nil),
              let h = FileHandle(forWritingAtPath: tempPath) else {
            throw MediaError.writeFailed(path: path, message: "cannot create \(tempPath)")
        }
        handle = h
        try write(header())
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: tempPath)
        }
    }

    private func header() -> Data {
        Self.header(sampleRate: sampleRate, channels: channels, encoding: encoding, dataBytes: dataBytes)
    }

    /// The RIFF/WAVE header for `dataBytes` bytes of samples.
    static func header(sampleRate: Int, channels: Int, encoding: Encoding, dataBytes: Int) -> Data {
        var d = Data()
        func u32(_ v: Int) { var x = UInt32(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { var x = UInt16(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { d.append(contentsOf: $0) } }
        let isFloat = encoding == .float32
        let bytesPerSample = isFloat ? 4 : 2
        let fmtSize = isFloat ? 18 : 16
        let factSize = isFloat ? 12 : 0
        d.append(contentsOf: Array("RIFF".utf8)); u32(4 + (8 + fmtSize) + factSize + 8 + dataBytes)
        d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(fmtSize)
        u16(isFloat ? 3 : 1); u16(channels); u32(sampleRate)
        u32(sampleRate * channels * bytesPerSample); u16(channels * bytesPerSample); u16(bytesPerSample * 8)
        if isFloat {
            u16(0)
            d.append(contentsOf: Array("fact".utf8)); u32(4); u32(dataBytes / (channels * bytesPerSample))
        }
        d.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        return d
    }

    /// The samples in `encoding`, little-endian.
    static func sampleBytes(_ samples: [Float], encoding: Encoding) -> Data {
        switch encoding {
        case .float32:
            return samples.map { $0.bitPattern.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }
        case .pcm16:
            let ints = samples.map { Int16((max(-1, min(1, $0)) * 32767).rounded()).littleEndian }
            return ints.withUnsafeBufferPointer { Data(buffer: $0) }
        }
    }

    /// A whole WAV file in memory, for callers that publish files their own way
    /// (the engine's atomic writer). Byte-identical to what `write(_:to:encoding:)` produces.
    public static func encode(_ audio: AudioSamples, encoding: Encoding = .float32) throws -> [UInt8] {
        guard audio.sampleRate > 0, audio.channels > 0 else {
            throw MediaError.invalidArgument("WAV \(audio.sampleRate) Hz \(audio.channels) channels")
        }
        guard audio.samples.count % audio.channels == 0 else {
            throw MediaError.invalidArgument("\(audio.samples.count) samples is not a multiple of \(audio.channels) channels")
        }
        let data = sampleBytes(audio.samples, encoding: encoding)
        return Array(header(sampleRate: audio.sampleRate, channels: audio.channels, encoding: encoding, dataBytes: data.count) + data)
    }

    private func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw MediaError.writeFailed(path: path, message: "\(error.localizedDescription)")
        }
    }

    /// Appends interleaved samples (`count` a multiple of `channels`).
    public func append(_ samples: [Float]) throws {
        precondition(samples.count % channels == 0, "sample count is not a multiple of the channel count")
        let data = Self.sampleBytes(samples, encoding: encoding)
        try write(data)
        dataBytes += data.count
    }

    /// Patches the header and moves the file into place.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        do {
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: header())
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: tempPath, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: tempPath)
            throw MediaError.writeFailed(path: path, message: "\(error.localizedDescription)")
        }
    }

    /// Writes a whole buffer to `path`.
    public static func write(_ audio: AudioSamples, to path: String, encoding: Encoding = .float32) throws {
        let w = try WAVWriter(path: path, sampleRate: audio.sampleRate, channels: audio.channels, encoding: encoding)
        try w.append(audio.samples)
        try w.finish()
    }
}
