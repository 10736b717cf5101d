import Foundation
import PipelineTensor
import Testing

@testable import PipelineModels

/// Our dequantization of real tensors against gguf-py's on the same bytes (golden rows from
/// scripts/llm-reference/dequant-rows.py).
@Suite("Dequantization of real tensors",
       .enabled(if: modelPresent(smolLM2File) && modelPresent(gemma3File)))
struct DequantizeRealTests {
    @Test("matches gguf-py", arguments: [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2", "blk.0.attn_q.weight"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2", "token_embd.weight"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2", "blk.0.attn_norm.weight"),
        ("gemma-3-270m-q4_k_m.gguf", "gemma3", "blk.0.attn_k.weight"),
        ("gemma-3-270m-q4_k_m.gguf", "gemma3", "blk.0.attn_output.weight"),
        ("gemma-3-270m-q4_k_m.gguf", "gemma3", "blk.0.ffn_down.weight"),
    ])
    func rows(file: String, folder: String, tensor: String) throws {
        let path = try #require(model(file))
        let gguf = try GGUFFile(path: path)
        let info = try #require(gguf.tensor(named: tensor))
        let golden = goldenFolder + "/dequant/\(folder)/\(tensor).\(info.type).f32"
        let expected = try Data(contentsOf: URL(fileURLWithPath: golden)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let rows = expected.count / info.rowLength
        #expect(rows >= 1)
        let data = gguf.data(of: info)
        for r in 0..<rows {
            let ours = try Dequantize.row(info.type, data.baseAddress! + r * info.rowBytes, count: info.rowLength)
            let theirs = expected[(r * info.rowLength)..<((r + 1) * info.rowLength)]
            // Both sides compute d * q (+ m) in float32 from the same halves: equal to the bit
            // except where numpy fuses differently, so allow one float32 ulp of the value.
            for (a, b) in zip(ours, theirs) {
                #expect(abs(a - b) <= max(abs(b), 1e-30) * 2e-7, "\(tensor) row \(r): \(a) vs \(b)")
            }
        }
    }
}
