import ResNetCore
import Yams

/// A type a config key holds, read from a YAML node or a flag's text: a YAML scalar is read by
/// the key's type whatever its quoting ('9' is 9 for a key of numbers), integral numbers such as
/// 7.0 count as whole numbers, and a list may be given as one value or as "2,3,5".
protocol ConfigValue: Equatable {
    /// The value a scalar's text spells, or nil.
    init?(configText text: String)
    /// The value a node holds, or nil (the default reads a scalar's text; a YAML null is no value).
    init?(configNode node: Node)
    /// What a key of this type takes, for an error message.
    static var expectation: ConfigExpectation { get }
}

/// What a key takes: a type ("an integer") or one of a set of names ("adam or sgd").
enum ConfigExpectation {
    case type(String)
    case choices(String)
}

extension ConfigValue {
    init?(configNode node: Node) {
        guard let scalar = node.scalar, !(scalar.style == .plain && node.tag.description == Tag.Name.null.rawValue) else { return nil }
        self.init(configText: scalar.string)
    }

    /// The value of `node` for `key`, or an error naming the key, the source and what it takes.
    static func read(_ node: Node, key: ExperimentConfig.CodingKeys, source: String) throws -> Self {
        if let value = Self(configNode: node) { return value }
        switch expectation {
        case .type(let expected):
            throw ConfigError.wrongType(key: key.rawValue, file: source, expected: expected)
        case .choices(let choices):
            let given = node.scalar?.string ?? node.sequence.map { $0.compactMap(\.scalar?.string).joined(separator: ",") } ?? "?"
            throw ConfigError.invalid(key: key.rawValue, problem: "'\(given)' is not \(choices) (\(source))")
        }
    }
}

extension Int: ConfigValue {
    init?(configText text: String) {
        if let v = Int(text) { self = v; return }
        guard let d = Double(text), d.rounded() == d, abs(d) < 1e15 else { return nil }
        self = Int(d)
    }
    static var expectation: ConfigExpectation { .type("an integer") }
}

extension Double: ConfigValue {
    init?(configText text: String) {
        let lowered = text.lowercased()
        switch lowered {
        case ".inf", "+.inf": self = .infinity
        case "-.inf": self = -.infinity
        case ".nan": self = .nan
        default:
            guard let v = Double(text), !lowered.contains("inf"), !lowered.contains("nan") else { return nil }
            self = v
        }
    }
    static var expectation: ConfigExpectation { .type("a number") }
}

extension Bool: ConfigValue {
    init?(configText text: String) {
        switch text.lowercased() {
        case "true", "yes", "on": self = true
        case "false", "no", "off": self = false
        default: return nil
        }
    }
    static var expectation: ConfigExpectation { .type("true or false") }
}

extension String: ConfigValue {
    init?(configText text: String) { self = text }
    static var expectation: ConfigExpectation { .type("a string") }
}

extension ConfigValue where Self: ConfigChoice {
    init?(configText text: String) { self.init(rawValue: text) }
    static var expectation: ConfigExpectation { .choices(spelledChoices) }
}

extension Dataset: ConfigValue {}
extension ModelSpec.Kind: ConfigValue {}
extension Activation: ConfigValue {}
extension Prolongation: ConfigValue {}
extension SwitchRule: ConfigValue {}
extension OptimizerStateOnSwitch: ConfigValue {}
extension OptimizerKind: ConfigValue {}
extension ScheduleKind: ConfigValue {}
extension HalfPrecision.Storage: ConfigValue {}
extension ModelSpec.Head: ConfigValue {}
extension ModelSpec.Initialization: ConfigValue {}
extension InputScaling: ConfigValue {}
extension Preset: ConfigValue {}
extension StepRule: ConfigValue {}

extension Integrator: ConfigValue {
    init?(configText text: String) { self.init(name: text) }
    static var expectation: ConfigExpectation { .choices(spelledChoices + " (rk2 = midpoint)") }
}

extension Array: ConfigValue where Element: ConfigValue {
    init?(configText text: String) {
        var items: [Element] = []
        for part in text.split(separator: ",") {
            guard let item = Element(configText: part.trimmingCharacters(in: .whitespaces)) else { return nil }
            items.append(item)
        }
        self = items
    }

    init?(configNode node: Node) {
        if let scalar = node.scalar { self.init(configText: scalar.string); return }
        guard let sequence = node.sequence else { return nil }
        var items: [Element] = []
        for item in sequence {
            guard let value = Element(configNode: item) else { return nil }
            items.append(value)
        }
        self = items
    }

    static var expectation: ConfigExpectation {
        switch Element.expectation {
        case .choices(let names): return .choices(names)
        case .type: return .type(Element.self == Int.self ? "a list of integers such as 2,3,5" : "a list")
        }
    }
}
