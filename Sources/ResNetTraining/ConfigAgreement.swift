import ResNetDistributed
import Yams

extension ExperimentConfig {
    /// Every key as (kebab-case key, value as text, numbers to the last bit), in the order of
    /// `config.yaml`; absent optional values read "default". The same keys on every rank,
    /// whatever the values.
    public var fields: [(key: String, value: String)] {
        let values = (try? encodedValues()) ?? [:]
        func text(_ node: Node) -> String {
            node.scalar?.string ?? "[" + (node.sequence ?? []).map(text).joined(separator: ", ") + "]"
        }
        return CodingKeys.allCases.map { key in (key.rawValue, values[key].map(text) ?? "default") }
    }
}

extension Communicator {
    /// Checks that every rank resolved the same config, key by key, so that a disagreement
    /// names the key and this rank's value rather than a hash of the whole config.
    public func verifyConfigAgreement(_ config: ExperimentConfig) throws {
        let fields = config.fields
        do {
            try verifyAgreement(fields.map { ("config key '\($0.key)'", stableHash(Array("\($0.key)=\($0.value)".utf8))) })
        } catch CommunicatorError.disagreement(let what, _) {
            let value = fields.first { "config key '\($0.key)'" == what }?.value ?? "?"
            let key = fields.first { "config key '\($0.key)'" == what }?.key ?? what
            throw TrainingError.output("the ranks were started with different configs: '\(key)' is \(value) on rank \(rank) and differs on another rank; start every rank with the same arguments and files")
        }
    }
}
