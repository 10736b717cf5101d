import Foundation
import PipelineCore
import Synchronization

/// A head that keeps learning on a frozen encoder's pooled features: nearest class mean, or
/// RanPAC (a fixed random projection, an incrementally updated Gram matrix, a ridge solve).
///
/// An item whose path lies in `<labelled>/<class>/…` (by default `inbox/<class>/…`) is a
/// labelled example: the head learns it and emits `{item, label, learned: true}`. Any other
/// item (directly in `inbox/`, or outside it) is a query and gets `{item, class, score, scores: [{class, score}], method, classes,
/// examples}` (`class` null while the head knows no class yet).
///
/// Every example is appended to the `state` file (see `PrototypeExample`); the head is that
/// file's examples added up, rebuilt when the node starts. Under `pipeline watch` an example's
/// record is staged on its item and appended by the watch ledger together with the item's
/// `done` row (the mechanism `sink.jsonl` uses: docs/hardening.md), so across restarts and
/// `kill -9` each example counts exactly once, and the head takes it in once the item is
/// committed. Under `pipeline run` records are appended as examples arrive (a torn last record
/// left by a crash is cut off on the next start). Runs as one copy.
final class PrototypeHead: PipelineNode, @unchecked Sendable {
    static let type = "head.prototypes"
    static let summary = "Learns classes from labelled examples (inbox/<class>/…) and predicts the rest: NCM or RanPAC."
    static let inputs = [
        PortSpec("feature", .any, doc: "a pooled feature: an embedding (encoder.image, encoder.whisper with pool: mean), a 1-D tensor or a JSON number list")
    ]
    static let outputs = [PortSpec("record", .json, doc: "{item, label, learned} for an example; {item, class, score, scores, …} for a query")]
    static let options = [
        OptionSpec("state", .string, required: true,
            doc: "the head's state file (the examples it learned); under watch put it next to the ledger, e.g. INBOX/.pipeline/head.state"),
        OptionSpec("method", .choice(["ncm", "ranpac"]), default: "ncm",
            doc: "ncm: nearest class mean; ranpac: random projection + ReLU, ridge regression on the Gram matrix"),
        OptionSpec("metric", .choice(["mahalanobis", "cosine", "euclidean"]), default: "mahalanobis",
            doc: "ncm: negative Mahalanobis distance to the class mean under the classes' shared covariance (shrunk by `shrink`), cosine similarity with the class mean, or negative Euclidean distance to it"),
        OptionSpec("shrink", .double, default: 0.1, range: 1e-9...1e6,
            doc: "ncm, mahalanobis: the shared covariance S is used as S + λI, λ = shrink · trace(S)/d (its d² Doubles are kept: 13 MB at d = 1280)"),
        OptionSpec("labelled", .string, default: "inbox",
            doc: "the folder name whose subfolders are classes: <labelled>/<class>/file is an example of <class>"),
        OptionSpec("classes", .strings, default: [],
            doc: "the allowed class names (empty: any folder name that is a class name starts a new class)"),
        OptionSpec("projection", .int, default: 2048, range: 8...4096,
            doc: "ranpac: width M of the random projection (the Gram matrix and its factor take 16·M² bytes: 64 MB at 2048)"),
        OptionSpec("seed", .int, default: 0, range: 0...1e15, doc: "ranpac: seed of the random projection"),
        OptionSpec("ridge", .double, default: 0.01, range: 1e-12...1e6,
            doc: "ranpac: λ = ridge · trace(G)/M, a fraction of the Gram matrix's mean diagonal"),
        OptionSpec("top", .int, default: 5, range: 1...1000, doc: "how many classes a query's `scores` lists"),
    ]
    static let example = """
        - id: head
          type: head.prototypes
          inputs: { feature: embed.embedding }
          with: { state: inbox/.pipeline/head.state, method: ncm }
        """

    /// What the head holds, behind a lock (queries and commits come from different threads).
    private struct Shared {
        var state: PrototypeState
        /// How far into the state file the head has read (committed records).
        var appliedLength = 0
        var loaded = false
        /// Whether examples are staged for the watch ledger (known at the first packet).
        var committed = false
        var handle: FileHandle?
    }

