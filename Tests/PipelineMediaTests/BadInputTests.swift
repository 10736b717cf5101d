import Foundation
import Testing
@testable import PipelineMedia

/// Broken or wrong inputs: each must throw a `MediaError` naming the file, never crash.
@Suite struct BadInputTests {
    enum Decode: String, CaseIterable, Sendable {
        case image, audio, video
    }

    static func decode(_ kind: Decode, _ path: String) throws {
        switch kind {
        case .image: _ = try ImageDecoder.decode(path: path)
        case .audio: _ = try AudioDecoder.decode(path: path, options: .init(sampleRate: 16000, channels: 1))
        case .video:
            let d = try VideoDecoder(path: path, options: .init(width: 64, height: 64))
            while try d.next() != nil {}
        }
    }

    /// Asserts a MediaError whose description names the file; returns the error.
    @discardableResult
    static func expectError(_ kind: Decode, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> MediaError? {
        do {
            try decode(kind, path)
            Issue.record("\(kind) of \(path) did not fail", sourceLocation: sourceLocation)
            return nil
        } catch let e as MediaError {
            #expect(e.path == path, sourceLocation: sourceLocation)
            #expect(e.description.contains(path), sourceLocation: sourceLocation)
            return e
        } catch {
            Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func truncated(_ fx: Fixtures, _ name: String, fraction: Double) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: fx.p(name)))
        return try fx.write("trunc-\(name)", data.prefix(Int(Double(data.count) * fraction)))
    }

    @Test func missingFile() {
        let e = Self.expectError(.image, "/nonexistent/dir/photo.jpg")
        #expect(e == .fileNotFound(path: "/nonexistent/dir/photo.jpg"))
        Self.expectError(.audio, "/nonexistent/a.wav")
        Self.expectError(.video, "/nonexistent/v.mp4")
    }

    @Test func directory() throws {
        let fx = try Fixtures.get()
        let e = Self.expectError(.image, fx.dir)
        #expect(e == .notARegularFile(path: fx.dir))
    }

    @Test(arguments: ["empty.jpg", "empty.mp4", "empty.wav", "empty.flac"])
    func zeroBytes(name: String) throws {
        let fx = try Fixtures.get()
        let path = try fx.write(name, Data())
        let kind: Decode = name.hasSuffix(".jpg") ? .image : name.hasSuffix(".mp4") ? .video : .audio
        let e = Self.expectError(kind, path)
        if case .openFailed(_, _, let message)? = e { #expect(!message.isEmpty) }
    }

    @Test func textNamedJPEG() throws {
        let fx = try Fixtures.get()
        let path = try fx.write("notes.jpg", Data("This is not a picture, just some text.\n".utf8))
        let e = Self.expectError(.image, path)
        print("text.jpg:", e?.description ?? "-")
    }

    @Test func truncatedMP4() throws {
        let fx = try Fixtures.get()
        let path = try Self.truncated(fx, "video.mp4", fraction: 0.5)
        let e = Self.expectError(.video, path)
        print("truncated mp4:", e?.description ?? "-")
    }

    @Test func truncatedJPEG() throws {
        let fx = try Fixtures.get()
        let path = try Self.truncated(fx, "photo.jpg", fraction: 0.4)
        let e = Self.expectError(.image, path)
        print("truncated jpeg:", e?.description ?? "-")
    }

    @Test func truncatedFLAC() throws {
        let fx = try Fixtures.get()
        let path = try Self.truncated(fx, "audio.flac", fraction: 0.5)
        let e = Self.expectError(.audio, path)
        print("truncated flac:", e?.description ?? "-")
    }

    @Test func noVideoStream() throws {
        let fx = try Fixtures.get()
        let e = Self.expectError(.video, fx.p("audio.m4a"))
        #expect(e == .noStream(path: fx.p("audio.m4a"), kind: .video))
        let a = Self.expectError(.audio, fx.p("video.avi"))
        #expect(a == .noStream(path: fx.p("video.avi"), kind: .audio))
    }

    @Test func unsupportedCodec() throws {
        let fx = try Fixtures.get()
        var data = try Data(contentsOf: URL(fileURLWithPath: fx.p("stereo.wav")))
        // The fmt chunk follows the 12-byte RIFF header: its format tag is at offset 20.
        #expect(data[12..<16] == Data("fmt ".utf8))
        data[20] = 0x34
        data[21] = 0x12
        let path = try fx.write("unknown-codec.wav", data)
        let e = Self.expectError(.audio, path)
        print("unsupported codec:", e?.description ?? "-")
        if case .decoderNotFound? = e {} else { Issue.record("expected decoderNotFound, got \(String(describing: e))") }
    }

    @Test func badOptions() throws {
        let fx = try Fixtures.get()
        #expect(throws: MediaError.self) { try VideoDecoder(path: fx.p("video.mp4"), options: .init(sampling: .everyNth(0))) }
        #expect(throws: MediaError.self) { try AudioDecoder(path: fx.p("audio.flac"), options: .init(sampleRate: 0)) }
        let d = try AudioDecoder(path: fx.p("audio.flac"))
        #expect(throws: MediaError.self) { try AudioWindows(decoder: d, seconds: 1, overlap: 1) }
    }
}

