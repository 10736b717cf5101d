import Foundation
import Testing
@testable import PipelineMedia

/// Cover art is not video, but it is an image.
@Suite struct AttachedPictureTests {
    @Test func coverArtIsNotVideo() throws {
        let fx = try Fixtures.get()
        let path = fx.p("cover.mp3")
        let e = BadInputTests.expectError(.video, path)
        #expect(e == .noStream(path: path, kind: .video))
        let cover = try ImageDecoder.decode(path: path)
        #expect(cover.width == 320 && cover.height == 240)
        let audio = try AudioDecoder.decode(path: path, options: .init(sampleRate: 16000, channels: 1))
        #expect(audio.frameCount > 16000)
    }
}
