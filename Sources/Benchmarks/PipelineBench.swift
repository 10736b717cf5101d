// pipeline-bench: the benchmark drivers the scripts/bench-* scripts run, one subcommand each.
//
//   pipeline-bench media video|audio FILE [options]        scripts/bench-media
//   pipeline-bench text MODEL-FOLDER SENTENCES [options]   scripts/bench-text
//   pipeline-bench vision MODEL IMAGES [options]           scripts/bench-vision
//   pipeline-bench speech MODEL-FOLDER SAMPLES [options]   scripts/bench-speech
//   pipeline-bench vad MODEL-FOLDER SAMPLES [options]      scripts/bench-vad
//   pipeline-bench grammar masks|generate|gbnf|samples ... scripts/bench-grammar
//   pipeline-bench prompt MODEL [options]                  scripts/bench-prompt
//
// Each prints the lines its script parses on stdout. Options are checked: a misspelt or
// unknown option, a missing argument or a value that is not a number is an error (exit 64)
// with the usage, not a silent default. The scheduler's own benchmark is `pipeline bench`.
import ArgumentParser

@main
struct PipelineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-bench",
        abstract: "Benchmark drivers for scripts/bench-*: media, text, vision, speech, vad, grammar, prompt.",
        subcommands: [
            MediaBench.self, TextBench.self, VisionBench.self, SpeechBench.self, VADBench.self, GrammarBench.self,
            PromptBench.self,
        ])
}
