import Foundation
import Testing

/// The all-MiniLM-L6-v2 folder from scripts/fetch-models, or nil (with a recorded issue in CI,
/// which runs the setup script, so the real-weight tests never pass by skipping there).
func minilmFolder() -> String? {
    let path = modelFolder + "/all-MiniLM-L6-v2"
    if FileManager.default.fileExists(atPath: path + "/model.safetensors") { return path }
    if ProcessInfo.processInfo.environment["CI"] != nil {
        Issue.record("all-MiniLM-L6-v2 is missing from \(modelFolder): run scripts/fetch-models")
    }
    return nil
}

/// True when the real-weight MiniLM tests can run (or must, in CI).
let minilmAvailable = FileManager.default.fileExists(atPath: modelFolder + "/all-MiniLM-L6-v2/model.safetensors")
    || ProcessInfo.processInfo.environment["CI"] != nil

/// The golden files of scripts/encoder-reference/minilm-goldens.py.
enum MiniLMGolden {
    struct Tokens: Decodable {
        struct Sentence: Decodable {
            let text: String
            let ids: [Int32]
        }
        let max_length: Int
        let sentences: [Sentence]
    }
    struct Embeddings: Decodable {
        struct Sentence: Decodable {
            let text: String
            let embedding: [Float]
        }
        let sentences: [Sentence]
    }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/minilm/\(name).json")))
    }
}
