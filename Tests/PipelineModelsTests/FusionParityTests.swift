import Foundation
import Testing

@testable import PipelineModels

/// The fusion connectors against PyTorch on random weights (Golden/fusion, written by
/// scripts/fusion/fusion-goldens.py with scripts/fusion/fusion_common.py's modules in float64):
/// several sizes, gates on and off, token counts that are primes.
@Suite("Fusion connectors")
struct FusionParityTests {
    static var folder: String { goldenFolder + "/fusion" }
    static let projectors = ["projector-small", "projector-odd", "projector-lite0", "projector-positions"]
    static let resamplers = ["resampler-plain", "resampler-gated", "resampler-one-query", "resampler-lite0", "resampler-positions"]

    /// A golden's tokens and expected output.
    static func io(_ name: String) throws -> (tokens: [Float], count: Int, expected: [Float], rows: Int) {
        let file = try SafetensorsFile(path: folder + "/\(name).io.safetensors")
        let t = try #require(file.tensors["tokens"]), e = try #require(file.tensors["expected"])
        return (try file.floats("tokens", shape: t.shape), t.shape[0], try file.floats("expected", shape: e.shape), e.shape[0])
    }

    static func check(_ connector: any FusionConnector, _ name: String) throws {
        let g = try io(name)
        let out = try connector(g.tokens, count: g.count)
        #expect(connector.outputCount(tokens: g.count) == g.rows)
        #expect(out.count == g.expected.count)
        let diff = maxDifference(out, g.expected)
        print("fusion parity \(name): max |ours − PyTorch| = \(diff)")
        #expect(diff <= 1e-4, "\(name): max |ours − PyTorch| = \(diff)")
    }

    @Test("fusion.projector matches PyTorch within 1e-4", arguments: projectors)
    func projector(_ name: String) throws {
        try Self.check(try FusionProjector(path: Self.folder + "/\(name).safetensors"), name)
    }

    @Test("fusion.resampler matches PyTorch within 1e-4", arguments: resamplers)
    func resampler(_ name: String) throws {
        let r = try FusionResampler(path: Self.folder + "/\(name).safetensors")
        #expect(r.gated == (name == "resampler-gated" || name == "resampler-one-query" || name == "resampler-positions"))
        #expect(r.positions == (name == "resampler-positions" ? 31 : 0))
        try Self.check(r, name)
    }

    @Test("the resampler gives as many vectors as it has queries, whatever the token count")
    func fixedLength() throws {
        let r = try FusionResampler(path: Self.folder + "/resampler-gated.safetensors")
        for count in [1, 2, 97] {
            let out = try r((0..<count * r.inputWidth).map { Float($0 % 13) / 7 - 0.8 }, count: count)
            #expect(out.count == r.queryCount * r.outputWidth && out.allSatisfy(\.isFinite))
        }
    }

    @Test("tokens of the wrong width, no tokens, and widths that do not match a model are errors naming both shapes")
    func badShapes() throws {
        let p = try FusionProjector(path: Self.folder + "/projector-odd.safetensors")
        let error = try #require(throws: FusionError.self) { try p([Float](repeating: 0, count: 13 * 36), count: 13) }
        #expect(error.description.contains("[29, 37]") && error.description.contains("[13, 36]"))
        #expect(throws: FusionError.self) { try p([], count: 0) }
        let width = try #require(p.widthProblem(model: "SmolLM2", width: 576))
        #expect(width.description.contains("[29, 29]") && width.description.contains("[576]"))
        #expect(p.widthProblem(model: "x", width: 29) == nil)
        #expect(p.tokenProblem(source: "EfficientNet", width: 1280)?.description.contains("1280") == true)
    }

    @Test("a projector with learned positions takes exactly that many tokens; another count is an error naming both")
    func positionCount() throws {
        let p = try FusionProjector(path: Self.folder + "/projector-positions.safetensors")
        #expect(p.positions == 13)
        let error = try #require(throws: FusionError.self) { try p([Float](repeating: 0, count: 12 * 37), count: 12) }
        #expect(error.description.contains("13 tokens") && error.description.contains("12 tokens"))
        #expect(try FusionProjector(path: Self.folder + "/projector-odd.safetensors").positions == 0)
    }

    @Test("a resampler with learned positions takes exactly that many tokens; another count is an error naming both")
    func resamplerPositionCount() throws {
        let r = try FusionResampler(path: Self.folder + "/resampler-positions.safetensors")
        let error = try #require(throws: FusionError.self) { try r([Float](repeating: 0, count: 30 * 40), count: 30) }
        #expect(error.description.contains("31 tokens") && error.description.contains("30 tokens"))
    }

    @Test("a resampler file read as a projector (and the reverse) is a clear error")
    func wrongKind() throws {
        let a = try #require(throws: FusionError.self) { try FusionProjector(path: Self.folder + "/resampler-plain.safetensors") }
        #expect(a.description.contains("fc1.weight"))
        let b = try #require(throws: FusionError.self) { try FusionResampler(path: Self.folder + "/projector-small.safetensors") }
        #expect(b.description.contains("queries"))
        #expect(throws: FusionError.self) { try FusionResampler(path: Self.folder + "/resampler-plain.safetensors", heads: 3) }
    }
}
