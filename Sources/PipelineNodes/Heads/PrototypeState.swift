/// What `head.prototypes` has learned: per class, the exact sum of its examples' features and
/// their count (nearest class mean), and optionally RanPAC's Gram matrix and projected class
/// sums. Built by adding examples one at a time; the same examples in any order give the same
/// sums bit for bit (`ExactSum`).
public struct PrototypeState: Sendable {
    /// How a nearest-class-mean head compares a query with a class mean.
    public enum Metric: String, Sendable {
        /// Cosine similarity with the class mean (the mean's direction is the sum's).
        case cosine
        /// Negative Euclidean distance to the class mean.
        case euclidean
        /// Negative Mahalanobis distance to the class mean under the classes' shared covariance
        /// (`PooledCovariance`).
        case mahalanobis
    }

    public struct ClassSum: Sendable, Equatable {
        public var sum: ExactSum
        public var count: Int
    }

    public private(set) var dimension: Int?
    public private(set) var classes: [String: ClassSum] = [:]
    public private(set) var examples = 0
    public private(set) var ridge: RidgeHead?
    public private(set) var covariance: PooledCovariance?
    /// Each class's sum as Doubles, made when first needed after a change.
    private var rounded: [String: [Double]] = [:]
    private let ridgeFactory: (@Sendable (Int) -> RidgeHead)?
    /// The shrinkage of the shared covariance, when the Mahalanobis metric needs one.
    private let covarianceShrink: Double?

    /// `ridge` makes RanPAC's head for a feature width (nil: nearest class mean only);
    /// `covarianceShrink` keeps the shared covariance the Mahalanobis metric needs.
    public init(ridge: (@Sendable (Int) -> RidgeHead)? = nil, covarianceShrink: Double? = nil) {
        ridgeFactory = ridge
        self.covarianceShrink = covarianceShrink
    }

    /// An empty state that makes its RanPAC and covariance parts like `other`'s.
    public init(rebuilding other: PrototypeState) {
        ridgeFactory = other.ridgeFactory
        covarianceShrink = other.covarianceShrink
    }

    /// Checks that `features` can be added or scored; the error names `item`.
    public func check(_ features: [Float], item: String) throws {
        if let dimension, features.count != dimension {
            throw PrototypeHeadError.dimensionMismatch(item: item, got: features.count, expected: dimension)
        }
        if features.isEmpty { throw PrototypeHeadError.notAFeature(item: item, got: "an empty list") }
        if let bad = ExactSum.accepts(features) {
            throw PrototypeHeadError.badComponent(item: item, index: bad, value: features[bad])
        }
    }

    /// Adds one example (already checked with `check`).
    public mutating func add(_ example: PrototypeExample) {
        let d = example.features.count
        if dimension == nil {
            dimension = d
            ridge = ridgeFactory?(d)
            covariance = covarianceShrink.map { PooledCovariance(dimension: d, shrink: $0) }
        }
        var entry = classes[example.label] ?? ClassSum(sum: ExactSum(dimension: d), count: 0)
        entry.sum.add(example.features)
        entry.count += 1
        classes[example.label] = entry
        rounded[example.label] = nil
        examples += 1
        ridge?.add(example.features, label: example.label)
        covariance?.add(example.features)
    }

    /// Nearest-class-mean scores for `x`, best first (ties by class name).
    public mutating func ncmScores(_ x: [Float], metric: Metric) -> [(label: String, score: Double)] {
        if metric == .mahalanobis {
            guard covariance != nil else { return [] }
            // By name: the scatter subtracts the classes in this order, so a rebuilt head scores alike.
            let sums = classes.sorted { $0.key < $1.key }.map { label, entry in
                let sum = rounded[label] ?? entry.sum.values
                rounded[label] = sum
                return (label: label, sum: sum, count: entry.count)
            }
            return Self.ranked(covariance!.scores(x, classes: sums))
        }
        let xd = x.map(Double.init)
        let xNorm = xd.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var out: [(String, Double)] = []
        for (label, entry) in classes {
            let sum = rounded[label] ?? entry.sum.values
            rounded[label] = sum
            switch metric {
            case .cosine:
                var dot = 0.0, norm = 0.0
                for i in 0..<sum.count {
                    dot += xd[i] * sum[i]
                    norm += sum[i] * sum[i]
                }
                let denominator = xNorm * norm.squareRoot()
                out.append((label, denominator > 0 ? dot / denominator : 0))
            case .euclidean:
                let n = Double(entry.count)
                var d2 = 0.0
                for i in 0..<sum.count {
                    let diff = xd[i] - sum[i] / n
                    d2 += diff * diff
                }
                out.append((label, -d2.squareRoot()))
            case .mahalanobis:
                break  // handled above
            }
        }
        return Self.ranked(out)
    }

    /// RanPAC scores for `x`, best first (empty when the head has no RanPAC part).
    public mutating func ridgeScores(_ x: [Float]) -> [(label: String, score: Double)] {
        guard ridge != nil else { return [] }
        return Self.ranked(ridge!.scores(x))
    }

    static func ranked(_ scores: [(String, Double)]) -> [(label: String, score: Double)] {
        scores.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map { (label: $0.0, score: $0.1) }
    }
}
