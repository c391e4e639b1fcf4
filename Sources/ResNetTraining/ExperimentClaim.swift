/// What an experiment sets out to show — one variant against another — and the thesis's figures
/// for its variants. The reports judge every experiment through this one description.
public struct ExperimentClaim: Sendable {
    /// How the candidate must compare with the base.
    public enum Test: Sendable {
        /// The base's test metric within tolerance, in less training-step time: at least
        /// `minimumSaving` (a fraction) less for every seed.
        case fasterAtEqualMetric(minimumSaving: Double)
        /// The base's test metric within tolerance; time is not part of the claim.
        case equalMetric
        /// An error norm at most `fraction` of the base's (the base need not have learned).
        case errorFraction(Double)
        /// A lower error norm than the base's (the base need not have learned).
        case lowerError
    }

    /// The claim in words, as the verdict line gives it.
    public let text: String
    public let candidate: String
    public let base: String
    public let test: Test
    /// How far under the base's accuracy still counts as reaching it (nil: the reports' default).
    public var accuracyTolerance: Double? = nil

    /// Whether the base's network must have learned for the verdict to mean anything (not when
    /// the claim is that the base does worse).
    public var baseMustLearn: Bool {
        switch test {
        case .fasterAtEqualMetric, .equalMetric: return true
        case .errorFraction, .lowerError: return false
        }
    }

    /// The multi-level claim of the thesis's §5 experiments.
    static let multilevelSavesTime = ExperimentClaim(
        text: "multi-level reaches the deep network's test metric in less training time than the deep network",
        candidate: "multilevel", base: "deep", test: .fasterAtEqualMetric(minimumSaving: 0))
}

/// A figure the thesis reports for a variant: the test metric (accuracy in %, or the test error
/// norm) and the training time in seconds, nil where it gives none.
public struct ThesisFigure: Sendable, Equatable {
    public let metric: Double?
    public let seconds: Double?

    public init(metric: Double?, seconds: Double?) {
        self.metric = metric
        self.seconds = seconds
    }
}
