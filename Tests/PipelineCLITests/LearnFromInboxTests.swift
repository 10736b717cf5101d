import Foundation
import PipelineNodes
import Testing

/// pipelines/learn-from-inbox.yaml under `pipeline watch`, on the real encoders, with the bad
/// inputs the issue names: a folder that is not a class name, a corrupt image, a 0.1 s audio
/// clip, and classes with one example. Each is a defined result or a per-item error, and the
/// heads keep answering.
@Suite("learn-from-inbox", .serialized)
struct LearnFromInboxTests {
    static let models = ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path
    /// Runs when the encoders are there, and always in CI (where missing models fail it).
    static let modelsPresent = ["efficientnet-lite0/model.safetensors", "whisper-tiny.en/model.bin"].allSatisfy {
        FileManager.default.fileExists(atPath: models + "/" + $0)
    } || ProcessInfo.processInfo.environment["CI"] != nil

    static let pipeline = CLI.repository + "/pipelines/learn-from-inbox.yaml"

    static func parseJSON(_ line: some StringProtocol) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// A 16 kHz mono 16-bit WAV of `seconds` of a 440 Hz tone.
    static func wav(seconds: Double) -> Data {
        let n = Int(16000 * seconds)
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + 2 * n)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(2 * n))
        for i in 0..<n { u16(UInt16(bitPattern: Int16(8000 * sin(2 * Double.pi * 440 * Double(i) / 16000)))) }
        return d
    }

    @Test("bad examples fail alone; one-example classes, a 0.1 s clip and queries work", .enabled(if: modelsPresent))
    func badInput() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("learn-inbox-\(UUID())").path
        let inbox = root + "/inbox"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for dir in ["landscape", "portrait", "bad*name", "chirp", "beep"] {
            try fm.createDirectory(atPath: inbox + "/" + dir, withIntermediateDirectories: true)
        }
        let media = CLI.repository + "/pipelines/samples/media/"
        try fm.copyItem(atPath: media + "photo-landscape.jpg", toPath: inbox + "/landscape/one.jpg")
        try fm.copyItem(atPath: media + "photo-portrait.jpg", toPath: inbox + "/portrait/one.jpg")
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: inbox + "/landscape/broken.jpg"))
        try fm.copyItem(atPath: media + "badge.png", toPath: inbox + "/bad*name/x.png")
        try fm.copyItem(atPath: media + "chirp.flac", toPath: inbox + "/chirp/one.flac")
        try Self.wav(seconds: 0.1).write(to: URL(fileURLWithPath: inbox + "/beep/short.wav"))
        // Queries: straight in inbox/.
        try fm.copyItem(atPath: media + "photo-portrait.jpg", toPath: inbox + "/which.jpg")
        try fm.copyItem(atPath: media + "chirp.flac", toPath: inbox + "/which.flac")
        try Self.wav(seconds: 0.1).write(to: URL(fileURLWithPath: inbox + "/beep.wav"))

        let run = try CLI.Running(
            ["watch", Self.pipeline, "--set", "inbox=\(inbox)", "--set", "out=\(root)/out", "--set", "once=true"],
            in: root
        ).wait(timeout: 600)
        #expect(run.status == 1, "failed items make watch exit 1: \(run.stderr)")
        let status = try CLI.run(
            "watch", Self.pipeline, "--set", "inbox=\(inbox)", "--status", in: root)
        #expect(status.stdout.contains("done: 7"), "\(status.stdout)")
        #expect(status.stdout.contains("failed: 2"), "\(status.stdout)")
        #expect(status.stdout.contains("landscape/broken.jpg"), "\(status.stdout)")
        #expect(status.stdout.contains("folder 'bad*name' is not a class name"), "\(status.stdout)")

        // The image head learned two one-example classes; the query is the portrait.
        let images = try String(contentsOfFile: root + "/out/image-predictions.jsonl", encoding: .utf8)
        let imageRecords = images.split(separator: "\n").compactMap { Self.parseJSON($0) }
        #expect(imageRecords.filter { $0["learned"] as? Bool == true }.count == 2)
        let which = try #require(imageRecords.first { ($0["item"] as? String)?.hasSuffix("/which.jpg") == true }, "\(images)")
        // Ordering between the query and the examples depends on arrival; once both classes
        // are in, the query's answer is the portrait (it is a copy of its only example: distance 0).
        if which["classes"] as? Int == 2 { #expect(which["class"] as? String == "portrait", "\(which)") }
        let state = try PrototypeExample.decode(
            [UInt8](Data(contentsOf: URL(fileURLWithPath: inbox + "/.pipeline/image-head.state"))), path: "image-head.state")
        #expect(Set(state.examples.map(\.label)) == ["landscape", "portrait"])
        #expect(state.examples.allSatisfy { $0.features.count == 1280 })

        // The audio head: a 5 s chirp and a 0.1 s beep, each a class of one; 384-d features.
        let audio = try PrototypeExample.decode(
            [UInt8](Data(contentsOf: URL(fileURLWithPath: inbox + "/.pipeline/audio-head.state"))), path: "audio-head.state")
        #expect(Set(audio.examples.map(\.label)) == ["chirp", "beep"])
        #expect(audio.examples.allSatisfy { $0.features.count == 384 && $0.features.allSatisfy(\.isFinite) })

        // Run again over the same folder: nothing is learned twice; a new query sees both classes.
        try fm.copyItem(atPath: media + "chirp.flac", toPath: inbox + "/again.flac")
        try fm.copyItem(atPath: media + "photo-landscape.jpg", toPath: inbox + "/again.jpg")
        let again = try CLI.Running(
            ["watch", Self.pipeline, "--set", "inbox=\(inbox)", "--set", "out=\(root)/out", "--set", "once=true"],
            in: root
        ).wait(timeout: 600)
        #expect(again.status == 0, "\(again.stderr)")
        let after = try String(contentsOfFile: root + "/out/audio-predictions.jsonl", encoding: .utf8)
            .split(separator: "\n").compactMap { Self.parseJSON($0) }
        let chirp = try #require(after.first { ($0["item"] as? String)?.hasSuffix("/again.flac") == true })
        #expect(chirp["class"] as? String == "chirp", "\(chirp)")
        #expect(chirp["examples"] as? Int == 2)
        let imagesAfter = try String(contentsOfFile: root + "/out/image-predictions.jsonl", encoding: .utf8)
            .split(separator: "\n").compactMap { Self.parseJSON($0) }
        let landscape = try #require(imagesAfter.first { ($0["item"] as? String)?.hasSuffix("/again.jpg") == true })
        #expect(landscape["class"] as? String == "landscape", "\(landscape)")
        #expect(try PrototypeExample.decode(
            [UInt8](Data(contentsOf: URL(fileURLWithPath: inbox + "/.pipeline/image-head.state"))), path: "s").examples.count == 2)
    }
}
