/// Chooses which frames of a cine become samples (see `FrameSpec`).
public enum FrameSampler {
    /// Frame indices of each sample, in order; empty when the cine is too short.
    public static func samples(frameCount: Int, spec: FrameSpec) -> [[Int]] {
        guard frameCount > 0 else { return [] }
        switch spec.mode {
        case .all:
            return (0..<frameCount).map { [$0] }
        case .even:
            // Centres of n equal parts: one frame picks the middle, n = F picks every frame.
            let n = min(spec.count, frameCount)
            return (0..<n).map { k in [min(frameCount - 1, (2 * k + 1) * frameCount / (2 * n))] }
        case .clips:
            let span = (spec.framesPerSample - 1) * spec.stride + 1
            guard frameCount >= span else { return [] }
            var starts = Array(Swift.stride(from: 0, through: frameCount - span, by: span))
            if spec.maxClips > 0 && starts.count > spec.maxClips {
                let n = spec.maxClips
                starts = (0..<n).map { k in starts[(2 * k + 1) * starts.count / (2 * n)] }
            }
            return starts.map { start in (0..<spec.framesPerSample).map { start + $0 * spec.stride } }
        }
    }
}
