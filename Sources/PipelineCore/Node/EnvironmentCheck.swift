/// A node type that needs something outside the pipeline file (a program, a data folder)
/// and says so at validation, before anything runs, instead of failing every item later.
///
/// `PipelineLoader` calls `environmentProblem` once per node of the type whose options are
/// valid; a non-nil answer becomes a diagnostic at the node's `type:` line.
public protocol EnvironmentCheck: PipelineNode {
    /// What is missing, and how to get it; nil when the node can run here.
    static func environmentProblem(_ options: Options) -> (message: String, hint: String?)?
}
