import CKernels
import PipelineTensor

/// A decoder's KV cache as llama.cpp keeps it without flash attention: per layer, f16 keys
/// one row per position, and f16 values transposed (one row per value dimension, `capacity`
/// long, zero past the end) so attention reads them as llama.cpp's V·softmax product does.
final class KVCache {
    let layers: Int
    /// Floats per position (KV heads × head size).
    let width: Int
    let headSize: Int
    private(set) var capacity = 0
    private(set) var keys: [[UInt16]]
    private(set) var values: [[UInt16]]
    /// Scores, probabilities and the f16 query for one head, per worker-pool thread.
    private var scratch: [Float] = []
    private let workers = WorkerPool.threads

    init(layers: Int, width: Int, headSize: Int, capacity: Int = 256) {
        self.layers = layers
        self.width = width
        self.headSize = headSize
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
        grow(to: capacity, keeping: 0)
    }

    /// Re-lays the cache for at least `positions` positions, keeping the first `kept`.
    func grow(to positions: Int, keeping kept: Int) {
        guard positions > capacity else { return }
        // A multiple of 32: attention reads value rows in whole 32-position blocks.
        let newCapacity = (max(positions, capacity * 2) + 31) / 32 * 32
        for l in 0..<layers {
            keys[l] += [UInt16](repeating: 0, count: (newCapacity - capacity) * width)
            var t = [UInt16](repeating: 0, count: newCapacity * width)
            for row in 0..<width {
                for p in 0..<kept { t[row * newCapacity + p] = values[l][row * capacity + p] }
            }
            values[l] = t
        }
        capacity = newCapacity
        scratch = .init(repeating: 0, count: workers * (2 * newCapacity + headSize))
    }

    /// The first `positions` positions of every layer, copied out (keys as stored; values
    /// one row per value dimension, `positions` long).
    func snapshot(positions n: Int) -> KVSnapshot {
        precondition(n <= capacity, "KV snapshot of \(n) positions past the capacity \(capacity)")
        var snapKeys: [[UInt16]] = [], snapValues: [[UInt16]] = []
        snapKeys.reserveCapacity(layers)
        snapValues.reserveCapacity(layers)
        for l in 0..<layers {
            snapKeys.append(Array(keys[l][0..<(n * width)]))
            var t = [UInt16](repeating: 0, count: n * width)
            values[l].withUnsafeBufferPointer { src in
                t.withUnsafeMutableBufferPointer { dst in
                    for row in 0..<width {
                        (dst.baseAddress! + row * n).update(from: src.baseAddress! + row * capacity, count: n)
                    }
                }
            }
            snapValues.append(t)
        }
        return KVSnapshot(positions: n, width: width, keys: snapKeys, values: snapValues)
    }

    /// Puts a snapshot's positions back at 0..<snapshot.positions, growing the cache as needed.
    /// Value rows past them are zeroed, as in a fresh cache, so a restored cache reads exactly
    /// as one that evaluated the prefix itself (attention sums whole 32-position blocks).
    func restore(_ s: KVSnapshot) {
        precondition(s.width == width && s.keys.count == layers, "KV snapshot of another model's shape")
        let n = s.positions
        grow(to: n, keeping: 0)
        for l in 0..<layers {
            keys[l].withUnsafeMutableBufferPointer { dst in
                s.keys[l].withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: n * width) }
            }
            values[l].withUnsafeMutableBufferPointer { dst in
                s.values[l].withUnsafeBufferPointer { src in
                    for row in 0..<width {
                        let at = dst.baseAddress! + row * capacity
                        at.update(from: src.baseAddress! + row * n, count: n)
                        (at + n).update(repeating: 0, count: capacity - n)
                    }
                }
            }
        }
    }

    /// Stores one position's keys and values (f32, rounded to f16 as llama.cpp's cache copy does).
    func store(layer: Int, position: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        precondition(position < capacity, "KV cache position \(position) past its capacity \(capacity)")
        keys[layer].withUnsafeMutableBufferPointer {
            pl_f32_to_f16(k, $0.baseAddress! + position * width, Int32(width), 1)
        }
        values[layer].withUnsafeMutableBufferPointer {
            pl_f32_to_f16(v, $0.baseAddress! + position, Int32(width), Int32(capacity))
        }
    }

    /// Attention of `count` consecutive positions from `first` (queries and outputs one row of
    /// heads × head size each; the cache already holds them), each over the cached positions up
    /// to its own and, with a `window`, after p - window. The (position, head) pairs are spread
    /// over the worker pool, each worker with its own scratch; every pair is computed exactly
    /// as one at a time would be.
    func attend(layer: Int, queries q: UnsafePointer<Float>, heads: Int, count: Int, from first: Int, window: Int,
                scale: Float, threads: Int, into out: UnsafeMutablePointer<Float>) {
        let d = headSize, kvHeads = width / headSize, group = heads / kvHeads
        let capacity = self.capacity, width = self.width
        // A prompt chunk runs each (position, KV head) with its query heads together, keys and
        // values read once for the group; one position (a generation step) keeps one task per
        // (position, head) pair so its few pairs still spread over the threads. Either way every
        // head's output is the same bits (pl_attention_group).
        let grouped = group > 1 && count >= threads
        let unit = grouped ? group : 1
        let pairs = count * heads / unit
        let tasks = max(1, min(threads, workers, pairs))
        let needed = unit * (2 * ((capacity + 63) / 64 * 64) + d)
        if scratch.count < workers * needed { scratch = .init(repeating: 0, count: workers * needed) }
        let perTask = scratch.count / workers
        keys[layer].withUnsafeBufferPointer { keys in
            values[layer].withUnsafeBufferPointer { values in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    let keys = keys.baseAddress!, values = values.baseAddress!, scratch = scratch.baseAddress!
                    WorkerPool.run(tasks: tasks) { task in
                        // Interleaved, so later (longer) positions are shared out evenly.
                        for pair in stride(from: task, to: pairs, by: tasks) {
                            let t = pair / (heads / unit), head = pair % (heads / unit) * unit, kvHead = head / group
                            let position = first + t
                            let start = window > 0 ? max(0, position - window + 1) : 0
                            pl_attention_group(
                                q + t * heads * d + head * d, Int32(unit), keys + kvHead * d, Int32(width),
                                values + kvHead * d * capacity, Int32(capacity), Int32(start), Int32(position + 1),
                                Int32(d), scale, out + t * heads * d + head * d, scratch + task * perTask)
                        }
                    }
                }
            }
        }
    }
}
