/// The arithmetic of an encoder's linear layers.
public enum LinearPrecision: String, Sendable, CaseIterable {
    /// float32 throughout (OpenBLAS sgemm).
    case float32
    /// Inputs and weights rounded to bfloat16, products summed in float32 (`BF16Weight`), where
    /// the CPU has AVX512_BF16 and the AVX-512 path runs; float32 elsewhere. About twice the
    /// rate of sgemm on Zen 4; on all-MiniLM-L6-v2 the embeddings stay within cosine 0.9999 of
    /// sentence-transformers' float32 ones (Tests/PipelineModelsTests/MiniLMParityTests.swift).
    case bfloat16
}