    private let statePath: String
    private let method: String
    private let metric: PrototypeState.Metric
    private let labelled: String
    private let allowed: Set<String>
    private let top: Int
    private let context: NodeContext
    private let shared: Mutex<Shared>

    init(options: Options, context: NodeContext) throws {
        guard context.copy == 0 else { throw NodeError("head.prototypes keeps one state and runs as one copy") }
        self.context = context
        statePath = options.string("state")!
        method = options.string("method")!
        metric = PrototypeState.Metric(rawValue: options.string("metric")!) ?? .cosine
        labelled = options.string("labelled")!
        allowed = Set(options.strings("classes") ?? [])
        top = options.int("top")!
        var ridgeFactory: (@Sendable (Int) -> RidgeHead)?
        if method == "ranpac" {
            let width = options.int("projection")!, seed = UInt64(options.int("seed")!), ridge = options.double("ridge")!
            ridgeFactory = { d in RidgeHead(projection: RandomProjection(inputs: d, outputs: width, seed: seed), ridge: ridge) }
        }
        let shrink = method == "ncm" && metric == .mahalanobis ? options.double("shrink")! : nil
        shared = Mutex(Shared(state: PrototypeState(ridge: ridgeFactory, covarianceShrink: shrink)))
        // Under watch, a committed item's record is in the state file: take it in.
        context.observeItems { [weak self] outcome in
            guard !outcome.failed else { return }
            self?.catchUp()
        }
    }

    /// The class of an item from its path, nil for a query.
    static func label(of item: String, labelled: String, allowed: Set<String>) throws -> String? {
        let parts = item.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // <labelled>/<class>/…/file; a file directly in <labelled>/ is a query.
        guard let at = parts.dropLast(2).lastIndex(of: labelled) else { return nil }
        let name = parts[at + 1]
        if let reason = classNameProblem(name) { throw PrototypeHeadError.notAClassName(item: item, name: name, reason: reason) }
        if !allowed.isEmpty, !allowed.contains(name) {
            throw PrototypeHeadError.notAClassName(
                item: item, name: name, reason: "not one of the classes " + allowed.sorted().joined(separator: ", "))
        }
        return name
    }

