import Foundation
import Testing

/// The committed fuzz seeds (Tests/FuzzCorpus, from scripts/fuzz-seeds.py) replayed through
/// every fuzz target by the plain build of `pipeline-fuzz`: each parser takes its corpus
/// without a crash, so CI checks the targets build and run even where libFuzzer does not.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let targets = ["gguf", "safetensors", "ct2", "yaml", "chat-template", "tokenizer-json", "media-probe"]

    @Test("every seed of every target runs through its parser", arguments: targets)
    func replay(_ target: String) throws {
        let pipeline = try #require(CLI.binary, "no pipeline binary: build it")
        let fuzz = (pipeline as NSString).deletingLastPathComponent + "/pipeline-fuzz"
        #expect(FileManager.default.isExecutableFile(atPath: fuzz), "no \(fuzz): swift build --product pipeline-fuzz")
        let corpus = CLI.repository + "/Tests/FuzzCorpus/" + target
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus)
        #expect(!seeds.isEmpty)
        let (status, text) = try CLI.capture(fuzz, [target, corpus])
        #expect(status == 0, "\(text)")
        #expect(text.contains("\(target): \(seeds.count) inputs, no crash"), "\(text)")
    }
}
