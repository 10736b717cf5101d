import CustomNodes
import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

/// Mutation fuzzing of the loader: valid pipelines are damaged at random (seeded, so every
/// failure is repeatable) and each result must either load or be rejected with located
/// diagnostics — never crash, hang, or throw anything but `ValidationFailure`.
///
/// CI runs 1000 mutations. Run more locally with
/// `FUZZ_MUTATIONS=100000 swift test --filter ValidationFuzz`; `FUZZ_SEED=N` picks another
/// seed (the default is fixed). A failure prints the seed, case number and mutated text, and
/// with `FUZZ_DUMP=DIR` also writes the text to `DIR/fuzz-SEED-CASE.yaml` byte for byte.
enum Fuzz {
    static let mutations = ProcessInfo.processInfo.environment["FUZZ_MUTATIONS"].flatMap(Int.init) ?? 1000
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_122

    static let registry = NodeRegistry(BuiltinNodes.all, CustomNodes.all)

    /// Hand-written valid pipelines covering every part of the file format.
    static let seeds: [String] = [
        """
        version: 1
        name: chain
        params:
          n: 5
          out: out/numbers.jsonl
        settings: { watchdog_seconds: 10, watchdog_action: warn }
        nodes:
          - id: src
            type: gen.sequence
            with: { count: "${n}", start: 1, step: 2, prefix: "n-" }
          - id: slow
            type: util.delay
            inputs: { in: src }
            concurrency: 4
            ordered: false
            on_error: fail
            queue: { capacity: 8, policy: drop-oldest }
            with: { ms: 1.5 }
          - id: out
            type: sink.jsonl
            inputs: { record: slow.out }
            with: { path: "${out}", envelope: false }
        """,
        """
        # Text files: read, split, template, save.
        version: 1
        params: { dir: docs, pattern: "*.md" }
        nodes:
          - id: files
            type: source.folder
            with:
              dir: ${dir}
              recursive: true
              extensions: [md, txt]
              pattern: ${pattern}
              limit: 10
          - id: read
            type: text.read
            inputs: { path: files.path }
            with: { max_bytes: 100000, invalid_utf8: replace }
          - id: lines
            type: text.split
            inputs: { text: read.text }
            with: { by: paragraphs, skip_empty: true }
          - id: label
            type: text.template
            inputs: { record: lines.text }
            with: { template: "{item}#{sequence}: {value}", missing: empty }
          - id: save
            type: sink.files
            inputs: { value: label.text }
            with: { dir: "out/${dir}", name: "{stem}-{seq}.txt", overwrite: false }
        """,
        """
        version: 1
        description: fan-out and join
        nodes: [
          { id: src, type: source.files, with: { paths: ["a.txt", "b/**/*.txt"], missing: skip } },
          { id: info, type: file.info, inputs: { path: src.path } },
          { id: size, type: json.get, inputs: { record: info.record }, with: { path: size, default: 0 } },
          { id: both, type: json.merge, inputs: { a: info.record, b: size.value }, with: { keys: [info, size] } },
          { id: out, type: sink.jsonl, inputs: { record: both.record }, with: { path: out/x.jsonl, append: true } }
        ]
        """,
        """
        version: 1
        name: 'quoted "names"'
        nodes:
          - id: words
            type: source.files
            with:
              paths:
                - "notes/a b.txt"
                - 'notes/c.txt'
          - id: text
            type: text.read
            inputs:
              path: words.path
          - id: count
            type: example.word_count
            inputs: { text: text }
            with: { min_length: 3 }
          - id: pass
            type: util.identity
            inputs: { in: count.record }
          - id: out
            type: sink.jsonl
            inputs: { record: pass.out }
            with: { path: out/counts.jsonl }
        """,
    ]