    /// Why `name` cannot name a class: 1–64 letters, digits, `-`, `_`, `.`, `+` or spaces,
    /// starting with a letter or digit.
    static func classNameProblem(_ name: String) -> String? {
        guard (1...64).contains(name.count) else { return "a class name has 1 to 64 characters" }
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            return "a class name starts with a letter or digit"
        }
        let ok = name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.+ ".unicodeScalars.contains($0) }
        return ok ? nil : "a class name holds only letters, digits, '-', '_', '.', '+' and spaces"
    }

    /// The feature vector a value carries.
    static func features(_ value: Value, item: String) throws -> [Float] {
        switch value {
        case .payload(let p):
            if let e = p as? Embedding { return e.vector }
            if let t = p as? TensorPayload, t.shape.filter({ $0 != 1 }).count <= 1 { return t.data }
        case .array(let a):
            var out: [Float] = []
            out.reserveCapacity(a.count)
            for v in a {
                guard let d = v.doubleValue else { break }
                out.append(Float(d))
            }
            if out.count == a.count { return out }
        default: break
        }
        throw PrototypeHeadError.notAFeature(item: item, got: value.kindName)
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let item = input.item?.id ?? "item"
        let features = try Self.features(input.value, item: item)
        let label = try Self.label(of: item, labelled: labelled, allowed: allowed)
        let committedRun = context.itemsAreCommitted()
        try shared.withLock { s in
            if !s.loaded { try load(&s, committed: committedRun) }
            try s.state.check(features, item: item)
        }
        if let label {
            let example = PrototypeExample(item: item, label: label, features: features)
            let count: Int? = try shared.withLock { s in
                if s.committed {
                    // Appended by the watch ledger with the item's done row; learned on commit.
                    output.stageAppend(example.encoded, to: statePath)
                    return nil
                }
                try append(example, &s)
                s.state.add(example)
                return s.state.classes[label]?.count
            }
            var record: [String: Value] = ["item": .string(item), "label": .string(label), "learned": true]
            if let count { record["examples"] = .int(count) }
            try output.emit(.object(record))
            return
        }
        let (ranked, classes, examples) = shared.withLock { s in
            let ranked = method == "ranpac" ? s.state.ridgeScores(features) : s.state.ncmScores(features, metric: metric)
            return (ranked, s.state.classes.count, s.state.examples)
        }
        var record: [String: Value] = [
            "item": .string(item), "method": .string(method == "ncm" ? "ncm-\(metric.rawValue)" : method),
            "classes": .int(classes), "examples": .int(examples),
            "scores": .array(ranked.prefix(top).map { .object(["class": .string($0.label), "score": .double($0.score)]) }),
        ]
        record["class"] = ranked.first.map { .string($0.label) } ?? .null
        record["score"] = ranked.first.map { .double($0.score) } ?? .null
        try output.emit(.object(record))
    }

    /// Reads the state file (its committed records), at the first packet: by then a watch
    /// source has cut bytes a crashed run appended for items it did not finish.
    private func load(_ s: inout Shared, committed: Bool) throws {
        s.loaded = true
        s.committed = committed
        let bytes = try Self.read(statePath)
        let decoded = try PrototypeExample.decode(bytes, path: statePath)
        for example in decoded.examples {
            try s.state.check(example.features, item: example.item)
            s.state.add(example)
        }
        s.appliedLength = decoded.validLength
        if !committed {
            let dir = (statePath as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            if !FileManager.default.fileExists(atPath: statePath) { _ = FileManager.default.createFile(atPath: statePath, contents: nil) }
            guard let handle = FileHandle(forUpdatingAtPath: statePath) else {
                throw PrototypeHeadError.stateIO(path: statePath, reason: "cannot open for writing")
            }
            if decoded.validLength < bytes.count {
                context.warn("\(statePath): cut \(bytes.count - decoded.validLength) bytes of an example a crash left half-written")
                try handle.truncate(atOffset: UInt64(decoded.validLength))
            }
            try handle.seek(toOffset: UInt64(decoded.validLength))
            s.handle = handle
        }
    }

    private func append(_ example: PrototypeExample, _ s: inout Shared) throws {
        let bytes = example.encoded
        do {
            try s.handle?.write(contentsOf: Data(bytes))
        } catch {
            throw PrototypeHeadError.stateIO(path: statePath, reason: "cannot append: \(error)")
        }
        s.appliedLength += bytes.count
    }

    /// Takes in the records the watch ledger committed since the last look.
    private func catchUp() {
        shared.withLock { s in
            guard s.loaded, s.committed else { return }
            do {
                // Only the bytes past what the head has read (the file only grows under watch).
                let size = (try? FileManager.default.attributesOfItem(atPath: statePath)[.size] as? Int) ?? 0
                if size < s.appliedLength {
                    context.warn("\(statePath) is shorter than what the head read; rebuilding it from the file")
                    s.state = PrototypeState(rebuilding: s.state)
                    s.appliedLength = 0
                }
                guard size > s.appliedLength else { return }
                guard let handle = FileHandle(forReadingAtPath: statePath) else {
                    throw PrototypeHeadError.stateIO(path: statePath, reason: "cannot read the head's state")
                }
                defer { try? handle.close() }
                try handle.seek(toOffset: UInt64(s.appliedLength))
                let bytes = [UInt8](try handle.readToEnd() ?? Data())
                let decoded = try PrototypeExample.decode(bytes, path: statePath, base: s.appliedLength)
                for example in decoded.examples {
                    try s.state.check(example.features, item: example.item)
                    s.state.add(example)
                }
                s.appliedLength += decoded.validLength
            } catch {
                context.warn("head.prototypes: \(error)")
            }
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PrototypeHeadError.stateIO(path: path, reason: "cannot read the head's state")
        }
        return [UInt8](data)
    }

    func finish(_ output: NodeOutput) throws {
        try shared.withLock { s in
            try s.handle?.synchronize()
            try s.handle?.close()
            s.handle = nil
        }
    }
}
