import Foundation
import Testing

/// `pipeline generate` as a subprocess, on SmolLM2 when scripts/fetch-models has fetched it.
@Suite("pipeline generate", .serialized)
struct GenerateCommandTests {
    static let models = ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path
    static var smol: String? {
        let path = models + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
    /// Whether the tests needing a model run: when it is there, and always in CI (where a
    /// missing model fails them); elsewhere they are reported as skipped.
    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil
    static let smolPresent = smol != nil || inCI
    static let gemmaPresent = gemma != nil || inCI

    @Test(.enabled(if: smolPresent)) func greedyCompletionOnStdoutTimingsOnStderr() throws {
        _ = try #require(Self.smol, "SmolLM2 is missing: run scripts/setup")
        let tmp = FileManager.default.temporaryDirectory.path
        let r = try CLI.run("generate", "--model", "SmolLM2", "--prompt", "The capital of France is", "--max-tokens", "4",
                            in: tmp, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        // llama.cpp's greedy continuation on this file starts " Paris.\n\n" (Golden/llama/smollm2.json).
        #expect(r.stdout == " Paris.\n\n\n", "\(r.stdout.debugDescription)")
        #expect(r.stderr.contains("tok/s decode"))
    }

    @Test("--threads and PIPELINE_THREADS bound the compute pools", .enabled(if: smolPresent))
    func threadsBoundThePools() throws {
        _ = try #require(Self.smol, "SmolLM2 is missing: run scripts/setup")
        let tmp = FileManager.default.temporaryDirectory.path
        let args = ["generate", "--model", "SmolLM2", "--prompt", "Hi", "--max-tokens", "2"]
        let flag = try CLI.Running(args + ["--threads", "1"], in: tmp).wait(timeout: 60)
        #expect(flag.status == 0 && flag.stderr.contains("; threads 1; isa "), "\(flag.stderr)")
        let env = try CLI.Running(args, in: tmp, environment: ["PIPELINE_THREADS": "1"]).wait(timeout: 60)
        #expect(env.status == 0 && env.stderr.contains("; threads 1; isa "), "\(env.stderr)")
        let zero = try CLI.run("generate", "--model", "SmolLM2", "--prompt", "Hi", "--threads", "0", in: tmp)
        #expect(zero.status != 0 && zero.stderr.contains("--threads must be at least 1"), "\(zero.stderr)")
    }

    @Test("--isa and PIPELINE_ISA choose the kernel path; the timing line names it", .enabled(if: smolPresent))
    func isaChoosesThePath() throws {
        _ = try #require(Self.smol, "SmolLM2 is missing: run scripts/setup")
        let tmp = FileManager.default.temporaryDirectory.path
        let args = ["generate", "--model", "SmolLM2", "--prompt", "Hi", "--max-tokens", "2"]
        let portable = try CLI.Running(args + ["--isa", "portable"], in: tmp).wait(timeout: 120)
        #expect(portable.status == 0 && portable.stderr.contains("; isa portable\n"), "\(portable.stderr)")
        let env = try CLI.Running(args, in: tmp, environment: ["PIPELINE_ISA": "portable"]).wait(timeout: 120)
        #expect(env.status == 0 && env.stderr.contains("; isa portable\n"), "\(env.stderr)")
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let has512 = flags.isSuperset(of: ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"])
        if flags.isSuperset(of: ["avx2", "fma", "f16c"]) {
            // The flag wins over the environment.
            let avx2 = try CLI.Running(args + ["--isa", "avx2"], in: tmp, environment: ["PIPELINE_ISA": "portable"]).wait(timeout: 60)
            #expect(avx2.status == 0 && avx2.stderr.contains("; isa avx2\n"), "\(avx2.stderr)")
            let auto = try CLI.Running(args + ["--isa", "auto"], in: tmp).wait(timeout: 60)
            #expect(auto.status == 0 && auto.stderr.contains(has512 ? "; isa avx512\n" : "; isa avx2\n"), "\(auto.stderr)")
        }
        // AVX-512: taken where the CPU has it, else refused, naming what is missing.
        let wide = try CLI.Running(args + ["--isa", "avx512"], in: tmp).wait(timeout: 60)
        if has512 {
            #expect(wide.status == 0 && wide.stderr.contains("; isa avx512\n"), "\(wide.stderr)")
            let env512 = try CLI.Running(args, in: tmp, environment: ["PIPELINE_ISA": "avx512"]).wait(timeout: 60)
            #expect(env512.status == 0 && env512.stderr.contains("; isa avx512\n"), "\(env512.stderr)")
        } else {
            #expect(wide.status != 0, "\(wide.stderr)")
            #expect(wide.stderr.contains("--isa avx512: this CPU lacks"), "\(wide.stderr)")
        }
        let bad = try CLI.run("generate", "--model", "SmolLM2", "--prompt", "Hi", "--isa", "fast", in: tmp)
        #expect(bad.status != 0 && bad.stderr.contains("--isa fast: unknown instruction set"), "\(bad.stderr)")
    }

    /// The reported crash (`Fatal error: failed to allocate 454729673056 bytes`): SmolLM2 with
    /// `llama.block_count` given a high byte is a one-line error and exit 1, not an abort.
    @Test("a GGUF with a corrupted block count is an error, not a crash", .enabled(if: smolPresent))
    func corruptedBlockCount() throws {
        let source = try #require(Self.smol, "SmolLM2 is missing: run scripts/setup")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bad-gguf-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let key = Data("llama.block_count".utf8)
        let at = try #require(bytes.range(of: key)).upperBound + 4  // past the key and its type (u32)
        bytes[at + 3] = 0x40  // 30 becomes 1,073,741,854
        try bytes.write(to: URL(fileURLWithPath: dir + "/bad.gguf"))
        let r = try CLI.run("generate", "--model", dir + "/bad.gguf", "--prompt", "Hi", in: dir, timeout: 60)
        #expect(r.status == 1, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("llama.block_count") && r.stderr.contains("1073741854"), "\(r.stderr)")
    }

    @Test(.enabled(if: smolPresent)) func chatUsesTheTemplateAndSeedRepeats() throws {
        _ = try #require(Self.smol, "SmolLM2 is missing: run scripts/setup")
        let tmp = FileManager.default.temporaryDirectory.path
        let args = ["generate", "--model", "SmolLM2", "--chat", "--prompt", "Say hi.", "--max-tokens", "12",
                    "--temperature", "0.9", "--top-p", "0.95", "--seed", "42"]
        let a = try CLI.Running(args, in: tmp).wait(timeout: 60)
        let b = try CLI.Running(args, in: tmp).wait(timeout: 60)
        #expect(a.status == 0 && !a.stdout.isEmpty, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
    }

    @Test func badArgumentsExitNonZeroWithAReason() throws {
        let tmp = FileManager.default.temporaryDirectory.path
        let missing = try CLI.run("generate", "--model", "no-such-model", "--prompt", "x", in: tmp)
        #expect(missing.status == 1 && missing.stderr.contains("no model 'no-such-model'"), "\(missing.stderr)")
        let badTemp = try CLI.run("generate", "--model", "SmolLM2", "--prompt", "x", "--temperature", "-2", in: tmp)
        #expect(badTemp.status != 0 && badTemp.stderr.contains("temperature"), "\(badTemp.stderr)")
        let notGGUF = tmp + "/not-a-model-\(UUID()).gguf"
        FileManager.default.createFile(atPath: notGGUF, contents: Data("hello".utf8))
        defer { try? FileManager.default.removeItem(atPath: notGGUF) }
        let garbage = try CLI.run("generate", "--model", notGGUF, "--prompt", "x", in: tmp)
        #expect(garbage.status == 1 && garbage.stderr.contains(notGGUF), "\(garbage.stderr)")
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        // A minimal GGUF v3 file: no tensors, one key (general.architecture = "mamba").
        var bytes: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
        u32(0x4655_4747); u32(3); u64(0); u64(1)
        string("general.architecture"); u32(8); string("mamba")
        let tmp = FileManager.default.temporaryDirectory.path
        let path = tmp + "/mamba-\(UUID()).gguf"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run("generate", "--model", path, "--prompt", "x", in: tmp)
        #expect(r.status == 1 && r.stderr.contains("architecture 'mamba' is not supported (supported: gemma3, llama)"), "\(r.stderr)")
    }

    static var gemma: String? {
        let path = models + "/gemma-3-270m-q4_k_m.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Gemma 3 (SentencePiece tokenizer, BOS added as its metadata asks): the greedy completion
    /// is llama.cpp's (Golden/llama/gemma3.json), and --chat is refused: the file has no template.
    @Test(.enabled(if: gemmaPresent)) func gemmaGreedyMatchesLlamaCppAndChatIsRefused() throws {
        _ = try #require(Self.gemma, "Gemma 3 is missing: run scripts/setup")
        let tmp = FileManager.default.temporaryDirectory.path
        let r = try CLI.run("generate", "--model", "gemma-3", "--prompt", "The capital of France is", "--max-tokens", "8",
                            in: tmp, timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == " the capital of the country of France.\n", "\(r.stdout.debugDescription)")
        let chat = try CLI.run("generate", "--model", "gemma-3", "--chat", "--prompt", "Hi", in: tmp, timeout: 120)
        #expect(chat.status == 1 && chat.stderr.contains("has no chat template"), "\(chat.stderr)")
    }
}
