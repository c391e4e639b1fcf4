extension ExperimentConfig {
    /// A config's Codable form (JSON with kebab-case keys, as `compare` and the ranks exchange
    /// it), read the way `decode(_:source:)` reads `config.yaml`: keys added later may be absent.
    public init(from decoder: Decoder) throws {
        try self.init(complete: ConfigOverrides(from: decoder), source: "the config")
    }
}
