/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A model's chat template (`tokenizer.chat_template` or one given by the user), rendered with
/// `messages`, `add_generation_prompt`, `bos_token` and `eos_token` as Hugging Face does.
public struct ChatTemplate: Sendable {
    public let source: String
    let template: JinjaTemplate
    let bosToken: String
    let eosToken: String

    public init(_ source: String, bosToken: String = "", eosToken: String = "") throws {
        self.source = source
        template = try JinjaTemplate(source)
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// The prompt text for `messages`, ending with the assistant's opening when
    /// `addGenerationPrompt` is set.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        try template.render([
            "messages": .array(messages.map { .dict(["role": .string($0.role), "content": .string($0.content)]) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ])
    }
}