    /// The seeds plus every example in `pipelines/`.
    static let corpus: [String] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("pipelines").path
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        return seeds + files.compactMap { try? String(contentsOfFile: root + "/" + $0, encoding: .utf8) }
    }()

    static let fragments = [
        ":", "-", "- ", "{", "}", "[", "]", "\t", "\"", "'", ",", "&a ", "*a", "#", "${", "}", "$", "|", ">", "!", "%",
        "@", "`", "?", " ", "\n", "\n  ", "é", "\u{1F600}", "\u{0}", "\u{7}", "\r", "x", "0", "...", "---",
    ]
    static let scalars = [
        "[]", "{}", "null", "~", "-1", "0", "1e309", ".nan", "true", "\"text\"", "''", "*a", "&a 1", "${nope}", "${",
        "99999999999999999999", "0x1F", "[1, [2, {a: b}]]", "{ capacity: 0 }", "src.path", "a.b.c", "|\n  block",
    ]
    static let keys = PipelineLoader.topLevelKeys + PipelineLoader.nodeKeys + ["with", "paths", "count", "capacity", "policy", "x", ""]

    /// Applies one random mutation.
    static func mutate(_ text: String, _ rng: inout SplitMix) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func pick(_ count: Int) -> Int { count == 0 ? 0 : Int(rng.next() % UInt64(count)) }
        let i = pick(lines.count), j = pick(lines.count)
        switch rng.next() % 9 {
        case 0:  // delete a line
            if !lines.isEmpty { lines.remove(at: i) }
        case 1:  // duplicate a line
            if !lines.isEmpty { lines.insert(lines[i], at: j) }
        case 2:  // swap two lines
            if !lines.isEmpty { lines.swapAt(i, j) }
        case 3:  // insert a fragment anywhere
            var chars = Array(text.unicodeScalars)
            let at = pick(chars.count + 1)
            chars.insert(contentsOf: fragments[pick(fragments.count)].unicodeScalars, at: at)
            var s = String.UnicodeScalarView()
            s.append(contentsOf: chars)
            return String(s)
        case 4:  // change indentation
            guard !lines.isEmpty else { break }
            let delta = Int(rng.next() % 7) - 3
            if delta > 0 {
                lines[i] = String(repeating: " ", count: delta) + lines[i]
            } else {
                lines[i] = String(lines[i].dropFirst(min(-delta, lines[i].prefix { $0 == " " }.count)))
            }
        case 5:  // truncate
            return String(text.prefix(pick(text.count + 1)))
        case 6, 7:  // replace a value with one of another type
            guard !lines.isEmpty else { break }
            let line = lines[i]
            if let colon = line.firstIndex(of: ":") {
                lines[i] = line[...colon] + " " + scalars[pick(scalars.count)]
            } else {
                lines[i] += " " + scalars[pick(scalars.count)]
            }
        default:  // rename a key
            guard !lines.isEmpty, let colon = lines[i].firstIndex(of: ":") else { break }
            let line = lines[i]
            let indent = line.prefix { $0 == " " || $0 == "-" }
            lines[i] = indent + keys[pick(keys.count)] + line[colon...]
        }
        return lines.joined(separator: "\n")
    }

    enum Outcome: Equatable {
        case loaded
        case rejected
        case problem(String)
    }

    /// Loads the text; anything but success or located diagnostics is a problem.
    static func check(_ text: String) -> Outcome {
        do {
            _ = try PipelineLoader(registry: registry).load(text: text, file: "fuzz.yaml")
            return .loaded
        } catch let failure as ValidationFailure {
            if failure.diagnostics.isEmpty { return .problem("ValidationFailure with no diagnostics") }
            // libyaml may point one line past the end (end of stream), never further. It ends
            // lines at CR, LF, CRLF, NEL, LS and PS.
            let lineCount = 1 + text.count { ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }
            for d in failure.diagnostics {
                if d.location.line < 1 || d.location.column < 1 { return .problem("unlocated diagnostic: \(d)") }
                if d.location.line > lineCount + 1 { return .problem("diagnostic past the end of the text: \(d)") }
                if d.message.isEmpty { return .problem("empty message at \(d.location)") }
                if d.location.file != "fuzz.yaml" { return .problem("diagnostic names another file: \(d)") }
            }
            return .rejected
        } catch {
            return .problem("threw \(type(of: error)), not ValidationFailure: \(error)")
        }
    }
}

@Suite("Validation fuzz")
struct ValidationFuzzTests {
    @Test("every seed pipeline is valid")
    func seedsLoad() throws {
        #expect(Fuzz.corpus.count >= 4)
        for text in Fuzz.corpus {
            #expect(throws: Never.self) { try PipelineLoader(registry: Fuzz.registry).load(text: text, file: "seed.yaml") }
        }
    }

    @Test("mutated pipelines load or fail with located diagnostics", .timeLimit(.minutes(5)))
    func mutations() {
        var rng = SplitMix(seed: Fuzz.seed)
        var rejected = 0
        var failures = 0
        let start = Date()
        for n in 0..<Fuzz.mutations {
            var text = Fuzz.corpus[Int(rng.next() % UInt64(Fuzz.corpus.count))]
            for _ in 0...(rng.next() % 3) { text = Fuzz.mutate(text, &rng) }
            let caseStart = Date()
            switch Fuzz.check(text) {
            case .loaded: break
            case .rejected: rejected += 1
            case .problem(let problem):
                failures += 1
                Issue.record("seed \(Fuzz.seed) case \(n): \(problem)\n--- text ---\n\(text)")
                if let dir = ProcessInfo.processInfo.environment["FUZZ_DUMP"] {
                    try? text.write(toFile: "\(dir)/fuzz-\(Fuzz.seed)-\(n).yaml", atomically: true, encoding: .utf8)
                }
            }
            if failures >= 5 { break }
            let elapsed = Date().timeIntervalSince(caseStart)
            #expect(elapsed < 2, "seed \(Fuzz.seed) case \(n) took \(elapsed)s to load\n\(text)")
        }
        // The mutations must actually exercise the error paths, not only produce valid files.
        #expect(rejected > Fuzz.mutations / 4, "only \(rejected) of \(Fuzz.mutations) mutations were rejected")
        print("fuzz: \(Fuzz.mutations) mutations, \(rejected) rejected, \(String(format: "%.1f", Date().timeIntervalSince(start)))s")
    }

    @Test("fixed nasty inputs load or fail with located diagnostics", arguments: [
        "", "\n\n", "---", "--- \n...\n", "version: 1\nnodes:\n  - {", "\u{0}", "\t", "[", "{", "version: 1\nnodes: *x",
        "version: 1\nnodes:\n  - id: a\n    type: util.identity\n    inputs: { in: a }",
        "version: 1\nnodes:\n  - &n { id: a, type: gen.sequence, with: { count: 1 } }\n  - *n",
        "version: 1\n" + String(repeating: "  ", count: 50) + "nodes: []",
        "version: 1\nnodes: [" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "]",
        "version: 1\nnodes:\n  - id: a\n    type: gen.sequence\n    with: { count: ${ }",
        "version: 1\nparams: { a: \"${a}\" }\nnodes:\n  - { id: s, type: source.files, with: { paths: \"${a}${a}\" } }",
        "\u{FEFF}version: 1\nnodes: []",
        "version: !!binary aGVsbG8=\nnodes: []",
        "version: 1\n? [complex, key]\n: value\nnodes: []",
    ])
    func nasty(_ text: String) {
        let outcome = Fuzz.check(text)
        #expect(outcome == .loaded || outcome == .rejected)
    }
}
