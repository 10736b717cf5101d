import PipelineTensor
import Testing

@testable import PipelineModels

@Suite("Sampling and streaming text")
struct SamplerTests {
    static let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 2.9, 0.0]

    @Test func greedyIsArgmax() {
        var s = Sampler(SamplingOptions())
        #expect(s.next(Self.logits, history: []) == 1)
        #expect(Sampler.argmax([0, 5, 5, 1]) == 1)  // lowest id on ties
    }

    /// The vectorized argmax (pl_argmax) against the plain loop it replaced, on both kernel
    /// paths: ties, signed zeros, NaNs (never chosen; one at 0 stays), infinities, tails.
    @Test func argmaxEqualsThePlainLoop() {
        func loop(_ x: [Float]) -> Int {
            var best = 0
            for i in x.indices where x[i] > x[best] { best = i }
            return best
        }
        var cases: [[Float]] = [[], [1], [.nan], [.nan, 3, 2], [1, .nan, 3, .nan], [-0.0, 0.0, 0], [0, -0.0],
                                [-.infinity, -.infinity], [-.infinity, .nan, -.infinity], [2, .infinity, .infinity, 1],
                                [.nan, .nan, .nan, .nan, .nan, .nan, .nan, .nan, .nan]]
        for n in [7, 8, 9, 31, 262_144] {
            var x = (0..<n).map { Float(($0 * 7919) % 1_009) / 17 - 30 }
            cases.append(x)
            x[n / 2] = .nan
            x[n - 1] = x.max()!  // a tie at the end, after the first maximum
            cases.append(x)
        }
        for x in cases {
            let expected = loop(x)
            #expect(Sampler.argmax(x) == expected, "\(x.prefix(12))")
            #expect(QuantizedDot.withPortableKernels { Sampler.argmax(x) } == expected, "\(x.prefix(12)), portable")
        }
    }

    @Test func seedRepeatsAndDiffers() {
        func draw(_ seed: UInt64) -> [Int] {
            var s = Sampler(SamplingOptions(temperature: 1.5, seed: seed))
            return (0..<200).map { _ in s.next(Self.logits, history: []) }
        }
        #expect(draw(7) == draw(7))
        #expect(draw(7) != draw(8))
        // Every token with a real chance shows up at a high temperature.
        #expect(Set(draw(7)).isSuperset(of: [0, 1, 2, 4]))
    }

    @Test func filtersNarrowTheChoice() {
        var topK = Sampler(SamplingOptions(temperature: 2, topK: 2, seed: 1))
        #expect(Set((0..<300).map { _ in topK.next(Self.logits, history: []) }) == [1, 4])
        var topP = Sampler(SamplingOptions(temperature: 1, topP: 0.01, seed: 1))
        #expect(Set((0..<100).map { _ in topP.next(Self.logits, history: []) }) == [1])
        // min_p 0.8: only tokens within 80% of the top probability (3.0 and 2.9 at T=1).
        var minP = Sampler(SamplingOptions(temperature: 1, minP: 0.8, seed: 1))
        #expect(Set((0..<300).map { _ in minP.next(Self.logits, history: []) }) == [1, 4])
    }

    @Test func repetitionPenaltyMovesGreedy() {
        var s = Sampler(SamplingOptions(repetitionPenalty: 1.5))
        #expect(s.next(Self.logits, history: [1]) == 4)  // 3.0 / 1.5 = 2.0 < 2.9
        #expect(s.next(Self.logits, history: [1, 4]) == 2)
    }

    @Test("bad options are named", arguments: [
        (SamplingOptions(temperature: -1), "temperature"), (SamplingOptions(topK: -2), "top_k"),
        (SamplingOptions(topP: 0), "top_p"), (SamplingOptions(minP: 1), "min_p"),
        (SamplingOptions(repetitionPenalty: 0), "repeat_penalty"),
    ])
    func problems(_ options: SamplingOptions, _ name: String) {
        #expect(options.problem?.hasPrefix(name) == true)
    }

    @Test func utf8StreamHoldsSplitCharacters() {
        var s = UTF8Stream()
        let bytes = Array("a😀é日".utf8)
        var text = ""
        for b in bytes { text += s.push([b]) }
        text += s.finish()
        #expect(text == "a😀é日")
        var t = UTF8Stream()
        #expect(t.push([0x61, 0xF0, 0x9F]) == "a")
        #expect(t.push([0x98]) == "")
        #expect(t.push([0x80, 0x62]) == "😀b")
        #expect(t.push([0xE6]) == "")
        #expect(t.finish() == "\u{FFFD}")
    }

    @Test func stopStringHelpers() {
        #expect(LoadedModel.stopMatch(in: "hello\nUser: x", stops: ["User:", "\n\n"]) == 6)
        #expect(LoadedModel.stopMatch(in: "hello", stops: ["User:"]) == nil)
        #expect(LoadedModel.heldBack("hello Us", stops: ["User:"]) == 2)
        #expect(LoadedModel.heldBack("hello", stops: ["User:"]) == 0)
    }
}
