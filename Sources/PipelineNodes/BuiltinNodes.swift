import PipelineCore
import PipelineWatch

/// Every built-in node type, in one visible list. Add a node here to ship it.
public enum BuiltinNodes {
    public static let all: [any PipelineNode.Type] = [
        // Sources
        FilesSource.self,
        FolderSource.self,
        SequenceSource.self,
        WatchSource.self,
        QueueSource.self,  // placed by `pipeline worker`, listed so `describe` shows it
        // Sinks
        JSONLSink.self,
        FilesSink.self,
        ImageSink.self,
        AudioSink.self,
        // Text and JSON
        TextRead.self,
        TextSplit.self,
        TextTemplate.self,
        JSONMerge.self,
        JSONCollect.self,
        JSONGet.self,
        JSONRead.self,
        FileInfo.self,
        // Media
        ImageDecode.self,
        AudioDecode.self,
        VideoDecode.self,
        ImageResize.self,
        ImageNormalize.self,
        ImageTiles.self,
        // Encoders
        TextEncoder.self,
        TextSimilarity.self,
        ImageEncoder.self,
        FusionProjectorNode.self,
        FusionResamplerNode.self,
        ImageNetHead.self,
        ViTEncoder.self,
        AudioMel.self,
        VoiceActivity.self,
        WhisperEncoderNode.self,
        WhisperTranscribe.self,
        // Scenes
        SceneThreeJS.self,
        SceneRender.self,
        // Flow utilities
        Identity.self,
        Delay.self,
        FileRoute.self,
        // Models
        LLMGenerate.self,
        HeadPrompt.self,
        // Heads that keep learning
        PrototypeHead.self,
        // Several tasks on one backbone
        MultitaskHead.self,
    ]
}
