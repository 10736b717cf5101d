import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import PipelineNodes

#if canImport(Glibc)
import Glibc
#endif

/// The parsers of untrusted bytes, each as a function of one input: what `scripts/fuzz`
/// drives with libFuzzer and what a plain build replays over files. A thrown error is a
/// correct answer; a trap, a hang or an allocation past libFuzzer's limit is a finding.
///
/// Readers that map a path (GGUF, safetensors, CTranslate2, FFmpeg) get the input as a file
/// on /dev/shm, rewritten for each input.
enum FuzzTargets {
    static let names = ["gguf", "safetensors", "ct2", "yaml", "chat-template", "tokenizer-json", "media-probe"]

    /// FFmpeg kept quiet: its warnings about broken inputs are expected by the thousand.
    static let quiet: Void = FFmpegLog.setLevel(.quiet)

    static func run(_ name: String, _ data: Data) {
        _ = quiet
        switch name {
        case "gguf": gguf(data)
        case "safetensors": safetensors(data)
        case "ct2": ct2(data)
        case "yaml": yaml(data)
        case "chat-template": chatTemplate(data)
        case "tokenizer-json": tokenizerJSON(data)
        case "media-probe": mediaProbe(data)
        default:
            FileHandle.standardError.write(Data("unknown fuzz target '\(name)' (known: \(names.joined(separator: ", ")))\n".utf8))
            exit(2)
        }
    }

    /// A folder of this process's own on tmpfs (disk otherwise) for inputs that must be files.
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/pipeline-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes the input to `name` in `folder` and returns its path.
    static func file(_ data: Data, _ name: String) -> String {
        let path = folder + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// The whole load `pipeline generate` does: header, architecture, weights, tokenizer, template.
    static func gguf(_ data: Data) {
        let path = file(data, "input.gguf")
        guard let loaded = try? LoadedModel(path: path) else { return }
        _ = loaded.tokenizer.encode("Hi <|im_start|> there", parseSpecial: true, addSpecial: true)
        _ = try? loaded.chatTemplate?.render([ChatMessage(role: "user", content: "Hi")])
    }

    /// Header, then every tensor converted as a model load would.
    static func safetensors(_ data: Data) {
        let path = file(data, "input.safetensors")
        guard let file = try? SafetensorsFile(path: path) else { return }
        for (name, info) in file.tensors {
            _ = try? file.floats(name, shape: info.shape)
            _ = try? file.int64s(name, shape: info.shape)
        }
    }

    /// Variables and aliases, then every float variable converted.
    static func ct2(_ data: Data) {
        let path = file(data, "model.bin")
        guard let file = try? CT2File(path: path) else { return }
        for (name, variable) in file.variables {
            _ = try? file.floats(name, shape: variable.shape)
            _ = file.integer(name)
        }
    }

    static let loader = PipelineLoader(registry: NodeRegistry(BuiltinNodes.all))

    /// Parse, parameters, options, bindings and graph checks of a pipeline file.
    static func yaml(_ data: Data) {
        _ = try? loader.load(text: String(decoding: data, as: UTF8.self), file: "fuzz.yaml", overrides: [])
    }

    /// Parse and render with a small conversation.
    static func chatTemplate(_ data: Data) {
        guard let template = try? ChatTemplate(String(decoding: data, as: UTF8.self), bosToken: "<s>", eosToken: "</s>")
        else { return }
        _ = try? template.render([
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "Bye"),
        ])
    }

    /// A WordPiece folder whose `tokenizer.json` is the input (the vocabulary is fixed).
    static let tokenizerFolder: String = {
        let dir = folder + "/tokenizer"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "a", "##b", "."]
        _ = FileManager.default.createFile(atPath: dir + "/vocab.txt", contents: Data((vocab.joined(separator: "\n") + "\n").utf8))
        return dir
    }()

    static func tokenizerJSON(_ data: Data) {
        _ = FileManager.default.createFile(atPath: tokenizerFolder + "/tokenizer.json", contents: data)
        guard let tokenizer = try? WordPieceTokenizer(folder: tokenizerFolder) else { return }
        _ = tokenizer.encodeBatch(["hello worlds", "ab. a", String(repeating: "x", count: 300)])
    }

    /// What every media node does first: open, find the streams, read a few packets.
    static func mediaProbe(_ data: Data) {
        let path = file(data, "input.media")
        guard let demuxer = try? Demuxer(path: path) else { return }
        _ = demuxer.formatName
        _ = demuxer.duration
        _ = try? demuxer.bestStream(.video)
        _ = try? demuxer.bestStream(.audio)
        let packet = PipelineMedia.Packet()
        for _ in 0..<16 where demuxer.read(into: packet) >= 0 {}
    }
}
