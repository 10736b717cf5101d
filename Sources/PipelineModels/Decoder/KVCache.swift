import CKernels

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
    /// Scores, probabilities and the f16 query for one head.
    private var scratch: [Float] = []

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
        scratch = .init(repeating: 0, count: 2 * ((newCapacity + 31) / 32 * 32) + headSize)
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

    /// Attention of `heads` query heads (grouped over the KV heads) at `position` over the
    /// cached positions `first...position`, into `out` (heads × head size).
    func attend(layer: Int, queries q: UnsafePointer<Float>, heads: Int, position: Int, first: Int, scale: Float,
                into out: UnsafeMutablePointer<Float>) {
        let d = headSize, kvHeads = width / headSize, group = heads / kvHeads
        let capacity = self.capacity, width = self.width
        keys[layer].withUnsafeBufferPointer { keys in
            values[layer].withUnsafeBufferPointer { values in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    for head in 0..<heads {
                        let kvHead = head / group
                        pl_attention_head_window(
                            q + head * d, keys.baseAddress! + kvHead * d, Int32(width),
                            values.baseAddress! + kvHead * d * capacity, Int32(capacity), Int32(first), Int32(position + 1),
                            Int32(d), scale, out + head * d, scratch.baseAddress!)
                    }
                }
            }
        }
    }
}
